"""The active supervision policy, cached per worker process for the interaction activities."""

from __future__ import annotations

import asyncio
import time

from models.supervision import SupervisionPolicy
from store.repository import Store


class SupervisionPolicyCache:
    """The active supervision policy, read from the store at most once per TTL per process.

    For the interaction activities: every interaction needs its mode, the policy changes only
    when an intent moves phase. Before the first stored version the defaults apply (version
    0: every intent fully supervised), so a fresh install never runs an AI unsupervised.
    """

    def __init__(self, store: Store, ttl_seconds: float = 2.0) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._policy: SupervisionPolicy | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self) -> SupervisionPolicy:
        if self._policy is not None and time.monotonic() - self._loaded_at < self._ttl:
            return self._policy
        async with self._lock:
            if self._policy is None or time.monotonic() - self._loaded_at >= self._ttl:
                stored = await asyncio.to_thread(self._store.active_supervision_policy)
                self._policy = stored or SupervisionPolicy()
                self._loaded_at = time.monotonic()
            return self._policy
