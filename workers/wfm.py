"""The ``wfm`` task queue: the interval rollup workflow and its activity, plus the process's
WFM event pump (``runtime.wfm_events``) for as long as the worker runs.

``workers.registry`` picks this module up. The Temporal Schedule that starts the rollup is
created by the deploy step (``warmline setup``, ``runtime.schedules``). The event pump watches
the facts for containment drops and escalation spikes and delivers every WFM event, signed
(``runtime.wfm_events``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from temporalio.client import Client
from temporalio.worker import Worker

from activities.wfm import WfmActivities
from models.wfm import WFM_TASK_QUEUE
from runtime.interaction_census import run_census
from runtime.metrics import default_metrics
from runtime.settings import Settings
from runtime.wfm_events import PumpConfig, WfmEventPump
from store.intervals import IntervalStore
from store.repository import Store
from workers.background import BackgroundTasks
from workers.versioning import LONG_RUNNING, worker_options
from workflows.boundary import BoundaryInterceptor
from workflows.wfm_intervals import WfmIntervalRollupWorkflow

WORKFLOWS: list[type] = [WfmIntervalRollupWorkflow]
MAX_CONCURRENT_ACTIVITIES = 4
"""Rollups are skipped when one is running; a few slots leave room for a manual backfill."""

log = logging.getLogger("warmline.wfm")


class HasStore(Protocol):
    store: Store


def pump_task(
    store: Store, settings: Settings, worker_id: str
) -> Callable[[Worker], Coroutine[Any, Any, None]]:
    async def pump(_: Worker) -> None:
        await WfmEventPump(store, PumpConfig.from_settings(settings), worker_id).run()

    return pump


def census_task(every_seconds: float) -> Callable[[Worker], Coroutine[Any, Any, None]]:
    async def census(worker: Worker) -> None:
        await run_census(worker.client, default_metrics(), every_seconds)

    return census


def _worker_id(deps: HasStore) -> str:
    health = getattr(deps, "health", None)
    return str(getattr(health, "worker_id", None) or f"{socket.gethostname()}:{os.getpid()}")


def build_worker(
    client: Client,
    deps: HasStore,
    settings: Settings,
    task_queue: str = WFM_TASK_QUEUE,
    max_cached_workflows: int | None = None,
) -> Worker:
    intervals = IntervalStore(deps.store.engine)
    intervals.init_schema()
    options: dict[str, Any] = {}
    if max_cached_workflows is not None:
        options["max_cached_workflows"] = max_cached_workflows
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=WfmActivities(intervals).all(),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        interceptors=[BoundaryInterceptor()],
        plugins=[
            BackgroundTasks(
                pump_task(deps.store, settings, _worker_id(deps)),
                census_task(settings.wfm_census_seconds),
                task_name="warmline-wfm",
            )
        ],
        **options,
        **worker_options(settings, LONG_RUNNING),
    )
