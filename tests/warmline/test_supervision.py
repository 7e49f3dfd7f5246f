"""Pure supervision decisions: modes, semi-autonomous triggers, QA sampling, phase verdicts,
supervisor staffing, and the contracts they rest on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.supervision import (
    ModeRule,
    ReviewResponse,
    SemiAutonomousTriggers,
    SupervisionMode,
    SupervisionPolicy,
    TriggerAction,
    TriggerKind,
)
from models.supervision_phase import (
    Phase,
    PhaseCriteria,
    PhaseEvidence,
    PromotionCriteria,
    RegressionCriteria,
    SupervisionPhaseState,
    VerdictAction,
    supervision_phase_workflow_id,
)
from warmline.supervision import (
    evaluate_phase,
    find_amounts,
    mode_for,
    qa_sampled,
    semi_autonomous_check,
    semi_autonomous_triggers,
    staffing_impact,
    supervisor_staffing,
)

FS, SEMI, AUTO = (
    SupervisionMode.FULLY_SUPERVISED,
    SupervisionMode.SEMI_AUTONOMOUS,
    SupervisionMode.FULLY_AUTONOMOUS,
)

# -- modes ---------------------------------------------------------------------------------

POLICY = SupervisionPolicy(
    version=4,
    modes=[
        ModeRule(mode=SEMI),
        ModeRule(intent="billing", mode=AUTO),
        ModeRule(channel="voice", mode=FS),
        ModeRule(intent="billing", channel="email", mode=SEMI),
    ],
)


@pytest.mark.parametrize(
    ("intent", "channel", "expected", "rule"),
    [
        ("billing", "email", SEMI, "intent=billing channel=email"),
        ("billing", "chat", AUTO, "intent=billing channel=*"),
        # intent beats channel at equal specificity: the intent carries the risk.
        ("billing", "voice", AUTO, "intent=billing channel=*"),
        ("fraud", "voice", FS, "intent=* channel=voice"),
        ("fraud", "chat", SEMI, "intent=* channel=*"),
    ],
)
def test_the_most_specific_rule_wins(
    intent: str, channel: str, expected: SupervisionMode, rule: str
) -> None:
    mode, reason = mode_for(POLICY, intent, channel)
    assert mode is expected
    assert rule in reason and "policy v4" in reason


def test_without_a_matching_rule_the_default_supervises_fully() -> None:
    mode, reason = mode_for(SupervisionPolicy(), "new-intent", "chat")
    assert mode is FS and "default" in reason


def test_a_monitored_route_tightens_but_never_loosens() -> None:
    assert mode_for(POLICY, "billing", "chat", route="ai_monitored")[0] is FS
    assert "tightened" in mode_for(POLICY, "billing", "chat", route="ai_monitored")[1]
    loose = POLICY.model_copy(update={"monitored_route_mode": AUTO})
    assert mode_for(loose, "fraud", "voice", route="ai_monitored")[0] is FS
    assert mode_for(POLICY, "billing", "chat", route="ai")[0] is AUTO


def test_policy_rejects_duplicate_cells_and_caps_outside_3_to_8() -> None:
    with pytest.raises(ValidationError, match="duplicate"):
        SupervisionPolicy(modes=[ModeRule(intent="a", mode=FS), ModeRule(intent="a", mode=AUTO)])
    for cap in (2, 9):
        with pytest.raises(ValidationError, match="supervisor_concurrent_cap"):
            SupervisionPolicy(supervisor_concurrent_cap=cap)
    assert SupervisionPolicy().supervisor_concurrent_cap == 5


def test_with_mode_replaces_one_cell() -> None:
    changed = POLICY.with_mode("billing", "*", FS)
    assert mode_for(changed, "billing", "chat")[0] is FS
    assert len(changed.modes) == len(POLICY.modes)


# -- review response ---------------------------------------------------------------------------


def test_edit_requires_edited_text() -> None:
    with pytest.raises(ValidationError, match="edited_text is required"):
        ReviewResponse(draft_id="d1", decision="edit", reviewer_id="s1")
    with pytest.raises(ValidationError, match="edited_text is required"):
        ReviewResponse(draft_id="d1", decision="edit", reviewer_id="s1", edited_text="  ")
    with pytest.raises(ValidationError, match="only allowed"):
        ReviewResponse(draft_id="d1", decision="approve", reviewer_id="s1", edited_text="x")
    ok = ReviewResponse(draft_id="d1", decision="edit", reviewer_id="s1", edited_text="Hi")
    assert ok.edited_text == "Hi"


@pytest.mark.parametrize("field", ["draft_id", "reviewer_id"])
def test_review_response_names_the_missing_field(field: str) -> None:
    body = {"draft_id": "d1", "decision": "approve", "reviewer_id": "s1", field: ""}
    with pytest.raises(ValidationError, match=field):
        ReviewResponse.model_validate(body)


def test_workflow_ids_are_safe_and_stable() -> None:
    assert supervision_phase_workflow_id("billing") == "supervision-phase-billing"
    assert supervision_phase_workflow_id("Card Lost", "chat") == "supervision-phase-card-lost-chat"
    assert supervision_phase_workflow_id("billing", "*") == "supervision-phase-billing"


# -- semi-autonomous triggers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("Refund of $1,250.00 please", [1250.0]),
        ("I paid €300 twice", [300.0]),
        ("that is 500 dollars", [500.0]),
        ("£99.99 and $20", [99.99, 20.0]),
        ("USD 2k wire", [2000.0]),
        ("1.250,00 € on the card", [1250.0]),
        ("12,50 EUR", [12.5]),
        ("$1.5 million", [1_500_000.0]),
        ("order 4411 has 3 items", []),
        ("card [CARD] charged", []),
    ],
)
def test_amounts_are_read_from_text(text: str, amounts: list[float]) -> None:
    assert find_amounts(text) == amounts


def _check(
    text: str = "Thanks, that is sorted.",
    amount: float | None = None,
    sentiment: float | None = 0.2,
    duration: float | None = 60.0,
    topics: tuple[str, ...] = (),
) -> tuple[TriggerKind, TriggerAction] | None:
    trigger = semi_autonomous_check(text, amount, sentiment, duration, topics, SupervisionPolicy())
    return (trigger.kind, trigger.action) if trigger else None


def test_nothing_fires_within_parameters() -> None:
    assert _check() is None
    assert _check("Refund of $499.99 issued") is None


def test_each_condition_fires() -> None:
    amount = (TriggerKind.MONETARY_AMOUNT, TriggerAction.APPROVAL)
    assert _check("I will refund $1,250.00 today") == amount
    assert _check("I will refund 600 dollars") == amount
    assert _check(amount=750.0) == amount
    assert _check(sentiment=-0.6) == (TriggerKind.SENTIMENT, TriggerAction.HANDOVER)
    assert _check(duration=1200.0) == (TriggerKind.DURATION, TriggerAction.HANDOVER)
    topic = (TriggerKind.FLAGGED_TOPIC, TriggerAction.APPROVAL)
    assert _check("I want to file a complaint") == topic
    assert _check("can you make a policy override?") == topic
    assert _check(topics=("Complaint",)) == topic


def test_thresholds_are_strict_and_can_be_switched_off() -> None:
    assert _check(amount=500.0) is None
    assert _check(sentiment=-0.3) is None
    assert _check(duration=900.0) is None
    off = SemiAutonomousTriggers(
        monetary_amount_above=None, sentiment_below=None, duration_above_seconds=None
    )
    assert semi_autonomous_check("$9,999", 9999, -1.0, 1e6, (), off) is None


def test_handovers_come_before_approvals_and_all_are_reported() -> None:
    fired = semi_autonomous_triggers(
        "complaint about $2,000", None, -0.9, 1000.0, (), SupervisionPolicy()
    )
    assert [t.kind for t in fired] == [
        TriggerKind.SENTIMENT,
        TriggerKind.DURATION,
        TriggerKind.MONETARY_AMOUNT,
        TriggerKind.FLAGGED_TOPIC,
    ]
    assert fired[2].value == 2000.0 and fired[2].threshold == 500.0


# -- QA sampling -----------------------------------------------------------------------------


def test_qa_sampling_is_deterministic_and_near_the_rate() -> None:
    ids = [f"i-{n}" for n in range(20_000)]
    first = [qa_sampled(i, 0.1) for i in ids]
    assert first == [qa_sampled(i, 0.1) for i in ids]
    assert 0.09 < sum(first) / len(ids) < 0.11
    assert not any(qa_sampled(i, 0.0) for i in ids[:500])
    assert all(qa_sampled(i, 1.0) for i in ids[:500])
    # A higher rate keeps every interaction a lower rate sampled (one bucket per id).
    assert all(qa_sampled(i, 0.2) for i, hit in zip(ids, first, strict=True) if hit)
    with pytest.raises(ValueError, match="rate"):
        qa_sampled("i-1", 1.5)


# -- phase verdicts ----------------------------------------------------------------------------

CRITERIA = PhaseCriteria(
    to_scaling=PromotionCriteria(
        min_days=30, min_volume=100, min_draft_approval_rate=0.9, min_containment_rate=0.6
    ),
    to_maturity=PromotionCriteria(
        min_days=90, min_volume=1000, min_qa_samples=50, min_qa_resolution_accuracy=0.95
    ),
    scaling_regression=RegressionCriteria(min_window_volume=50, containment_rate_below=0.5),
    maturity_regression=RegressionCriteria(
        min_window_volume=50, min_qa_samples=20, qa_resolution_accuracy_below=0.9
    ),
)


def _state(phase: Phase) -> SupervisionPhaseState:
    return SupervisionPhaseState(intent="billing", phase=phase, criteria=CRITERIA)


def _evidence(**fields: float | int | None) -> PhaseEvidence:
    body: dict[str, float | int | None] = {
        "days_in_phase": 40,
        "volume": 400,
        "window_volume": 120,
        "draft_approval_rate": 0.95,
        "containment_rate": 0.7,
    }
    body.update(fields)
    return PhaseEvidence.model_validate(body)


def test_pilot_with_good_evidence_is_ready_for_scaling() -> None:
    verdict = evaluate_phase(_state(Phase.PILOT), _evidence(), CRITERIA)
    assert verdict.action is VerdictAction.PROMOTE_READY
    assert verdict.target is Phase.SCALING
    assert "draft approval 0.950 >= 0.9" in verdict.reasons


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"days_in_phase": 10}, "days 10.0 >= 30.0"),
        ({"volume": 50}, "volume 50 >= 100"),
        ({"draft_approval_rate": 0.8}, "draft approval 0.800 >= 0.9"),
        ({"containment_rate": None}, "containment none >= 0.6"),
    ],
)
def test_pilot_holds_while_any_gate_is_unmet_or_unmeasured(
    fields: dict[str, float | None], missing: str
) -> None:
    verdict = evaluate_phase(_state(Phase.PILOT), _evidence(**fields), CRITERIA)
    assert verdict.action is VerdictAction.HOLD
    assert f"not yet: {missing}" in verdict.reasons


def test_scaling_to_maturity_needs_qa_evidence() -> None:
    good = _evidence(days_in_phase=100, volume=2000, qa_samples=60, qa_resolution_accuracy=0.97)
    assert evaluate_phase(_state(Phase.SCALING), good, CRITERIA).target is Phase.MATURITY
    few = good.model_copy(update={"qa_samples": 10})
    verdict = evaluate_phase(_state(Phase.SCALING), few, CRITERIA)
    assert verdict.action is VerdictAction.HOLD
    assert "not yet: qa samples 10 >= 50" in verdict.reasons


def test_regression_demotes_one_phase() -> None:
    verdict = evaluate_phase(_state(Phase.SCALING), _evidence(containment_rate=0.4), CRITERIA)
    assert verdict.action is VerdictAction.DEMOTE and verdict.target is Phase.PILOT
    assert verdict.reasons == ["regression in scaling: containment 0.400 < 0.5"]
    mature = _evidence(qa_samples=30, qa_resolution_accuracy=0.85)
    verdict = evaluate_phase(_state(Phase.MATURITY), mature, CRITERIA)
    assert verdict.action is VerdictAction.DEMOTE and verdict.target is Phase.SCALING


def test_too_little_recent_volume_is_no_regression() -> None:
    verdict = evaluate_phase(
        _state(Phase.SCALING), _evidence(containment_rate=0.1, window_volume=10), CRITERIA
    )
    assert verdict.action is VerdictAction.HOLD
    assert "no judgment" in verdict.reasons[0]


def test_maturity_holds_when_healthy_and_pilot_never_demotes() -> None:
    verdict = evaluate_phase(_state(Phase.MATURITY), _evidence(), CRITERIA)
    assert verdict.action is VerdictAction.HOLD
    assert "maturity is the last phase" in verdict.reasons
    bad = _evidence(containment_rate=0.1, draft_approval_rate=0.1)
    assert evaluate_phase(_state(Phase.PILOT), bad, CRITERIA).action is VerdictAction.HOLD


# -- staffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_hour", "aht", "cap", "supervisors"),
    [
        (0, 300, 5, 0),
        (60, 300, 5, 1),  # 5 concurrent sessions / 5
        (61, 300, 5, 2),  # 5.08 concurrent: a sixth session needs a second person
        (120, 600, 4, 5),  # 20 concurrent / 4
        (100, 180, 8, 1),
    ],
)
def test_supervisors_are_concurrent_sessions_over_the_cap_rounded_up(
    per_hour: float, aht: float, cap: int, supervisors: int
) -> None:
    assert supervisor_staffing(per_hour, aht, cap) == supervisors


def test_staffing_impact_of_promotions_and_demotions() -> None:
    evidence = PhaseEvidence(
        days_in_phase=7,
        volume=1680,
        window_days=7,
        window_volume=1680,
        mean_handle_seconds=300,
        supervised_share=1.0,
    )
    up = staffing_impact(Phase.PILOT, Phase.SCALING, evidence, cap=5)
    assert (up.supervisors_before, up.supervisors_after) == (1, 1)
    assert up.supervised_share_after == 0.3 and any("estimated" in r for r in up.reasons)
    busy = evidence.model_copy(update={"window_volume": 100_800, "volume": 100_800})  # 600/h
    up = staffing_impact(Phase.PILOT, Phase.SCALING, busy, cap=5)
    assert (up.supervisors_before, up.supervisors_after) == (10, 3)
    down = staffing_impact(Phase.MATURITY, Phase.SCALING, busy, cap=5)
    assert (down.supervisors_before, down.supervisors_after) == (0, 3)
    start = staffing_impact(None, Phase.PILOT, None, cap=5)
    assert start.supervisors_after == 0 and start.volume_per_hour == 0
