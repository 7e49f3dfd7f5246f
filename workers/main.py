"""Process wiring for ``warmline worker``: connect, build dependencies, run, shut down cleanly.

Workers are stateless apart from per-process caches (classifier, config, endpoint health), so
production runs as many replicas as load needs. Cancellation (Ctrl-C, SIGTERM) drains the
worker within its graceful-shutdown window before clients close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from runtime.metrics import start_metrics_server
from runtime.schedules import ensure_retention_schedule
from runtime.settings import Settings
from runtime.temporal_client import connect, ensure_search_attributes
from store.repository import Store
from workers.interaction import interaction_deps
from workers.registry import build_workers, running_workers

log = logging.getLogger("warmline.worker")


async def run_worker(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    start_metrics_server(settings.metrics_port)
    client = await connect(settings)
    await ensure_search_attributes(client)
    await ensure_retention_schedule(client, timedelta(minutes=settings.retention_every_minutes))
    async with interaction_deps(settings) as deps:
        workers = build_workers(client, deps, settings)
        log.info(
            "polling %s on %s (metrics :%d)",
            ", ".join(w.task_queue for w in workers),
            settings.temporal_address,
            settings.metrics_port,
        )
        await asyncio.gather(*(w.run() for w in workers))
    return 0


@asynccontextmanager
async def worker_process(
    client: Client, settings: Settings, store: Store | None = None
) -> AsyncIterator[list[Worker]]:
    """Every worker of one process running on ``client``, for the embedded stack (``warmline
    dev``, the demo): the edges start workers through here, never through their internals."""
    async with (
        interaction_deps(settings, store=store) as deps,
        running_workers(client, deps, settings) as workers,
    ):
        yield workers
