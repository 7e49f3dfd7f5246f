"""The canary rollout as one pure function ``(state, event, config) -> (state, actions)``.

``CanaryRolloutWorkflow`` only feeds events (started, metrics observed, operator signals, a
failed weight change) and performs the actions (set weight, promote, roll back, record a
decision), so every path is tested here without Temporal and replays identically.

Per step: the canary holds the step's weight until the bake time has passed AND the step's
minimum sample has arrived; then the analysis decides. Failed rolls back at once; successful
advances (or promotes after the last step); inconclusive keeps collecting for a grace period
and then pauses for a human, because inconclusive never promotes. A step whose sample never
arrives pauses after ``max_step_seconds``. Operators may pause, resume, abort or promote now.
"""

from __future__ import annotations

from datetime import datetime

from models.canary import (
    AbortRequested,
    ApplyFailed,
    CanaryDecision,
    CanaryPhase,
    CanaryState,
    DecisionKind,
    MetricsObserved,
    ObservationSummary,
    PauseRequested,
    PromoteAction,
    PromoteNowRequested,
    RecordDecision,
    ResumeRequested,
    RollBackAction,
    RolloutAction,
    RolloutConfig,
    RolloutEvent,
    RolloutStarted,
    SetCanaryWeight,
    ShadowGateFailed,
)
from models.fleet_analysis import AnalysisOutcome, AnalysisResult, CanaryObservation

ANALYSES_KEPT = 50
"""Decisive analyses kept in state; older ones stay in history and the audit trail."""

Transition = tuple[CanaryState, list[RolloutAction]]
_OPERATOR_PHASES = frozenset({CanaryPhase.BAKING, CanaryPhase.PAUSED})


def _seconds_between(start: str | None, end: str) -> float:
    if start is None:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _decide(
    state: CanaryState,
    kind: DecisionKind,
    at: str,
    reasons: list[str],
    *,
    by: str = "canary",
    analysis: AnalysisResult | None = None,
) -> RecordDecision:
    """Append a decision to the state and return the action that records it durably."""
    decision = CanaryDecision(
        seq=len(state.decisions) + 1,
        at=at,
        kind=kind,
        step_index=state.step_index,
        weight_percent=state.weight_percent,
        by=by,
        reasons=reasons,
        analysis_outcome=analysis.outcome if analysis else None,
    )
    state.decisions.append(decision)
    if analysis is not None:
        state.analyses = [*state.analyses, analysis][-ANALYSES_KEPT:]
    return RecordDecision(decision=decision)


def waiting_for(state: CanaryState, config: RolloutConfig, now: str) -> str:
    """What the current step still needs, in words (status query, CLI, demo)."""
    if state.phase is CanaryPhase.PAUSED:
        return f"an operator ({state.pause_reason})"
    if state.phase is not CanaryPhase.BAKING:
        return ""
    step = config.steps[state.step_index]
    bake_left = step.bake_seconds - _seconds_between(state.step_started_at, now)
    sample = state.last_observation.step_canary_sample if state.last_observation else 0
    parts = []
    if bake_left > 0:
        parts.append(f"bake {bake_left:.0f} s more")
    if sample < step.min_sample:
        parts.append(f"sample {sample}/{step.min_sample}")
    if state.inconclusive_since is not None:
        parts.append("more data (last analysis inconclusive)")
    return "; ".join(parts) or "analysis"


def _start(state: CanaryState, event: RolloutStarted, config: RolloutConfig) -> Transition:
    if state.phase is not CanaryPhase.PENDING:
        return state, []
    first = config.steps[0]
    state.phase = CanaryPhase.BAKING
    state.started_at = state.step_started_at = state.window_started_at = event.at
    state.step_index, state.weight_percent = 0, first.weight_percent
    plan = " -> ".join(f"{step.weight_percent:g}%" for step in config.steps)
    record = _decide(
        state,
        DecisionKind.START,
        event.at,
        [
            f"canary {state.canary_version} against {', '.join(state.baseline_versions)}; "
            f"steps {plan}",
            f"step 1: {first.weight_percent:g}% for at least {first.bake_seconds:g} s and "
            f"{first.min_sample} canary interactions",
            *event.notes,
        ],
        by=event.by,
    )
    return state, [SetCanaryWeight(step_index=0, percent=first.weight_percent), record]


def _summary(observation: CanaryObservation) -> ObservationSummary:
    return ObservationSummary(
        at=observation.at,
        step_canary_sample=observation.step_canary_sample,
        step_baseline_sample=observation.step_baseline_sample,
        canary_interactions=observation.canary.interactions,
        baseline_interactions=observation.baseline.interactions,
        canary_containment=observation.canary.containment_rate,
        baseline_containment=observation.baseline.containment_rate,
    )


def _pause(state: CanaryState, at: str, reasons: list[str], by: str) -> RecordDecision:
    state.phase = CanaryPhase.PAUSED
    state.pause_reason = reasons[0]
    return _decide(state, DecisionKind.PAUSE, at, reasons, by=by)


