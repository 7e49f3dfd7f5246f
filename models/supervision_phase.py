"""Contracts of ``SupervisionPhaseWorkflow``: an intent's road pilot -> scaling -> maturity.

The analysis is data (``PhaseCriteria``), the verdict carries its reasons, and all of a phase
workflow's state is one ``SupervisionPhaseState`` that continue-as-new carries and the
``status`` query shows. Each move becomes a new ``SupervisionPolicy`` version and a
``wfm-events`` entry with its staffing impact.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.boundary import ContinuableInput
from models.supervision import ANY, SupervisionMode

SUPERVISION_TASK_QUEUE = "supervision"
SUPERVISION_PHASE_WORKFLOW = "SupervisionPhaseWorkflow"
WFM_EVENTS_STREAM = "wfm-events"
"""Audit stream the WFM platform reads: every phase move with its staffing impact."""
SIGN_OFF_SIGNAL = "sign_off"
NEW_MODEL_VERSION_SIGNAL = "new_model_version"
_ID_PART = re.compile(r"[^a-z0-9._-]+")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _id_part(value: str) -> str:
    """A workflow-id-safe spelling of an intent or channel (lower case, no spaces)."""
    return _ID_PART.sub("-", value.strip().lower()).strip("-") or "none"


def supervision_phase_workflow_id(intent: str, channel: str | None = None) -> str:
    """The one place the id scheme lives: one phase workflow per intent (or intent x channel)."""
    suffix = f"-{_id_part(channel)}" if channel and channel != ANY else ""
    return f"supervision-phase-{_id_part(intent)}{suffix}"


def supervision_phase_stream(intent: str, channel: str | None = None) -> str:
    """Audit stream of one phase workflow's proposals, sign-offs, lapses and moves."""
    return supervision_phase_workflow_id(intent, channel)


class Phase(StrEnum):
    PILOT = "pilot"
    SCALING = "scaling"
    MATURITY = "maturity"


PHASE_ORDER = (Phase.PILOT, Phase.SCALING, Phase.MATURITY)
PHASE_MODE = {
    Phase.PILOT: SupervisionMode.FULLY_SUPERVISED,
    Phase.SCALING: SupervisionMode.SEMI_AUTONOMOUS,
    Phase.MATURITY: SupervisionMode.FULLY_AUTONOMOUS,
}


class PhaseEvidence(_Doc):
    """What the store says about an intent's AI since it entered its phase.

    Rates are over the recent window (``window_days``), volumes since the phase began; a rate
    is None when there was nothing to measure, which never counts as meeting a threshold.
    """

    days_in_phase: float = Field(ge=0)
    volume: int = Field(ge=0, description="AI-routed interactions since the phase began.")
    window_days: float = Field(default=0.0, ge=0)
    window_volume: int = Field(default=0, ge=0)
    reviewed_drafts: int = Field(default=0, ge=0)
    draft_approval_rate: float | None = Field(default=None, ge=0, le=1)
    containment_rate: float | None = Field(default=None, ge=0, le=1)
    csat_delta: float | None = Field(default=None, description="AI CSAT minus human CSAT.")
    qa_samples: int = Field(default=0, ge=0)
    qa_resolution_accuracy: float | None = Field(default=None, ge=0, le=1)
    mean_handle_seconds: float | None = Field(default=None, ge=0)
    supervised_share: float | None = Field(
        default=None, ge=0, le=1, description="Share of interactions that needed a supervisor."
    )


class PromotionCriteria(_Doc):
    """All must hold to propose a promotion; ``None`` leaves a metric out."""

    min_days: float = Field(ge=0)
    min_volume: int = Field(ge=0)
    min_reviewed_drafts: int = Field(default=0, ge=0)
    min_draft_approval_rate: float | None = Field(default=None, ge=0, le=1)
    min_containment_rate: float | None = Field(default=None, ge=0, le=1)
    min_csat_delta: float | None = None
    min_qa_samples: int = Field(default=0, ge=0)
    min_qa_resolution_accuracy: float | None = Field(default=None, ge=0, le=1)


