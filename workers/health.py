"""The ``fleet-health`` task queue, and the health sync that runs beside this process's workers.

``workers.registry`` picks this module up. Besides a worker for the health activities, it
makes the process's ``FleetHealth`` shared: a worker plugin runs ``HealthSync`` for exactly as
long as the worker runs, so the flush loop starts and stops with the process's workers (in
``warmline worker``, ``warmline dev`` and the test stack alike) and never outlives the store.
The sync gets the worker's Temporal client to start automatic rollbacks (``RollbackWorkflow``
on the ``fleet`` queue) when a breaker opens on a live version.
"""

from __future__ import annotations

from typing import Protocol

from temporalio.client import Client
from temporalio.worker import Worker

from activities.health import HealthActivities
from models.health import FLEET_HEALTH_TASK_QUEUE
from runtime.auto_rollback import AutoRollback
from runtime.config_cache import RoutingConfigCache
from runtime.fleet_health import FleetHealth
from runtime.health_sync import HealthSync, HealthSyncConfig, breaker_config_from_settings
from runtime.rollback_start import start_rollback
from runtime.settings import Settings
from store.health import HealthStore
from store.repository import Store
from workers.background import BackgroundTasks, Task
from workers.versioning import NO_WORKFLOWS, worker_options


class HasHealth(Protocol):
    store: Store
    health: FleetHealth
    configs: RoutingConfigCache


def sync_task(sync: HealthSync) -> Task:
    async def run(_: Worker) -> None:
        await sync.run()

    return run


def build_sync(deps: HasHealth, settings: Settings, client: Client | None = None) -> HealthSync:
    """The sync; with a ``client`` it also starts the rollbacks the routing config's
    ``auto_rollback`` policy calls for when a breaker opens."""
    store = HealthStore(deps.store)
    store.init_schema()
    deps.health.configure(breaker_config_from_settings(settings))
    auto_rollback = None
    if client is not None:
        actor = f"health-monitor:{deps.health.worker_id}"
        auto_rollback = AutoRollback(
            client, deps.store, start_rollback, actor=actor, clock=deps.health.clock
        )
    return HealthSync(
        deps.health,
        store,
        HealthSyncConfig.from_settings(settings),
        routing=deps.configs.get,
        metrics=getattr(deps, "metrics", None),
        auto_rollback=auto_rollback,
    )


def build_worker(
    client: Client,
    deps: HasHealth,
    settings: Settings,
    task_queue: str = FLEET_HEALTH_TASK_QUEUE,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        activities=HealthActivities(deps.health).all(),
        max_concurrent_activities=10,
        plugins=[
            BackgroundTasks(
                sync_task(build_sync(deps, settings, client)), task_name="warmline-health-sync"
            )
        ],
        **worker_options(settings, NO_WORKFLOWS),
    )