def _observed(state: CanaryState, event: MetricsObserved, config: RolloutConfig) -> Transition:
    if state.phase is not CanaryPhase.BAKING:
        return state, []  # a poll that raced a pause or the end: nothing to decide
    observation = event.observation
    state.last_observation = _summary(observation)
    state.last_analysis = observation.analysis
    step = config.steps[state.step_index]
    in_step = _seconds_between(state.step_started_at, event.at)
    in_window = _seconds_between(state.window_started_at, event.at)
    if in_step < step.bake_seconds or observation.step_canary_sample < step.min_sample:
        if in_window < config.max_step_seconds:
            return state, []
        reason = (
            f"step {state.step_index + 1}: only {observation.step_canary_sample}/"
            f"{step.min_sample} canary interactions after {in_window:.0f} s"
        )
        return state, [_pause(state, event.at, [reason], "canary")]
    analysis = observation.analysis
    if analysis.outcome is AnalysisOutcome.FAILED:
        state.phase = CanaryPhase.ROLLED_BACK
        state.finished_at = event.at
        reasons = [f"step {state.step_index + 1} analysis failed", *analysis.reasons]
        record = _decide(state, DecisionKind.ROLLBACK, event.at, reasons, analysis=analysis)
        return state, [RollBackAction(reason=reasons[1]), record]
    if analysis.outcome is AnalysisOutcome.INCONCLUSIVE:
        return _inconclusive(state, event.at, analysis, config)
    state.inconclusive_since = None
    if state.step_index + 1 >= len(config.steps):
        state.phase = CanaryPhase.PROMOTED
        state.finished_at = event.at
        reasons = [f"all {len(config.steps)} steps passed", *analysis.reasons]
        record = _decide(state, DecisionKind.PROMOTE, event.at, reasons, analysis=analysis)
        return state, [PromoteAction(), record]
    passed = state.step_index + 1
    state.step_index += 1
    state.weight_percent = config.steps[state.step_index].weight_percent
    state.step_started_at = state.window_started_at = event.at
    reasons = [
        f"step {passed} passed; canary to {state.weight_percent:g}%",
        *analysis.reasons,
    ]
    record = _decide(state, DecisionKind.ADVANCE, event.at, reasons, analysis=analysis)
    return state, [
        SetCanaryWeight(step_index=state.step_index, percent=state.weight_percent),
        record,
    ]


def _inconclusive(
    state: CanaryState, at: str, analysis: AnalysisResult, config: RolloutConfig
) -> Transition:
    """Keep collecting for the grace period (recorded once), then hand over to a human."""
    if state.inconclusive_since is None:
        state.inconclusive_since = at
        reasons = [
            f"step {state.step_index + 1} inconclusive; collecting up to "
            f"{config.inconclusive_grace_seconds:g} s more",
            *analysis.reasons,
        ]
        return state, [_decide(state, DecisionKind.INCONCLUSIVE, at, reasons, analysis=analysis)]
    if _seconds_between(state.inconclusive_since, at) < config.inconclusive_grace_seconds:
        return state, []
    reasons = [
        f"step {state.step_index + 1} still inconclusive after "
        f"{config.inconclusive_grace_seconds:g} s; an operator decides",
        *analysis.reasons,
    ]
    state.analyses = [*state.analyses, analysis][-ANALYSES_KEPT:]
    return state, [_pause(state, at, reasons, "canary")]


def _operator(state: CanaryState, event: RolloutEvent, config: RolloutConfig) -> Transition:
    match event:
        case PauseRequested(at=at, by=by, reason=reason) if state.phase is CanaryPhase.BAKING:
            return state, [_pause(state, at, [f"paused by {by}", *_also(reason)], by)]
        case ResumeRequested(at=at, by=by, reason=reason) if state.phase is CanaryPhase.PAUSED:
            state.phase = CanaryPhase.BAKING
            state.pause_reason = None
            state.inconclusive_since = None
            state.window_started_at = at
            reasons = [f"resumed by {by} at step {state.step_index + 1}", *_also(reason)]
            record = _decide(state, DecisionKind.RESUME, at, reasons, by=by)
            # Re-assert the step's weight: it may have been refused or changed while paused.
            weight = SetCanaryWeight(step_index=state.step_index, percent=state.weight_percent)
            return state, [weight, record]
        case AbortRequested(at=at, by=by, reason=reason, leave_weights=leave):
            state.phase = CanaryPhase.ABORTED
            state.finished_at = at
            reasons = [f"aborted by {by} at step {state.step_index + 1}", *_also(reason)]
            if leave:
                reasons.append("registry left as is (another workflow took over)")
            record = _decide(state, DecisionKind.ABORT, at, reasons, by=by)
            return state, [record] if leave else [RollBackAction(reason=reasons[0]), record]
        case PromoteNowRequested(at=at, by=by, reason=reason):
            state.phase = CanaryPhase.PROMOTED
            state.finished_at = at
            reasons = [
                f"promoted now by {by} at step {state.step_index + 1} of {len(config.steps)}",
                *_also(reason),
            ]
            record = _decide(state, DecisionKind.PROMOTE_NOW, at, reasons, by=by)
            return state, [PromoteAction(), record]
    return state, []


def _also(reason: str) -> list[str]:
    return [reason] if reason else []


def transition(state: CanaryState, event: RolloutEvent, config: RolloutConfig) -> Transition:
    """The rollout's only state change; the input state is never modified."""
    state = state.model_copy(deep=True)
    if state.terminal:
        return state, []  # finished rollouts ignore late signals and polls
    match event:
        case RolloutStarted():
            return _start(state, event, config)
        case MetricsObserved():
            return _observed(state, event, config)
        case ShadowGateFailed(at=at, reasons=reasons):
            if state.phase is not CanaryPhase.PENDING:
                return state, []
            # Nothing to roll back: the canary never left weight 0.
            state.phase = CanaryPhase.ABORTED
            state.finished_at = at
            return state, [_decide(state, DecisionKind.ABORT, at, reasons, by="shadow-gate")]
        case ApplyFailed(at=at, reason=reason):
            if state.phase is not CanaryPhase.BAKING:
                return state, []
            return state, [_pause(state, at, [f"weight change refused: {reason}"], "canary")]
        case _ if state.phase in _OPERATOR_PHASES:
            return _operator(state, event, config)
    return state, []