class RegressionCriteria(_Doc):
    """Any one breached (with enough recent volume to trust it) demotes one phase."""

    min_window_volume: int = Field(default=50, ge=1, description="Below this, no judgment.")
    draft_approval_rate_below: float | None = Field(default=None, ge=0, le=1)
    containment_rate_below: float | None = Field(default=None, ge=0, le=1)
    csat_delta_below: float | None = None
    min_qa_samples: int = Field(default=20, ge=0)
    qa_resolution_accuracy_below: float | None = Field(default=None, ge=0, le=1)


class PhaseCriteria(_Doc):
    """Analysis as data: the gates of each promotion and the tripwires of each demotion.

    Defaults follow the usual maturity path (pilot about three months, scaling until about a
    year); tests and fast-moving intents pass their own.
    """

    to_scaling: PromotionCriteria = Field(
        default_factory=lambda: PromotionCriteria(
            min_days=90,
            min_volume=500,
            min_reviewed_drafts=300,
            min_draft_approval_rate=0.9,
            min_containment_rate=0.6,
            min_csat_delta=-0.2,
        )
    )
    to_maturity: PromotionCriteria = Field(
        default_factory=lambda: PromotionCriteria(
            min_days=270,
            min_volume=5000,
            min_containment_rate=0.75,
            min_csat_delta=-0.1,
            min_qa_samples=100,
            min_qa_resolution_accuracy=0.95,
        )
    )
    scaling_regression: RegressionCriteria = Field(
        default_factory=lambda: RegressionCriteria(
            draft_approval_rate_below=0.8, containment_rate_below=0.5, csat_delta_below=-0.5
        )
    )
    maturity_regression: RegressionCriteria = Field(
        default_factory=lambda: RegressionCriteria(
            containment_rate_below=0.65,
            csat_delta_below=-0.3,
            qa_resolution_accuracy_below=0.9,
        )
    )
    window_days: float = Field(
        default=14.0, gt=0, description="Recent window the rates are measured over."
    )


class VerdictAction(StrEnum):
    PROMOTE_READY = "promote_ready"
    HOLD = "hold"
    DEMOTE = "demote"


class PhaseVerdict(_Doc):
    action: VerdictAction
    phase: Phase = Field(description="Phase the verdict was made in.")
    target: Phase | None = Field(default=None, description="Phase to move to, if any.")
    reasons: list[str] = Field(default_factory=list)


class StaffingImpact(_Doc):
    """How a phase move changes the supervision queue WFM must staff."""

    volume_per_hour: float
    mean_handle_seconds: float
    supervisor_cap: int
    supervised_share_before: float
    supervised_share_after: float
    supervisors_before: int
    supervisors_after: int
    reasons: list[str] = Field(default_factory=list)


class MoveKind(StrEnum):
    START = "start"
    PROMOTION = "promotion"
    DEMOTION = "demotion"
    RESET = "reset"


class PhaseProposal(_Doc):
    """A promotion waiting for a human sign-off until ``deadline``."""

    proposal_id: str
    target: Phase
    proposed_at: datetime
    deadline: datetime
    reasons: list[str]


class PhaseHistoryEntry(_Doc):
    at: datetime
    kind: str = Field(description="start | proposal | sign_off | refusal | lapse | move ...")
    actor: str = "warmline"
    phase: Phase
    target: Phase | None = None
    reasons: list[str] = Field(default_factory=list)


class SignOffDecision(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


class SignOffAnswer(_Doc):
    """A sign-off as asked through the API: the answer only; the approver is the caller."""

    decision: SignOffDecision
    reason: str = Field(default="", max_length=500)
    proposal_id: str | None = Field(
        default=None, description="The proposal answered; None answers the pending one."
    )


class SignOff(SignOffAnswer):
    """Payload of the ``sign_off`` signal: a human's answer to the pending promotion."""

    approver: str = Field(min_length=1, max_length=128)


class NewModelVersion(_Doc):
    """Payload of ``new_model_version``: the intent's AI changed, so it starts in pilot again."""

    version: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="new model version", max_length=500)


HISTORY_KEPT = 20
"""History entries kept in the state (all of them are in the audit stream)."""


