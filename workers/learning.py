"""The ``learning`` task queue: routing calibration from outcomes (and its activity).

Its own queue so a calibration run reading a month of facts never takes slots from customer
turns or rollouts; runs are rare (a Schedule, default daily) and one slot of each kind would
do. The Schedule is created by the deploy step (``runtime.schedules.ensure_schedules``).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.interaction import InteractionDeps
from activities.learning import LearningActivities
from models.calibration import CALIBRATION_TASK_QUEUE
from runtime.settings import Settings
from store.repository import Store
from workers.versioning import LONG_RUNNING, worker_options
from workflows.boundary import BoundaryInterceptor
from workflows.calibration import RoutingCalibrationWorkflow

WORKFLOWS: list[type] = [RoutingCalibrationWorkflow]
MAX_CONCURRENT = 2


def learning_worker(
    client: Client,
    store: Store,
    settings: Settings,
    *,
    task_queue: str = CALIBRATION_TASK_QUEUE,
    max_cached_workflows: int | None = None,
) -> Worker:
    """The worker; tests pass ``max_cached_workflows=0`` so every task replays its history."""
    options: dict[str, Any] = worker_options(settings, LONG_RUNNING)
    if max_cached_workflows is not None:
        options["max_cached_workflows"] = max_cached_workflows
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=LearningActivities(store).all(),
        max_concurrent_activities=MAX_CONCURRENT,
        max_concurrent_workflow_tasks=MAX_CONCURRENT,
        interceptors=[BoundaryInterceptor()],
        **options,
    )


def build_worker(client: Client, deps: InteractionDeps, settings: Settings) -> Worker:
    """Entry point for ``workers.registry``: the learning worker of this process."""
    return learning_worker(client, deps.store, settings)
