"""The active routing config, read from the store at most once per TTL per worker process.

Routing runs on every interaction; the config changes rarely. A short TTL bounds how long a
worker routes on an old version, and every decision names the version it used.
"""

from __future__ import annotations

import asyncio
import time

from models.routing import RoutingConfig
from store.repository import Store


class RoutingConfigCache:
    def __init__(self, store: Store, bootstrap: RoutingConfig, ttl_seconds: float = 2.0) -> None:
        self._store = store
        self._bootstrap = bootstrap
        self._ttl = ttl_seconds
        self._config: RoutingConfig | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self) -> RoutingConfig:
        if self._config is not None and time.monotonic() - self._loaded_at < self._ttl:
            return self._config
        async with self._lock:
            if self._config is not None and time.monotonic() - self._loaded_at < self._ttl:
                return self._config
            config = await asyncio.to_thread(self._store.active_routing_config)
            if config is None:
                config = await asyncio.to_thread(
                    self._store.save_routing_config, self._bootstrap, "bootstrap"
                )
            self._config = config
            self._loaded_at = time.monotonic()
            return config
