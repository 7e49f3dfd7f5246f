"""The ``supervision`` task queue: phase workflows and their store activities.

Its own queue so that a slow evidence query over months of facts never takes worker slots
from customer turns; ``workers.registry`` mounts it beside the interaction worker.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.supervision import HasStore, SupervisionActivities
from models.supervision_phase import (
    SUPERVISION_TASK_QUEUE,
)
from runtime.settings import Settings
from workflows.boundary import BoundaryInterceptor
from workflows.supervision_phase import SupervisionPhaseWorkflow

WORKFLOWS: list[type] = [SupervisionPhaseWorkflow]
GRACEFUL_SHUTDOWN = timedelta(seconds=10)
MAX_CONCURRENT_ACTIVITIES = 20
"""Store reads and writes only; a few per intent per day, so a small pool is plenty."""
MAX_CACHED_WORKFLOWS = 1000
"""The SDK's default: one phase workflow per intent (x channel) fits many times over."""


def build_worker(
    client: Client,
    deps: HasStore,
    settings: Settings,
    task_queue: str = SUPERVISION_TASK_QUEUE,
    max_cached_workflows: int = MAX_CACHED_WORKFLOWS,
) -> Worker:
    """``max_cached_workflows=0`` replays every task from history (how tests prove determinism)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=SupervisionActivities(deps.store).all(),
        max_concurrent_activities=min(
            MAX_CONCURRENT_ACTIVITIES, settings.worker_max_concurrent_activities
        ),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=[BoundaryInterceptor()],
        max_cached_workflows=max_cached_workflows,
    )
