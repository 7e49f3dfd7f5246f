"""Contracts of ``CanaryRolloutWorkflow``: rollout plan, the one state model, signals, and the
events and actions of the pure rollout machine (``warmline.rollout``).

A rollout is steps of canary weight, each with a bake time and a minimum sample; at the end of
each step an analysis (``models.fleet_analysis``) decides advance, promote or roll back.
Everything the workflow knows is ``CanaryState``: continue-as-new carries it and the ``status``
query returns it, so operators, auditors and the history see the same decisions and reasons.
"""

from __future__ import annotations

import itertools
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.boundary import ContinuableInput
from models.fleet import OperatorCommand
from models.fleet_analysis import (
    AnalysisOutcome,
    AnalysisResult,
    AnalysisTemplate,
    CanaryObservation,
)
from models.shadow import ShadowGate


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RolloutStep(_Doc):
    weight_percent: float = Field(gt=0.0, le=100.0, description="Canary share in this step.")
    bake_seconds: float = Field(ge=0.0, description="Minimum time at this weight.")
    min_sample: int = Field(ge=0, description="Canary interactions needed in this step.")


DEFAULT_BAKE_SECONDS = 3600.0
DEFAULT_ROLLOUT_STEPS: tuple[RolloutStep, ...] = (
    RolloutStep(weight_percent=1, bake_seconds=DEFAULT_BAKE_SECONDS, min_sample=20),
    RolloutStep(weight_percent=5, bake_seconds=DEFAULT_BAKE_SECONDS, min_sample=50),
    RolloutStep(weight_percent=25, bake_seconds=DEFAULT_BAKE_SECONDS, min_sample=100),
    RolloutStep(weight_percent=50, bake_seconds=DEFAULT_BAKE_SECONDS, min_sample=200),
    RolloutStep(weight_percent=100, bake_seconds=DEFAULT_BAKE_SECONDS, min_sample=200),
)


class RolloutConfig(_Doc):
    steps: list[RolloutStep] = Field(
        default_factory=lambda: [step.model_copy() for step in DEFAULT_ROLLOUT_STEPS],
        min_length=1,
        description="Canary weights in increasing order (default 1 -> 5 -> 25 -> 50 -> 100 %).",
    )
    poll_seconds: float = Field(default=60.0, gt=0.0, description="Metrics poll interval.")
    settle_seconds: float = Field(
        default=900.0,
        ge=0.0,
        description="Interactions younger than this are left out of the analysis: facts are "
        "written at close, so recent escalated conversations (long) would be missing while "
        "recent contained ones (short) are in, flattering whichever arm had the most recent "
        "traffic. Both arms are compared on cohorts that had time to close.",
    )
    max_step_seconds: float = Field(
        default=86400.0, gt=0.0, description="Pause for an operator if a step's sample is short."
    )
    inconclusive_grace_seconds: float = Field(
        default=3600.0,
        ge=0.0,
        description="Keep collecting this long when the analysis is inconclusive, then pause.",
    )
    analysis: AnalysisTemplate = Field(default_factory=AnalysisTemplate)
    max_polls_per_run: int = Field(
        default=500, ge=1, description="Continue-as-new after this many polls (bounded history)."
    )
    shadow_gate: ShadowGate | None = Field(
        default=None,
        description="Require a passed shadow report on the canary version (its answers while "
        "it ran as shadow) before the first step; failed or inconclusive aborts the rollout "
        "with the canary still at weight 0. None: no shadow report needed.",
    )

    @model_validator(mode="after")
    def _increasing(self) -> RolloutConfig:
        weights = [step.weight_percent for step in self.steps]
        if any(later <= earlier for earlier, later in itertools.pairwise(weights)):
            raise ValueError(f"steps: weights must increase, got {weights}")
        return self


class CanaryPhase(StrEnum):
    PENDING = "pending"
    BAKING = "baking"
    PAUSED = "paused"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


TERMINAL_CANARY_PHASES = frozenset(
    {CanaryPhase.PROMOTED, CanaryPhase.ROLLED_BACK, CanaryPhase.ABORTED}
)


class DecisionKind(StrEnum):
    START = "start"
    ADVANCE = "advance"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    INCONCLUSIVE = "inconclusive"
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    PROMOTE_NOW = "promote_now"


class CanaryDecision(_Doc):
    """One decision of the rollout with its reasons: history, audit and status share it."""

    seq: int
    at: str
    kind: DecisionKind
    step_index: int
    weight_percent: float
    by: str = "canary"
    reasons: list[str] = Field(default_factory=list)
    analysis_outcome: AnalysisOutcome | None = None


class ObservationSummary(_Doc):
    at: str
    step_canary_sample: int
    step_baseline_sample: int
    canary_interactions: int
    baseline_interactions: int
    canary_containment: float | None = None
    baseline_containment: float | None = None


