"""The abuse gate a worker (or the API in front of it) asks before a start or a turn.

Store counters (fleet-wide) in, the pure decision out, then the hooks: a metric per limit hit
and an audit entry per refused, throttled or queued request. What the caller does with the
answer is defined: ``throttled`` and ``refused`` are returned to the CCaaS with the reason and
retry-after, ``queued`` is accepted for later and never put in a human queue now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.abuse import AbuseDecision, AbusePolicy, AdmissionRequest
from runtime.metrics import WarmlineMetrics
from store.abuse import AbuseStore
from warmline.abuse import ABUSE_STREAM, audit_payload, counter_keys, decide

AuditHook = Callable[[str, str, dict[str, Any]], object]
"""``(stream, kind, payload)``: ``Store.append_audit_auto`` fits."""


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

    def check(self, request: AdmissionRequest, policy: AbusePolicy | None = None) -> AbuseDecision:
        """Count ``request`` and answer it under ``policy`` (default: the gate's own source)."""
        policy = policy or self._policy()
        decision = decide(policy, request, self._store.increment(counter_keys(policy, request)))
        if decision.allowed:
            return decision
        if self._metrics is not None:
            for hit in decision.hits:
                self._metrics.abuse_limit_hit(hit.rule, request.stage.value, hit.answer.value)
        if self._audit is not None:
            self._audit(ABUSE_STREAM, "abuse_limit_hit", audit_payload(request, decision))
        return decision
