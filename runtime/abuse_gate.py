"""The abuse gate a worker (or the API in front of it) asks before a start or a turn.

Store counters (fleet-wide) in, the pure decision out, then the hooks: a metric per limit hit
and an audit entry per refused, throttled or queued request. What the caller does with the
answer is defined: ``throttled`` and ``refused`` are returned to the CCaaS with the reason and
retry-after, ``queued`` is accepted for later and never put in a human queue now.

``check_async`` (the worker's path) counts the checks that arrive together in one store
transaction (``runtime.batching``): every start and turn of a busy worker asks, and each taking
the store's write lock on its own made them queue on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from models.abuse import AbuseDecision, AbusePolicy, AdmissionRequest
from runtime.batching import MicroBatcher
from runtime.metrics import WarmlineMetrics
from store.abuse import AbuseStore
from warmline.abuse import ABUSE_STREAM, audit_payload, counter_keys, decide

AuditHook = Callable[[str, str, dict[str, Any]], object]
"""``(stream, kind, payload)``: ``Store.append_audit_auto`` fits."""
MAX_BATCH = 64
"""Checks counted in one transaction at most."""

_Check = tuple[AdmissionRequest, AbusePolicy]


class AbuseGate:
    """Thread-safe: counters live in the store, the rest is pure."""

    def __init__(
        self,
        store: AbuseStore,
        policy: Callable[[], AbusePolicy],
        metrics: WarmlineMetrics | None = None,
        audit: AuditHook | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._metrics = metrics
        self._audit = audit
        self.batcher: MicroBatcher[_Check, AbuseDecision] = MicroBatcher(
            "warmline-abuse", self._check_batch, self._check_one, MAX_BATCH
        )

    def check(self, request: AdmissionRequest, policy: AbusePolicy | None = None) -> AbuseDecision:
        """Count ``request`` and answer it under ``policy`` (default: the gate's own source)."""
        return self._check_one((request, policy or self._policy()))

    async def check_async(
        self, request: AdmissionRequest, policy: AbusePolicy | None = None
    ) -> AbuseDecision:
        """``check`` from an event loop, counted with the checks that arrive meanwhile."""
        return await self.batcher.submit((request, policy or self._policy()))

    def close(self) -> None:
        """Finish queued checks and stop the batching thread (blocking)."""
        self.batcher.close()

    def _check_one(self, item: _Check) -> AbuseDecision:
        request, policy = item
        decision = decide(policy, request, self._store.increment(counter_keys(policy, request)))
        self._hooks(request, decision)
        return decision

    def _check_batch(self, items: Sequence[_Check]) -> list[AbuseDecision | BaseException]:
        """One transaction counts them all. Counted once, a check whose hooks fail fails alone
        (not the batch: the batcher's retry one by one would count the others again)."""
        keys = [counter_keys(policy, request) for request, policy in items]
        readings = self._store.increment_many(keys)
        results: list[AbuseDecision | BaseException] = []
        for (request, policy), reading in zip(items, readings, strict=True):
            decision = decide(policy, request, reading)
            try:
                self._hooks(request, decision)
            except Exception as exc:  # that check's caller retries it, as a lone check would
                results.append(exc)
                continue
            results.append(decision)
        return results

    def _hooks(self, request: AdmissionRequest, decision: AbuseDecision) -> None:
        if decision.allowed:
            return
        if self._metrics is not None:
            for hit in decision.hits:
                self._metrics.abuse_limit_hit(hit.rule, request.stage.value, hit.answer.value)
        if self._audit is not None:
            self._audit(ABUSE_STREAM, "abuse_limit_hit", audit_payload(request, decision))
