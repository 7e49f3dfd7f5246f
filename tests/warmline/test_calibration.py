"""Thresholds calibrated from outcomes (``warmline.calibration``): examples and properties.

The properties are the promises the module makes: a proposed threshold never sits below the
quality target on the evidence, few samples change nothing, a stricter target never lowers a
threshold and better outcomes never raise one, monitored_min never exceeds ai_min.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.calibration import OutcomeSample, QualityTarget
from models.routing import RoutingConfig, ThresholdRule
from warmline.calibration import band_edges, calibrate, calibrate_cell
from warmline.outcomes import is_resolved, wilson_lower
from warmline.routing import threshold_for

CELL = ("billing_question", "chat", "standard")
CURRENT = ThresholdRule()


def sample(confidence: float, outcome: str = "contained", **fields: object) -> OutcomeSample:
    values: dict[str, object] = {
        "intent": CELL[0],
        "channel": CELL[1],
        "segment": CELL[2],
        "confidence": confidence,
        "route": "ai" if confidence >= CURRENT.ai_min else "ai_monitored",
        "endpoint": "care-bot:2026.10",
        "outcome": outcome,
        **fields,
    }
    return OutcomeSample.model_validate(values)


def outcomes(confidence: float, resolved: int, failed: int) -> list[OutcomeSample]:
    return [sample(confidence)] * resolved + [sample(confidence, "escalated")] * failed


samples_st = st.lists(
    st.builds(
        sample,
        # A grid of 0.005: band edges are exact, as in routing's >= comparison.
        st.integers(min_value=150, max_value=200).map(lambda i: i / 200),
        st.sampled_from(["contained", "contained", "escalated", "abandoned"]),
    ),
    max_size=300,
)
targets_st = st.builds(
    QualityTarget,
    min_resolution_rate=st.floats(min_value=0.5, max_value=0.99),
    min_monitored_resolution_rate=st.just(0.5),
    min_samples=st.integers(min_value=1, max_value=60),
    evidence_z=st.sampled_from([0.0, 1.0, 1.96]),
)


def test_band_edges_cover_zero_to_one_exactly() -> None:
    assert band_edges(0.05)[:3] == [0.0, 0.05, 0.1]
    assert len(band_edges(0.05)) == 20
    assert band_edges(0.3) == [0.0, 0.3, 0.6, 0.9]


def test_wilson_lower_bound_is_below_the_observed_rate_and_tightens_with_samples() -> None:
    assert wilson_lower(8, 10, 0.0) == 0.8
    assert wilson_lower(8, 10, 1.0) < 0.8
    assert wilson_lower(80, 100, 1.0) > wilson_lower(8, 10, 1.0)
    assert wilson_lower(0, 0, 1.0) == 0.0


def test_good_outcomes_below_ai_min_lower_it_to_the_band_that_earned_it() -> None:
    target = QualityTarget(min_resolution_rate=0.8, min_samples=30, evidence_z=0.0)
    evidence = outcomes(0.95, 50, 2) + outcomes(0.86, 40, 5) + outcomes(0.78, 20, 20)
    cell = calibrate_cell(CELL, CURRENT, evidence, target)
    assert cell.proposed is not None
    assert cell.proposed.ai_min == 0.85
    assert any("ai_min 0.92 -> 0.85" in r for r in cell.reasons)
    assert [b.low for b in cell.bands] == [0.75, 0.85, 0.95]
    assert cell.bands[0].escalated == 20


def test_poor_outcomes_raise_ai_min_and_none_meeting_the_target_sends_it_to_one() -> None:
    target = QualityTarget(min_resolution_rate=0.8, min_samples=30, evidence_z=0.0)
    cell = calibrate_cell(CELL, CURRENT, outcomes(0.93, 30, 30), target)
    assert cell.proposed is not None and cell.proposed.ai_min == 1.0
    mixed = outcomes(0.97, 40, 2) + outcomes(0.92, 20, 30)
    raised = calibrate_cell(CELL, CURRENT, mixed, target).proposed
    assert raised is not None and raised.ai_min == 0.95


def test_evidence_that_all_met_the_target_never_raises_a_threshold_into_the_unknown() -> None:
    target = QualityTarget(min_resolution_rate=0.8, min_samples=30, evidence_z=0.0)
    cell = calibrate_cell(CELL, CURRENT, outcomes(0.88, 40, 0), target)
    assert cell.proposed is not None
    assert (cell.proposed.ai_min, cell.proposed.monitored_min) == (0.85, CURRENT.monitored_min)
    above = calibrate_cell(CELL, CURRENT, outcomes(0.97, 40, 0), target)
    assert above.proposed is None


def test_few_samples_change_nothing() -> None:
    target = QualityTarget(min_samples=30)
    cell = calibrate_cell(CELL, CURRENT, outcomes(0.8, 29, 0), target)
    assert cell.proposed is None
    assert "no change" in cell.reasons[0]


def test_escalations_because_no_ai_could_answer_are_not_evidence() -> None:
    target = QualityTarget(min_resolution_rate=0.8, min_samples=30, evidence_z=0.0)
    outage = [sample(0.95, "escalated", escalation_trigger="ai_unavailable")] * 40
    result = calibrate(RoutingConfig(), outcomes(0.95, 40, 0) + outage, target)
    assert result.interactions == 40
    assert not result.changed


def test_csat_below_the_floor_and_repeat_contact_are_not_resolved() -> None:
    target = QualityTarget(csat_floor=3)
    assert not is_resolved(sample(0.9, csat=2), target)
    assert is_resolved(sample(0.9, csat=3), target)
    assert not is_resolved(sample(0.9, repeat_contact=True), target)
    assert not is_resolved(sample(0.9, "escalated"), target)


def test_repeat_contacts_lower_the_resolved_count_of_their_band_and_hold_the_threshold() -> None:
    """Contained interactions whose customers came back are not resolved: the same band that
    earns a lower threshold without returns fails the target with them."""
    target = QualityTarget()
    stayed = [sample(0.87, repeat_contact=False)] * 40
    came_back = [sample(0.87, repeat_contact=True)] * 12 + [sample(0.87, repeat_contact=False)] * 28
    unknown = [sample(0.87)] * 40
    (clean,) = calibrate_cell(CELL, CURRENT, stayed, target).bands
    (returning,) = calibrate_cell(CELL, CURRENT, came_back, target).bands
    (unrecorded,) = calibrate_cell(CELL, CURRENT, unknown, target).bands
    assert (clean.contained, clean.repeat_contacts, clean.resolved) == (40, 0, 40)
    assert (returning.contained, returning.repeat_contacts, returning.resolved) == (40, 12, 28)
    assert (unrecorded.repeat_contacts, unrecorded.resolved) == (None, 40)
    assert calibrate_cell(CELL, CURRENT, stayed, target).proposed.ai_min == 0.85  # type: ignore[union-attr]
    held = calibrate_cell(CELL, CURRENT, came_back, target).proposed
    assert held is not None and held.ai_min == 1.0


def test_calibrate_writes_the_cell_rule_and_leaves_mapped_intents_and_humans_out() -> None:
    config = RoutingConfig(
        version=7, intent_map={"complaint": "human"}, thresholds=[ThresholdRule()]
    )
    target = QualityTarget(min_resolution_rate=0.8, min_samples=30, evidence_z=0.0)
    evidence = outcomes(0.86, 40, 2)
    evidence += [s.model_copy(update={"intent": "complaint"}) for s in outcomes(0.95, 50, 0)]
    evidence += [s.model_copy(update={"route": "human"}) for s in outcomes(0.6, 50, 0)]
    result = calibrate(config, evidence, target)
    assert result.base_version == 7
    assert result.interactions == 92
    assert [(c.intent, c.interactions) for c in result.cells] == [(CELL[0], 42)]
    assert threshold_for(result.config, *CELL).ai_min == 0.85
    assert threshold_for(result.config, "other", "chat", "standard") == ThresholdRule()
    assert result.changed


@settings(max_examples=200, deadline=None)
@given(samples_st, targets_st)
def test_a_proposed_threshold_is_never_below_the_target_on_the_evidence(
    evidence: list[OutcomeSample], target: QualityTarget
) -> None:
    cell = calibrate_cell(CELL, CURRENT, evidence, target)
    if cell.proposed is None:
        return
    assert cell.proposed.monitored_min <= cell.proposed.ai_min
    for value, old, rate in (
        (cell.proposed.ai_min, CURRENT.ai_min, target.min_resolution_rate),
        (cell.proposed.monitored_min, CURRENT.monitored_min, target.min_monitored_resolution_rate),
    ):
        if value == old:
            continue
        above = [s for s in evidence if s.confidence >= value]
        if value < 1.0:
            assert len(above) >= target.min_samples
            resolved = sum(is_resolved(s, target) for s in above)
            assert resolved / len(above) >= rate - 1e-9


@settings(max_examples=200, deadline=None)
@given(samples_st, targets_st)
def test_fewer_samples_than_the_minimum_change_nothing(
    evidence: list[OutcomeSample], target: QualityTarget
) -> None:
    few = evidence[: target.min_samples - 1]
    assert calibrate_cell(CELL, CURRENT, few, target).proposed is None


@settings(max_examples=200, deadline=None)
@given(samples_st, targets_st, st.floats(min_value=0.0, max_value=0.3))
def test_a_stricter_target_never_lowers_a_threshold(
    evidence: list[OutcomeSample], target: QualityTarget, stricter_by: float
) -> None:
    strict = target.model_copy(
        update={"min_resolution_rate": min(1.0, target.min_resolution_rate + stricter_by)}
    )
    loose_rule = calibrate_cell(CELL, CURRENT, evidence, target).proposed or CURRENT
    strict_rule = calibrate_cell(CELL, CURRENT, evidence, strict).proposed or CURRENT
    assert strict_rule.ai_min >= loose_rule.ai_min


@settings(max_examples=200, deadline=None)
@given(samples_st, targets_st, st.data())
def test_better_outcomes_never_raise_a_threshold(
    evidence: list[OutcomeSample], target: QualityTarget, data: st.DataObject
) -> None:
    failed = [i for i, s in enumerate(evidence) if not is_resolved(s, target)]
    if not failed:
        return
    index = data.draw(st.sampled_from(failed))
    better = list(evidence)
    better[index] = evidence[index].model_copy(update={"outcome": "contained", "csat": None})
    before = calibrate_cell(CELL, CURRENT, evidence, target).proposed or CURRENT
    after = calibrate_cell(CELL, CURRENT, better, target).proposed or CURRENT
    assert after.ai_min <= before.ai_min
    assert after.monitored_min <= before.monitored_min
