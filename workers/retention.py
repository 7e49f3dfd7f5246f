"""The ``retention`` task queue: ``RetentionWorkflow`` and its store activities.

Its own queue so a long purge never takes slots from customer turns; one slot of each kind is
plenty for an hourly run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.interaction import InteractionDeps
from activities.retention import RetentionActivities
from models.retention import RETENTION_TASK_QUEUE
from runtime.audit_keys import load_signing_key
from runtime.settings import Settings
from workflows.retention import RetentionWorkflow

WORKFLOWS: list[type] = [RetentionWorkflow]
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def retention_worker(
    client: Client,
    activities: RetentionActivities,
    *,
    task_queue: str = RETENTION_TASK_QUEUE,
    max_cached_workflows: int | None = None,
) -> Worker:
    options: dict[str, Any] = {}
    if max_cached_workflows is not None:
        options["max_cached_workflows"] = max_cached_workflows
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities.all(),
        max_concurrent_activities=4,
        max_concurrent_workflow_tasks=4,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        **options,
    )


def build_worker(client: Client, deps: InteractionDeps, settings: Settings) -> Worker:
    """Entry point for ``workers.registry``: the retention worker of this process."""
    return retention_worker(client, RetentionActivities(deps.store, load_signing_key(settings)))
