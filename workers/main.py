"""Process wiring for ``warmline worker``: connect, build dependencies, run, shut down cleanly.

Workers are stateless apart from per-process caches (classifier, config, endpoint health), so
production runs as many replicas as load needs. Cancellation (Ctrl-C, SIGTERM) drains the
worker within its graceful-shutdown window before clients close.
"""

from __future__ import annotations

import logging

from warmline.settings import Settings
from workers.client import connect
from workers.interaction import interaction_deps, interaction_worker
from workers.metrics import start_metrics_server

log = logging.getLogger("warmline.worker")


async def run_worker(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    start_metrics_server(settings.metrics_port)
    client = await connect(settings)
    async with interaction_deps(settings) as deps:
        worker = interaction_worker(client, deps, settings)
        log.info(
            "worker polling %s on %s (metrics :%d)",
            "interactions",
            settings.temporal_address,
            settings.metrics_port,
        )
        await worker.run()
    return 0
