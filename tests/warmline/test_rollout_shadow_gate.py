"""The canary's shadow gate in the pure rollout machine: a failed (or inconclusive) shadow report
ends the rollout before its first step with the canary untouched; a passed one starts it with
the report's reasons on the start decision."""

from __future__ import annotations

from models.canary import (
    CanaryPhase,
    CanaryState,
    DecisionKind,
    RecordDecision,
    RolloutConfig,
    RolloutStarted,
    SetCanaryWeight,
    ShadowGateFailed,
)
from models.shadow import ShadowGate, ShadowReport, ShadowVerdict
from warmline.rollout import transition
from warmline.shadow_judge import canary_gate

CONFIG = RolloutConfig(shadow_gate=ShadowGate())
AT = "2026-11-02T09:00:00+00:00"


def fresh() -> CanaryState:
    return CanaryState(agent="care-bot", canary_version="2", baseline_versions=["1"])


def report(verdict: ShadowVerdict) -> ShadowReport:
    return ShadowReport(
        endpoint="care-bot:2",
        answers=30,
        errors=0,
        compared=30,
        gate=ShadowGate(),
        verdict=verdict,
        reasons=[f"the judge's reason ({verdict.value})"],
    )


def test_a_failed_or_inconclusive_report_aborts_before_any_weight_change() -> None:
    for verdict in (ShadowVerdict.FAILED, ShadowVerdict.INCONCLUSIVE):
        allowed, reasons = canary_gate(report(verdict))
        assert not allowed
        state, actions = transition(fresh(), ShadowGateFailed(at=AT, reasons=reasons), CONFIG)
        assert state.phase is CanaryPhase.ABORTED and state.terminal
        assert state.weight_percent == 0
        assert [type(a) for a in actions] == [RecordDecision]
        decision = state.decisions[-1]
        assert (decision.kind, decision.by) == (DecisionKind.ABORT, "shadow-gate")
        assert decision.reasons == [f"shadow report on care-bot:2: {verdict.value}", *reasons[1:]]


def test_a_passed_report_starts_the_rollout_with_its_reasons_on_the_start() -> None:
    allowed, notes = canary_gate(report(ShadowVerdict.PASSED))
    assert allowed
    state, actions = transition(fresh(), RolloutStarted(at=AT, by="rm", notes=notes), CONFIG)
    assert state.phase is CanaryPhase.BAKING
    assert isinstance(actions[0], SetCanaryWeight)
    assert state.decisions[-1].reasons[-2:] == notes


def test_the_gate_is_ignored_once_the_rollout_runs() -> None:
    started, _ = transition(fresh(), RolloutStarted(at=AT, by="rm"), CONFIG)
    state, actions = transition(started, ShadowGateFailed(at=AT, reasons=["late"]), CONFIG)
    assert state == started and actions == []
