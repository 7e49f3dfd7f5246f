"""Retention planning (warmline.retention) and policy validation, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from models.retention import DataClass, RetentionPolicy, RetentionRule
from warmline.retention import applies_to, audit_anchor, make_plan, plan_purge

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def rule(data_class: DataClass, days: int, region: str = "*", **kw: object) -> RetentionRule:
    return RetentionRule(data_class=data_class, keep_days=days, region=region, **kw)


POLICY = RetentionPolicy(
    rules=[
        rule(DataClass.FACTS, 400),
        rule(DataClass.TRANSCRIPTS, 90),
        rule(DataClass.TRANSCRIPTS, 30, "eu", regulation="GDPR"),
        rule(DataClass.FACTS, 30, "eu", regulation="GDPR"),
        rule(DataClass.AUDIT, 365),
        rule(DataClass.ARCHIVES, 730),
    ]
)


def test_steps_follow_the_purge_order_with_cutoffs_from_keep_days() -> None:
    steps = plan_purge(POLICY, NOW)
    assert [(s.data_class.value, s.region) for s in steps] == [
        ("transcripts", "*"),
        ("transcripts", "eu"),
        ("facts", "*"),
        ("facts", "eu"),
        ("archives", "*"),
        ("audit", "*"),
    ]
    assert steps[1].cutoff == (NOW - timedelta(days=30)).isoformat()
    assert steps[1].regulation == "GDPR"
    assert steps[0].other_than == ["eu"] and steps[1].other_than == []
    assert applies_to(steps[0], "us") and not applies_to(steps[0], "eu")
    assert applies_to(steps[1], "eu") and not applies_to(steps[1], "us")


def test_the_audit_step_needs_a_checkpoint_older_than_its_cutoff() -> None:
    old, recent = NOW - timedelta(days=400), NOW - timedelta(days=10)
    assert (
        audit_anchor(
            [(1, old), (2, old + timedelta(days=1)), (3, recent)], NOW - timedelta(days=365)
        )
        == 2
    )
    assert audit_anchor([(3, recent)], NOW - timedelta(days=365)) is None
    plan = make_plan(POLICY, NOW, [(3, recent)])
    assert DataClass.AUDIT not in {s.data_class for s in plan.steps}
    plan = make_plan(POLICY, NOW, [(1, old), (3, recent)])
    assert plan.audit_anchor == 1 and plan.steps[-1].data_class is DataClass.AUDIT


def test_an_empty_policy_purges_nothing() -> None:
    assert make_plan(RetentionPolicy(), NOW, []).steps == []


def raw(data_class: str, days: int, region: str = "*") -> dict[str, object]:
    return {"data_class": data_class, "keep_days": days, "region": region}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([raw("facts", 1), raw("facts", 2)], "two rules"),
        ([raw("audit", 10, "eu")], "region \\*"),
        ([raw("facts", 10), raw("transcripts", 20)], "at least as long"),
        ([raw("facts", 0)], "greater than or equal to 1"),
    ],
)
def test_inconsistent_policies_are_refused_naming_why(
    rules: list[dict[str, object]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        RetentionPolicy.model_validate({"rules": rules})