class SupervisionPhaseState(_Doc):
    """All of a phase workflow's state: what continue-as-new carries and ``status`` shows."""

    intent: str = Field(min_length=1, max_length=64)
    channel: str | None = Field(default=None, max_length=16)
    phase: Phase = Phase.PILOT
    entered_at: datetime | None = Field(default=None, description="When the phase began.")
    model_version: str | None = None
    criteria: PhaseCriteria = Field(default_factory=PhaseCriteria)
    evaluation_interval_seconds: float = Field(default=86_400.0, ge=1)
    sign_off_deadline_seconds: float = Field(default=7 * 86_400.0, ge=1)
    max_evaluations_per_run: int = Field(default=100, ge=1)
    pending: PhaseProposal | None = None
    last_evidence: PhaseEvidence | None = None
    last_verdict: PhaseVerdict | None = None
    last_evaluated_at: datetime | None = None
    policy_version: int | None = Field(default=None, description="Last version this wrote.")
    last_staffing: StaffingImpact | None = None
    moves: int = Field(default=0, description="Moves made, START included (keys the writes).")
    audit_seq: int = Field(default=0, description="Last seq written to the phase stream.")
    evaluations: int = 0
    run_index: int = 0
    history: list[PhaseHistoryEntry] = Field(default_factory=list)

    @property
    def mode(self) -> SupervisionMode:
        return PHASE_MODE[self.phase]

    @property
    def cell_channel(self) -> str:
        return self.channel or ANY


class PhaseStart(_Doc):
    """Start a phase workflow for one intent (or intent x channel): ``POST
    /v1/supervision/phases``."""

    intent: str = Field(min_length=1, max_length=64)
    channel: str | None = Field(default=None, max_length=16)
    model_version: str | None = None
    criteria: PhaseCriteria = Field(default_factory=PhaseCriteria)
    evaluation_interval_seconds: float = Field(default=86_400.0, ge=1)
    sign_off_deadline_seconds: float = Field(default=7 * 86_400.0, ge=1)
    max_evaluations_per_run: int = Field(default=100, ge=1)


class SupervisionPhaseInput(PhaseStart, ContinuableInput[SupervisionPhaseState]):
    """Workflow input: a start, or a continued run carrying its ``state``
    (``models.boundary.ContinuableInput``)."""

    def initial_state(self) -> SupervisionPhaseState:
        return SupervisionPhaseState(
            intent=self.intent,
            channel=self.channel,
            model_version=self.model_version,
            criteria=self.criteria,
            evaluation_interval_seconds=self.evaluation_interval_seconds,
            sign_off_deadline_seconds=self.sign_off_deadline_seconds,
            max_evaluations_per_run=self.max_evaluations_per_run,
        )


class EvidenceRequest(_Doc):
    intent: str
    channel: str | None = None
    model_version: str | None = None
    phase_started_at: datetime
    now: datetime
    window_days: float = Field(gt=0)


class PhaseMoveRequest(_Doc):
    """Write one move: a new policy version, a WFM event and an audit entry, idempotently."""

    move_key: str = Field(description="Workflow id + move number: a retry writes nothing new.")
    kind: MoveKind
    intent: str
    channel: str | None = None
    from_phase: Phase | None
    to_phase: Phase
    actor: str
    at: datetime
    reasons: list[str]
    evidence: PhaseEvidence | None = None
    audit_stream: str
    audit_seq: int = Field(ge=1)


class PhaseMoveResult(_Doc):
    policy_version: int
    staffing: StaffingImpact
    written: bool = Field(description="False when a retry found the move already stored.")


class PhaseEventRecord(_Doc):
    """A proposal, sign-off, refusal or lapse on the phase's audit stream."""

    stream: str
    seq: int = Field(ge=1)
    kind: str
    at: datetime
    actor: str = "warmline"
    payload: dict[str, Any] = Field(default_factory=dict)


class SupervisionPhaseStatus(_Doc):
    """What the ``status`` query returns."""

    workflow_id: str
    state: SupervisionPhaseState
    mode: SupervisionMode
