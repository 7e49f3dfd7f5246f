"""Process wiring for ``warmline worker``: connect, check set-up, build dependencies, run, drain.

Workers are stateless apart from per-process caches (classifier, config, endpoint health), so
production runs as many replicas as load needs. Cancellation (Ctrl-C, SIGTERM) shuts every
worker down: polling stops at once, running activities get
``WARMLINE_WORKER_GRACEFUL_SHUTDOWN_SECONDS`` to finish, and only then do clients close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.worker import Worker

from runtime.audit_keys import load_audit_keys, load_signing_key
from runtime.customer_key import customer_key_secret
from runtime.heap import freeze_startup_heap
from runtime.logs import configure_logging
from runtime.metrics import start_metrics_server
from runtime.sdk_metrics import metrics_runtime
from runtime.settings import Settings
from runtime.temporal_client import connect
from runtime.temporal_setup import SetupRequired, require_search_attributes
from store.repository import Store
from workers.interaction import interaction_deps
from workers.registry import running_workers
from workers.versioning import deployment_version

log = logging.getLogger("warmline.worker")

EXIT_NOT_SET_UP = 2
"""Exit code when the namespace lacks Warmline's set-up: restarting will not help."""


async def run_worker(settings: Settings) -> int:
    configure_logging(settings)
    # Keys first: without them the worker refuses to start (runtime.local_secrets) before it
    # connects, instead of failing its first closing write or checkpoint.
    load_audit_keys(settings)
    load_signing_key(settings)
    customer_key_secret(settings)
    metrics = start_metrics_server(settings.metrics_port, addr=settings.metrics_host)
    try:
        client = await connect(settings, runtime=metrics_runtime(settings))
        try:
            await require_search_attributes(client)
        except SetupRequired as err:
            log.error("refusing to start: %s", err)
            return EXIT_NOT_SET_UP
        await serve(client, settings)
    finally:
        metrics.shutdown()
    return 0


async def serve(client: Client, settings: Settings) -> None:
    """Poll until cancelled; the context exit drains every worker before clients close."""
    async with worker_process(client, settings) as workers:
        version = deployment_version(settings)
        log.info(
            "polling %s on %s as %s (metrics %s:%d, SDK metrics :%d)",
            ", ".join(w.task_queue for w in workers),
            settings.temporal_address,
            version.to_canonical_string() if version else "unversioned",
            settings.metrics_host,
            settings.metrics_port,
            settings.temporal_metrics_port,
        )
        await asyncio.Event().wait()


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
        freeze_startup_heap()  # models, clients and workers live as long as the process
        yield workers
