"""Every worker a Warmline process runs: interactions plus one per capability task queue.

Capabilities with long-running workflows (fleet rollouts, supervision phases, endpoint health)
each own a module with ``build_worker(client, deps, settings) -> Worker`` on their own task
queue, so a slow rollout analysis never competes with customer turns for worker slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from temporalio.client import Client
from temporalio.worker import Worker

from activities.interaction import InteractionDeps
from runtime.settings import Settings
from workers import fleet, health, learning, retention, supervision, wfm
from workers.interaction import interaction_worker

CAPABILITY_WORKERS = (
    fleet.build_worker,
    supervision.build_worker,
    health.build_worker,
    retention.build_worker,
    wfm.build_worker,
    learning.build_worker,
)


def build_workers(client: Client, deps: InteractionDeps, settings: Settings) -> list[Worker]:
    return [
        interaction_worker(client, deps, settings),
        *(build(client, deps, settings) for build in CAPABILITY_WORKERS),
    ]


@asynccontextmanager
async def running_workers(
    client: Client, deps: InteractionDeps, settings: Settings
) -> AsyncIterator[list[Worker]]:
    """Run all workers; on exit all stop polling at once, then drain together within their
    graceful-shutdown window (one after another, a queue would keep taking work while the
    others drain)."""
    async with AsyncExitStack() as stack:
        workers = build_workers(client, deps, settings)
        for worker in workers:
            await stack.enter_async_context(worker)
        try:
            yield workers
        finally:
            await asyncio.gather(*(worker.shutdown() for worker in workers))
