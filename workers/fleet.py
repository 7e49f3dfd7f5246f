"""The ``fleet`` task queue: canary rollouts, A/B tests and rollbacks, and their activities.

A separate queue so a slow metrics poll or a rollout's bookkeeping never takes worker slots
from customer turns. The workflows are light (a poll a minute at most), so the worker's
concurrency is small; the store and config cache are the interaction worker's, so a registry
change this process makes is routed on at once.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.fleet import FleetActivities
from activities.interaction import InteractionDeps
from activities.shadow import ShadowActivities
from models.fleet import FLEET_TASK_QUEUE
from runtime.settings import Settings
from runtime.shadow_report import ShadowReporter
from workers.versioning import LONG_RUNNING, worker_options
from workflows.ab_test import ABTestWorkflow
from workflows.boundary import BoundaryInterceptor
from workflows.canary import CanaryRolloutWorkflow
from workflows.rollback import RollbackWorkflow

WORKFLOWS: list[type] = [CanaryRolloutWorkflow, ABTestWorkflow, RollbackWorkflow]
MAX_CONCURRENT_ACTIVITIES = 20
MAX_CONCURRENT_WORKFLOW_TASKS = 20


def fleet_worker(
    client: Client,
    deps: InteractionDeps,
    *,
    task_queue: str = FLEET_TASK_QUEUE,
    max_cached_workflows: int | None = None,
    settings: Settings | None = None,
) -> Worker:
    """The worker; tests pass ``max_cached_workflows=0`` so every task replays its history."""
    activities = FleetActivities(
        deps.store,
        deps.configs,
        wfm_webhook_url=settings.wfm_webhook_url if settings else None,
        wfm_event_source=settings.wfm_event_source if settings else "warmline",
    )
    options: dict[str, Any] = worker_options(settings or Settings(), LONG_RUNNING)
    if max_cached_workflows is not None:
        options["max_cached_workflows"] = max_cached_workflows
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*activities.all(), *ShadowActivities(ShadowReporter(deps.store)).all()],
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        max_concurrent_workflow_tasks=MAX_CONCURRENT_WORKFLOW_TASKS,
        interceptors=[BoundaryInterceptor()],
        **options,
    )


def build_worker(client: Client, deps: InteractionDeps, settings: Settings) -> Worker:
    """Entry point for ``workers.registry``: the fleet worker of this process."""
    return fleet_worker(client, deps, settings=settings)
