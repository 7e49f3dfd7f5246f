"""Retention planning: what a purge run deletes, decided from the policy and the clock alone.

Pure, so ``warmline retention plan`` and ``RetentionWorkflow`` make the same plan and tests walk
every rule without a database. The store counts and deletes; this module only says which
(data class, region) goes and from when.

Audit records are different: they are purged by segment. A segment is what one checkpoint
signed; the anchor is the newest checkpoint taken before the cutoff. Everything up to and
including the anchor's range goes (except streams of interactions on legal hold), the anchor
stays as the first stored checkpoint, and a stream that goes on after it keeps a MAC'd anchor
link, so the remaining trail still verifies from there (``store.retention``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from models.retention import (
    ANY_REGION,
    DataClass,
    PurgeStep,
    RetentionPlan,
    RetentionPolicy,
)

PURGE_ORDER = (DataClass.TRANSCRIPTS, DataClass.FACTS, DataClass.ARCHIVES, DataClass.AUDIT)
"""Transcripts are found through their facts, so they go before facts can."""


def plan_purge(policy: RetentionPolicy, now: datetime) -> list[PurgeStep]:
    """One step per rule, in ``PURGE_ORDER``; a ``*`` rule skips regions with their own rule."""
    own: dict[DataClass, list[str]] = {}
    for rule in policy.rules:
        if rule.region != ANY_REGION:
            own.setdefault(rule.data_class, []).append(rule.region)
    steps = [
        PurgeStep(
            data_class=rule.data_class,
            region=rule.region,
            other_than=sorted(own.get(rule.data_class, [])) if rule.region == ANY_REGION else [],
            cutoff=(now - timedelta(days=rule.keep_days)).isoformat(),
            keep_days=rule.keep_days,
            regulation=rule.regulation,
        )
        for rule in policy.rules
    ]
    return sorted(steps, key=lambda s: (PURGE_ORDER.index(s.data_class), s.region))


def audit_anchor(checkpoints: Iterable[tuple[int, datetime]], cutoff: datetime) -> int | None:
    """The newest checkpoint taken at or before ``cutoff`` (its segment is old enough)."""
    old_enough = [seq for seq, taken_at in checkpoints if taken_at <= cutoff]
    return max(old_enough) if old_enough else None


def make_plan(
    policy: RetentionPolicy, now: datetime, checkpoints: Iterable[tuple[int, datetime]]
) -> RetentionPlan:
    steps = plan_purge(policy, now)
    anchor = None
    for step in steps:
        if step.data_class is DataClass.AUDIT:
            anchor = audit_anchor(checkpoints, datetime.fromisoformat(step.cutoff))
    if anchor is None:  # no checkpoint old enough: the audit step has nothing it may purge
        steps = [s for s in steps if s.data_class is not DataClass.AUDIT]
    return RetentionPlan(
        policy_version=policy.version,
        planned_at=now.isoformat(),
        steps=steps,
        batch_size=policy.batch_size,
        audit_anchor=anchor,
    )


def applies_to(step: PurgeStep, region: str) -> bool:
    """Whether ``step`` governs records of customers in ``region``."""
    if step.region == ANY_REGION:
        return region not in step.other_than
    return region == step.region
