"""Every transition of the canary rollout machine, without Temporal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from models.canary import (
    AbortRequested,
    ApplyFailed,
    CanaryPhase,
    CanaryState,
    DecisionKind,
    MetricsObserved,
    PauseRequested,
    PromoteAction,
    PromoteNowRequested,
    RecordDecision,
    ResumeRequested,
    RollBackAction,
    RolloutConfig,
    RolloutStarted,
    RolloutStep,
    SetCanaryWeight,
)
from models.fleet_analysis import (
    AnalysisOutcome,
    AnalysisResult,
    AnalysisTemplate,
    CanaryMetric,
    CanaryObservation,
    MetricCheck,
    VersionMetrics,
)
from warmline.canary_analysis import analyse
from warmline.rollout import transition, waiting_for

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BAKE = 600.0
CONFIG = RolloutConfig(
    steps=[
        RolloutStep(weight_percent=10, bake_seconds=BAKE, min_sample=5),
        RolloutStep(weight_percent=50, bake_seconds=BAKE, min_sample=5),
        RolloutStep(weight_percent=100, bake_seconds=BAKE, min_sample=5),
    ],
    poll_seconds=60,
    max_step_seconds=3600,
    inconclusive_grace_seconds=1200,
)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def fresh() -> CanaryState:
    return CanaryState(agent="care-bot", canary_version="2", baseline_versions=["1"])


def started(config: RolloutConfig = CONFIG) -> CanaryState:
    state, _ = transition(fresh(), RolloutStarted(at=at(0)), config)
    return state


def analysis(outcome: AnalysisOutcome, step: int = 0) -> AnalysisResult:
    return AnalysisResult(
        outcome=outcome,
        at=at(0),
        step_index=step,
        canary="care-bot:2",
        baseline="care-bot:1",
        looks=3,
        verdicts=[],
        reasons=[f"analysis {outcome.value}"],
    )


def observed(
    seconds: float, sample: int, outcome: AnalysisOutcome, step: int = 0
) -> MetricsObserved:
    return observed_with(seconds, sample, analysis(outcome, step), step)


def observed_with(
    seconds: float, sample: int, result: AnalysisResult, step: int = 0
) -> MetricsObserved:
    metrics = VersionMetrics(endpoint="care-bot:2", interactions=sample, contained=sample)
    return MetricsObserved(
        at=at(seconds),
        observation=CanaryObservation(
            at=at(seconds),
            step_index=step,
            step_canary_sample=sample,
            step_baseline_sample=sample * 9,
            canary=metrics,
            baseline=metrics.model_copy(update={"endpoint": "care-bot:1"}),
            analysis=result,
        ),
    )


def kinds(actions: Sequence[object]) -> list[str]:
    return [getattr(action, "kind", "") for action in actions]


def test_start_sets_the_first_weight_and_records_the_plan() -> None:
    state, actions = transition(fresh(), RolloutStarted(at=at(0), by="rm@example.com"), CONFIG)
    assert state.phase is CanaryPhase.BAKING and state.step_index == 0
    assert state.weight_percent == 10 and state.started_at == at(0)
    assert actions[0] == SetCanaryWeight(step_index=0, percent=10)
    assert isinstance(actions[1], RecordDecision)
    assert actions[1].decision.kind is DecisionKind.START
    assert actions[1].decision.by == "rm@example.com"
    assert "10% -> 50% -> 100%" in actions[1].decision.reasons[0]
    again, none = transition(state, RolloutStarted(at=at(5)), CONFIG)
    assert none == [] and again == state


def test_waits_for_bake_time_and_minimum_sample_before_deciding() -> None:
    state = started()
    for seconds, sample in ((60, 50), (BAKE + 60, 4)):
        state, actions = transition(
            state, observed(seconds, sample, AnalysisOutcome.FAILED), CONFIG
        )
        assert actions == [] and state.phase is CanaryPhase.BAKING
    assert state.last_observation is not None and state.last_observation.step_canary_sample == 4
    assert "sample 4/5" in waiting_for(state, CONFIG, at(BAKE + 60))
    assert "bake 540 s more" in waiting_for(started(), CONFIG, at(60))


def test_a_good_canary_advances_through_every_step_and_is_promoted() -> None:
    state = started()
    weights = []
    clock = 0.0
    for step in range(len(CONFIG.steps)):
        clock += BAKE
        state, actions = transition(
            state, observed(clock, 5, AnalysisOutcome.SUCCESSFUL, step), CONFIG
        )
        weights += [a.percent for a in actions if isinstance(a, SetCanaryWeight)]
    assert weights == [50, 100]
    assert state.phase is CanaryPhase.PROMOTED and state.finished_at == at(clock)
    assert isinstance(actions[0], PromoteAction)
    assert [d.kind for d in state.decisions] == [
        DecisionKind.START,
        DecisionKind.ADVANCE,
        DecisionKind.ADVANCE,
        DecisionKind.PROMOTE,
    ]
    assert len(state.analyses) == 3
    # The bake clock restarts with each step.
    assert state.decisions[1].reasons[0] == "step 1 passed; canary to 50%"


def test_a_failed_analysis_rolls_back_at_once() -> None:
    state, actions = transition(started(), observed(BAKE, 5, AnalysisOutcome.FAILED), CONFIG)
    assert state.phase is CanaryPhase.ROLLED_BACK
    assert kinds(actions) == ["roll_back", "record"]
    assert isinstance(actions[1], RecordDecision)
    assert actions[1].decision.kind is DecisionKind.ROLLBACK
    assert actions[1].decision.analysis_outcome is AnalysisOutcome.FAILED


def test_inconclusive_never_promotes_and_pauses_after_the_grace_period() -> None:
    state = started(CONFIG.model_copy(update={"steps": CONFIG.steps[-1:]}))
    single = CONFIG.model_copy(update={"steps": CONFIG.steps[-1:]})
    state, actions = transition(state, observed(BAKE, 5, AnalysisOutcome.INCONCLUSIVE), single)
    assert state.phase is CanaryPhase.BAKING and state.inconclusive_since == at(BAKE)
    assert isinstance(actions[0], RecordDecision)
    assert actions[0].decision.kind is DecisionKind.INCONCLUSIVE
    state, actions = transition(
        state, observed(BAKE + 600, 8, AnalysisOutcome.INCONCLUSIVE), single
    )
    assert actions == [] and state.phase is CanaryPhase.BAKING
    state, actions = transition(
        state, observed(BAKE + 1200, 9, AnalysisOutcome.INCONCLUSIVE), single
    )
    assert state.phase is CanaryPhase.PAUSED and "still inconclusive" in (state.pause_reason or "")
    assert not any(isinstance(a, PromoteAction) for a in actions)


def test_a_sample_that_never_arrives_pauses_and_resume_gives_a_new_window() -> None:
    state, actions = transition(started(), observed(3600, 2, AnalysisOutcome.SUCCESSFUL), CONFIG)
    assert state.phase is CanaryPhase.PAUSED
    assert state.pause_reason == "step 1: only 2/5 canary interactions after 3600 s"
    state, actions = transition(state, ResumeRequested(at=at(4000), by="ops"), CONFIG)
    assert state.phase is CanaryPhase.BAKING and state.window_started_at == at(4000)
    assert actions[0] == SetCanaryWeight(step_index=0, percent=10)
    state, actions = transition(state, observed(4060, 3, AnalysisOutcome.SUCCESSFUL), CONFIG)
    assert actions == [] and state.phase is CanaryPhase.BAKING


def test_pause_and_resume() -> None:
    state, actions = transition(
        started(), PauseRequested(at=at(10), by="ops", reason="peak"), CONFIG
    )
    assert state.phase is CanaryPhase.PAUSED and kinds(actions) == ["record"]
    assert state.decisions[-1].reasons == ["paused by ops", "peak"]
    same, none = transition(state, PauseRequested(at=at(20), by="ops"), CONFIG)
    assert none == [] and same.phase is CanaryPhase.PAUSED
    # A poll racing the pause changes nothing.
    same, none = transition(state, observed(BAKE, 9, AnalysisOutcome.SUCCESSFUL), CONFIG)
    assert none == [] and same.step_index == 0
    resumed, actions = transition(state, ResumeRequested(at=at(30), by="ops"), CONFIG)
    assert resumed.phase is CanaryPhase.BAKING and kinds(actions) == ["set_weight", "record"]
    _, none = transition(resumed, ResumeRequested(at=at(40), by="ops"), CONFIG)
    assert none == []


@pytest.mark.parametrize("paused_first", [False, True])
def test_abort_rolls_back_unless_told_to_leave_weights(paused_first: bool) -> None:
    state = started()
    if paused_first:
        state, _ = transition(state, PauseRequested(at=at(5), by="ops"), CONFIG)
    aborted, actions = transition(state, AbortRequested(at=at(10), by="ops"), CONFIG)
    assert aborted.phase is CanaryPhase.ABORTED and kinds(actions) == ["roll_back", "record"]
    left, actions = transition(
        state, AbortRequested(at=at(10), by="rollback:x", leave_weights=True), CONFIG
    )
    assert left.phase is CanaryPhase.ABORTED and kinds(actions) == ["record"]


def test_promote_now_skips_the_remaining_steps() -> None:
    state, actions = transition(started(), PromoteNowRequested(at=at(10), by="rm"), CONFIG)
    assert state.phase is CanaryPhase.PROMOTED
    assert kinds(actions) == ["promote", "record"]
    assert state.decisions[-1].kind is DecisionKind.PROMOTE_NOW


def test_finished_rollouts_ignore_everything() -> None:
    done, _ = transition(started(), PromoteNowRequested(at=at(10), by="rm"), CONFIG)
    for event in (
        PauseRequested(at=at(20), by="ops"),
        AbortRequested(at=at(20), by="ops"),
        observed(BAKE, 9, AnalysisOutcome.FAILED),
        ApplyFailed(at=at(20), reason="x"),
    ):
        after, actions = transition(done, event, CONFIG)
        assert actions == [] and after == done


def test_a_refused_weight_change_pauses_for_a_human() -> None:
    state, actions = transition(started(), ApplyFailed(at=at(1), reason="retired"), CONFIG)
    assert state.phase is CanaryPhase.PAUSED and kinds(actions) == ["record"]
    assert state.pause_reason == "weight change refused: retired"


def test_transition_never_modifies_its_input() -> None:
    state = started()
    snapshot = state.model_copy(deep=True)
    transition(state, observed(BAKE, 5, AnalysisOutcome.SUCCESSFUL), CONFIG)
    transition(state, PauseRequested(at=at(1), by="ops"), CONFIG)
    assert state == snapshot


def test_alpha_is_shared_by_every_look() -> None:
    template = CONFIG.analysis
    guardrail = next(c for c in template.checks if c.guardrail)
    soft = next(c for c in template.checks if not c.guardrail)
    assert template.alpha_for(guardrail, 3) == pytest.approx(0.05 / 3)
    assert template.alpha_for(soft, 3) == pytest.approx(0.05 / (3 * 4))


def test_worse_containment_is_rolled_back_at_the_first_step_where_it_is_significant() -> None:
    """Real analysis on growing cumulative samples: small evidence passes, strong fails."""
    template = AnalysisTemplate(
        checks=[
            MetricCheck(
                metric=CanaryMetric.CONTAINMENT_RATE,
                tolerance=0.0,
                guardrail=True,
                required=True,
                min_sample=3,
            )
        ]
    )
    config = CONFIG.model_copy(update={"analysis": template})
    # (canary contained / n, baseline contained / n) cumulative at the end of each step.
    evidence = [((3, 5), (30, 40)), ((6, 20), (60, 80)), ((20, 60), (80, 100))]
    state = started(config)
    clock = 0.0
    for step, ((cx, cn), (bx, bn)) in enumerate(evidence):
        clock += BAKE
        result = analyse(
            VersionMetrics(endpoint="care-bot:2", interactions=cn, contained=cx),
            VersionMetrics(endpoint="care-bot:1", interactions=bn, contained=bx),
            template,
            len(config.steps),
            step_index=step,
            at=at(clock),
        )
        state, actions = transition(state, observed_with(clock, cn, result, step), config)
        if state.phase is CanaryPhase.ROLLED_BACK:
            break
    assert state.phase is CanaryPhase.ROLLED_BACK
    assert [a.outcome for a in state.analyses] == [
        AnalysisOutcome.SUCCESSFUL,
        AnalysisOutcome.FAILED,
    ]
    failed = state.analyses[-1].verdict(CanaryMetric.CONTAINMENT_RATE)
    assert failed is not None and failed.p_value is not None and failed.p_value < failed.alpha
    assert state.step_index == 1 and isinstance(actions[0], RollBackAction)