class CanaryState(_Doc):
    """Everything a rollout knows; continue-as-new passes it, ``status`` returns it."""

    agent: str
    canary_version: str
    baseline_versions: list[str] = Field(default_factory=list)
    phase: CanaryPhase = CanaryPhase.PENDING
    step_index: int = 0
    weight_percent: float = 0.0
    started_at: str | None = None
    step_started_at: str | None = None
    window_started_at: str | None = Field(
        default=None, description="Start of the step's wait window (reset on resume)."
    )
    inconclusive_since: str | None = None
    pause_reason: str | None = None
    last_observation: ObservationSummary | None = None
    last_analysis: AnalysisResult | None = None
    analyses: list[AnalysisResult] = Field(
        default_factory=list, description="Analyses that led to a decision, oldest first."
    )
    decisions: list[CanaryDecision] = Field(default_factory=list)
    config_version: int | None = None
    polls: int = 0
    polls_this_run: int = 0
    run_index: int = 0
    finished_at: str | None = None

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_CANARY_PHASES


class CanaryStart(_Doc):
    """What a release manager asks for (``POST /v1/canaries``); who asked comes from the
    credential, never the request."""

    agent: str = Field(min_length=1)
    canary_version: str = Field(min_length=1)
    baseline_versions: list[str] = Field(
        default_factory=list, description="Default: the agent's production versions at start."
    )
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    reason: str = ""


class CanaryRolloutInput(CanaryStart, ContinuableInput[CanaryState]):
    """Workflow input: the request, who asked, and ``state`` (set only by continue-as-new,
    ``models.boundary``)."""

    requested_by: str = Field(default="release-manager", min_length=1)


class PauseRollout(OperatorCommand):
    """Signal ``pause``: hold the current weight; nothing advances or promotes."""


class ResumeRollout(OperatorCommand):
    """Signal ``resume``: continue the current step with a fresh wait window."""


class AbortRollout(OperatorCommand):
    """Signal ``abort``: end the rollout and take the canary out of traffic."""

    leave_weights: bool = Field(
        default=False,
        description="End without touching the registry (a rollback workflow took over).",
    )


class PromoteNow(OperatorCommand):
    """Signal ``promote_now``: skip the remaining steps and promote."""


class CanaryStatus(_Doc):
    """The ``status`` query: the state plus the plan and what the current step waits for."""

    workflow_id: str
    state: CanaryState
    steps: list[RolloutStep]
    waiting_for: str


# -- rollout machine events and actions -----------------------------------------------------


class RolloutStarted(_Doc):
    kind: Literal["started"] = "started"
    at: str
    by: str = "canary"
    notes: list[str] = Field(
        default_factory=list, description="Reasons the start decision also carries (shadow gate)."
    )


class ShadowGateFailed(_Doc):
    """The canary's shadow report did not pass: the rollout ends before its first step."""

    kind: Literal["shadow_gate_failed"] = "shadow_gate_failed"
    at: str
    reasons: list[str]


class MetricsObserved(_Doc):
    kind: Literal["observed"] = "observed"
    at: str
    observation: CanaryObservation


class PauseRequested(_Doc):
    kind: Literal["pause"] = "pause"
    at: str
    by: str
    reason: str = ""


class ResumeRequested(_Doc):
    kind: Literal["resume"] = "resume"
    at: str
    by: str
    reason: str = ""


class AbortRequested(_Doc):
    kind: Literal["abort"] = "abort"
    at: str
    by: str
    reason: str = ""
    leave_weights: bool = False


class PromoteNowRequested(_Doc):
    kind: Literal["promote_now"] = "promote_now"
    at: str
    by: str
    reason: str = ""


class ApplyFailed(_Doc):
    """A weight change was refused (e.g. the canary was retired by hand): pause for a human."""

    kind: Literal["apply_failed"] = "apply_failed"
    at: str
    reason: str


RolloutEvent = Annotated[
    RolloutStarted
    | MetricsObserved
    | PauseRequested
    | ResumeRequested
    | AbortRequested
    | PromoteNowRequested
    | ApplyFailed
    | ShadowGateFailed,
    Field(discriminator="kind"),
]


class SetCanaryWeight(_Doc):
    kind: Literal["set_weight"] = "set_weight"
    step_index: int
    percent: float


class PromoteAction(_Doc):
    kind: Literal["promote"] = "promote"


class RollBackAction(_Doc):
    kind: Literal["roll_back"] = "roll_back"
    reason: str


class RecordDecision(_Doc):
    kind: Literal["record"] = "record"
    decision: CanaryDecision


RolloutAction = Annotated[
    SetCanaryWeight | PromoteAction | RollBackAction | RecordDecision,
    Field(discriminator="kind"),
]


class ObserveCanary(_Doc):
    """Activity input: metrics of canary and baseline since the rollout and the step began."""

    agent: str
    canary_version: str
    baseline_versions: list[str]
    since: str
    step_since: str
    step_index: int
    at: str = Field(description="Workflow time of the poll; facts are timed the same way.")
    until: str = Field(description="Only interactions started before this (at - settle).")
    template: AnalysisTemplate
    looks: int = Field(ge=1, description="Analyses planned (steps); they share alpha.")
