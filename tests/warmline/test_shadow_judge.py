"""Shadow versions judged (``warmline.shadow_judge``): each criterion fails the report on its own,
too few answers is inconclusive, and only a passed report opens the canary gate."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.safety import CommitmentAllowance, CommitmentKind
from models.shadow import ShadowGate, ShadowPair, ShadowVerdict
from warmline.shadow_judge import canary_gate, judge, policy_findings

GATE = ShadowGate(min_answers=10)
LIVE = "Your order shipped yesterday and arrives Friday."


def pair(i: int = 0, **fields: Any) -> ShadowPair:
    values: dict[str, Any] = {
        "interaction_id": f"i-{i}",
        "turn": 1,
        "intent": "order_status",
        "live_model_version": "2026.10",
        "live_text": LIVE,
        "shadow_text": "It shipped yesterday; expect it on Friday.",
        "shadow_action": "reply",
        "agreement": 0.8,
        "shadow_latency_ms": 100.0,
        "shadow_cost_usd": 0.001,
        "live_latency_ms": 100.0,
        "live_cost_usd": 0.001,
        **fields,
    }
    return ShadowPair.model_validate(values)


def good(n: int = 20) -> list[ShadowPair]:
    return [pair(i) for i in range(n)]


def test_a_close_shadow_passes_and_opens_the_canary_gate() -> None:
    report = judge("care-bot:2026.11", good(), GATE)
    assert report.verdict is ShadowVerdict.PASSED
    assert report.mean_agreement == 0.8 and report.compared == 20
    allowed, reasons = canary_gate(report)
    assert allowed and reasons[0] == "shadow report on care-bot:2026.11: passed"


def test_too_few_answers_is_inconclusive_and_keeps_the_gate_shut() -> None:
    report = judge("care-bot:2026.11", good(9), GATE)
    assert report.verdict is ShadowVerdict.INCONCLUSIVE
    assert not canary_gate(report)[0]


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"agreement": 0.2}, "agree less than"),
        ({"shadow_action": "escalate"}, "escalation differs"),
        ({"live_escalated": True}, "escalation differs"),
        ({"shadow_latency_ms": 400.0}, "mean latency"),
        ({"shadow_cost_usd": 0.01}, "cost per answer"),
        ({"shadow_text": "I've issued a full refund of $500 to your card."}, "outside policy"),
    ],
)
def test_each_criterion_fails_the_report_on_its_own(changed: dict[str, Any], reason: str) -> None:
    pairs = good(14) + [pair(100 + i, **changed) for i in range(6)]
    report = judge("care-bot:2026.11", pairs, GATE)
    assert report.verdict is ShadowVerdict.FAILED
    assert any(reason in r for r in report.reasons), report.reasons
    assert not canary_gate(report)[0]


def test_a_low_mean_agreement_fails_even_without_outliers() -> None:
    report = judge("care-bot:2026.11", [pair(i, agreement=0.5) for i in range(20)], GATE)
    assert report.verdict is ShadowVerdict.FAILED and report.low_agreement == 0
    assert report.reasons == ["mean agreement 0.50 below 0.55"]


def test_errors_count_against_the_error_rate_not_the_comparison() -> None:
    pairs = good(20) + [pair(50, shadow_text=None, error="timeout: read") for _ in range(3)]
    report = judge("care-bot:2026.11", pairs, GATE)
    assert (report.answers, report.errors, report.compared) == (23, 3, 20)
    assert any("shadow calls failed" in r for r in report.reasons)


def test_a_commitment_production_made_too_is_not_the_shadows_violation() -> None:
    refund = "I've issued a full refund to your card."
    assert policy_findings(pair(live_text=refund, shadow_text=refund), {}) == []
    assert policy_findings(pair(shadow_text=refund), {})[0].kind == "refund_commitment"
    allowed = {
        "order_status": CommitmentAllowance(intent="order_status", allowed=[CommitmentKind.REFUND])
    }
    assert policy_findings(pair(shadow_text=refund), allowed) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-1.0, max_value=1.0), min_size=10, max_size=60))
def test_better_agreement_never_turns_a_pass_into_a_fail(scores: list[float]) -> None:
    pairs = [pair(i, agreement=s) for i, s in enumerate(scores)]
    better = [pair(i, agreement=min(1.0, s + 0.2)) for i, s in enumerate(scores)]
    if judge("x:1", pairs, GATE).verdict is ShadowVerdict.PASSED:
        assert judge("x:1", better, GATE).verdict is ShadowVerdict.PASSED
