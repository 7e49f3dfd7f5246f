"""Abuse limits as pure decisions: which counters a start or turn increments, and what their
readings mean.

Counting is a sliding window approximated from two fixed windows (the current one and the
one before, weighted by how much of it still overlaps): exact enough for limits, and each
window is one row that the store increments atomically, fleet-wide. A flood keeps counting
while it is refused, so it stays refused until it stops, and other customers and tenants are
not affected: their counters are their own.

Scripted repeats: the same message from one tenant many times in a window (digits masked,
case and spacing folded, so "order 123" and "ORDER  456" are one script) is refused.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

from models.abuse import (
    AbuseDecision,
    AbusePolicy,
    AdmissionRequest,
    CounterKey,
    CounterReading,
    LimitAnswer,
    LimitHit,
    LimitRule,
    LimitScope,
)

ABUSE_STREAM = "abuse-limits"
_DIGITS_RE = re.compile(r"\d+")
_SPACE_RE = re.compile(r"\s+")


def _scope_value(rule: LimitRule, request: AdmissionRequest) -> str:
    if rule.scope is LimitScope.CUSTOMER:
        return f"{request.tenant}/{request.customer_id}"
    if rule.scope is LimitScope.TENANT:
        return request.tenant
    return f"{request.tenant}/{request.entry_point}"


def _window(at: float, seconds: float) -> float:
    return math.floor(at / seconds) * seconds


def rule_name(rule: LimitRule) -> str:
    return f"{rule.scope.value}:{rule.stage.value}"


def repeat_fingerprint(text: str) -> str:
    """What two copies of one scripted message share (16 hex digits; the text is not kept)."""
    folded = _SPACE_RE.sub(" ", _DIGITS_RE.sub("0", text.lower())).strip()
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:16]


def counter_keys(policy: AbusePolicy, request: AdmissionRequest) -> list[CounterKey]:
    """The counters this request increments, one per applicable rule (and repeats)."""
    keys = [
        CounterKey(
            name=f"{rule_name(rule)}:{_scope_value(rule, request)}",
            window_start=_window(request.at, rule.window_seconds),
            window_seconds=rule.window_seconds,
        )
        for rule in policy.rules
        if rule.stage is request.stage
    ]
    repeats = policy.repeats
    if repeats is not None and len(request.text.strip()) >= repeats.min_chars:
        keys.append(
            CounterKey(
                name=f"repeat:{request.tenant}:{repeat_fingerprint(request.text)}",
                window_start=_window(request.at, repeats.window_seconds),
                window_seconds=repeats.window_seconds,
            )
        )
    return keys


def estimate(reading: CounterReading, at: float) -> float:
    """Sliding-window count: this window's events plus the overlapping share of the last's."""
    elapsed = (at - reading.key.window_start) / reading.key.window_seconds
    overlap = max(0.0, 1.0 - min(1.0, elapsed))
    return reading.current + reading.previous * overlap


def decide(
    policy: AbusePolicy, request: AdmissionRequest, readings: Sequence[CounterReading]
) -> AbuseDecision:
    """The answer for one request from its counters' readings (after its own increment)."""
    by_name = {r.key.name: r for r in readings}
    hits: list[LimitHit] = []
    checks: list[tuple[str, str, int, LimitAnswer]] = [
        (f"{rule_name(r)}:{_scope_value(r, request)}", rule_name(r), r.limit, r.answer)
        for r in policy.rules
        if r.stage is request.stage
    ]
    if policy.repeats is not None:
        prefix = f"repeat:{request.tenant}:"
        for name in by_name:
            if name.startswith(prefix):
                checks.append((name, "repeat", policy.repeats.max_repeats, policy.repeats.answer))
    for name, label, limit, answer in checks:
        reading = by_name.get(name)
        if reading is None:
            continue
        count = estimate(reading, request.at)
        if count > limit:
            window_end = reading.key.window_start + reading.key.window_seconds
            hits.append(
                LimitHit(
                    rule=label,
                    estimate=round(count, 3),
                    limit=limit,
                    answer=answer,
                    retry_after_seconds=round(max(1.0, window_end - request.at), 3),
                )
            )
    if not hits:
        return AbuseDecision(
            answer=LimitAnswer.ALLOWED, policy_version=policy.version, reasons=["within limits"]
        )
    worst = max(hits, key=lambda h: (h.answer.strictness, h.retry_after_seconds))
    reasons = [f"{h.rule}: {h.estimate:.1f} > {h.limit} -> {h.answer.value}" for h in hits]
    return AbuseDecision(
        answer=worst.answer,
        hits=hits,
        retry_after_seconds=max(h.retry_after_seconds for h in hits),
        reason=None if worst.answer is LimitAnswer.QUEUED else policy.refusal_reason,
        policy_version=policy.version,
        reasons=reasons,
    )


def audit_payload(request: AdmissionRequest, decision: AbuseDecision) -> dict[str, Any]:
    """The audit entry of a limit hit (no message text: ids, rules and figures only)."""
    return {
        "stage": request.stage.value,
        "tenant": request.tenant,
        "entry_point": request.entry_point,
        "customer_id": request.customer_id,
        "at": request.at,
        "answer": decision.answer.value,
        "hits": [h.model_dump(mode="json") for h in decision.hits],
        "policy_version": decision.policy_version,
    }
