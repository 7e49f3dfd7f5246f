"""Contracts of routing that learns from outcomes: what happened to AI-routed interactions, the
quality target, and the proposal (a routing config version waiting for a human's approval).

``RoutingCalibrationWorkflow`` (scheduled) reads the facts, ``warmline.calibration`` and
``warmline.capability`` turn them into evidence and a proposed config, and the store keeps the
proposal until an operator approves it (it is then saved through the audited routing config
path) or rejects it. The evidence travels with the proposal, so whoever approves sees why.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.routing import RoutingConfig, ThresholdRule

CALIBRATION_TASK_QUEUE = "learning"
CALIBRATION_WORKFLOW = "RoutingCalibrationWorkflow"
CALIBRATION_SCHEDULE_ID = "warmline-routing-calibration"
PROPOSAL_AUTHOR = "calibration"
"""The author of proposals (the approver is the author of the saved config version)."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutcomeSample(_Doc):
    """One AI-routed interaction as calibration sees it (from ``InteractionFacts``)."""

    intent: str
    channel: str
    segment: str
    confidence: float = Field(ge=0.0, le=1.0)
    route: str = Field(description="ai | ai_monitored: the route routing chose.")
    endpoint: str | None = Field(default=None, description="name:version that answered.")
    outcome: str = Field(description="contained | escalated | abandoned | ...")
    escalation_trigger: str | None = Field(
        default=None, description="Why it escalated (ai_unavailable is not the AI's doing)."
    )
    csat: int | None = None
    repeat_contact: bool | None = Field(
        default=None,
        description="The same customer started another interaction within the target's "
        "repeat window; None: not known (no customer key, or the window is still open).",
    )


class QualityTarget(_Doc):
    """What an AI-routed interaction must achieve, and how much evidence a change needs."""

    min_resolution_rate: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="Unmonitored AI (ai_min): share of interactions resolved (contained, no "
        "repeat contact, CSAT not below csat_floor) above the proposed threshold.",
    )
    min_monitored_resolution_rate: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="AI under oversight (monitored_min): the same, for the monitored band.",
    )
    csat_floor: int = Field(default=3, ge=1, le=5, description="A CSAT below this is a failure.")
    min_samples: int = Field(
        default=30, ge=1, description="Interactions at or above a threshold needed to move it."
    )
    band_width: float = Field(
        default=0.05, gt=0.0, le=0.5, description="Width of the confidence bands reported."
    )
    evidence_z: float = Field(
        default=1.0,
        ge=0.0,
        le=4.0,
        description="A threshold is accepted when the Wilson lower bound (this many standard "
        "errors) of the resolution rate above it meets the target; 0: the observed rate.",
    )
    prior_strength: float = Field(
        default=20.0,
        gt=0.0,
        description="Capability scores: the configured value counts as this many interactions.",
    )
    min_capability_change: float = Field(
        default=0.02, ge=0.0, le=1.0, description="Smaller estimated moves are not proposed."
    )
    lookback_days: float = Field(default=30.0, gt=0.0, description="Facts this recent are used.")
    repeat_window_hours: float = Field(
        default=72.0,
        gt=0.0,
        le=24.0 * 90,
        description="Repeat contact: the same customer starting another interaction this soon "
        "after one started means it was not resolved; until the window has passed, unknown.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> QualityTarget:
        if self.min_monitored_resolution_rate > self.min_resolution_rate:
            raise ValueError("min_monitored_resolution_rate must not exceed min_resolution_rate")
        return self


class BandEvidence(_Doc):
    """What happened to the AI-routed interactions of one confidence band of one cell."""

    low: float = Field(description="Band covers low <= confidence < high (the last includes 1).")
    high: float
    interactions: int
    contained: int
    escalated: int
    abandoned: int
    resolved: int = Field(description="Contained, no repeat contact, CSAT not below the floor.")
    csat_count: int = 0
    csat_mean: float | None = None
    repeat_contacts: int | None = Field(
        default=None,
        description="Customers who came back within the repeat window; None: not known for "
        "any interaction of the band (no customer key, or the window still open).",
    )


class CellEvidence(_Doc):
    """One cell of the confidence matrix (intent x channel x segment): evidence and proposal."""

    intent: str
    channel: str
    segment: str
    current: ThresholdRule = Field(description="The rule routing applies to this cell today.")
    proposed: ThresholdRule | None = Field(default=None, description="None: no change.")
    interactions: int
    bands: list[BandEvidence] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class CapabilityEstimate(_Doc):
    """An AI endpoint's resolution probability for one intent: configured and estimated."""

    endpoint: str = Field(description="name:version")
    intent: str
    configured: float = Field(description="The prior: the configured capability for the intent.")
    estimated: float = Field(description="Posterior mean, shrunk toward the configured prior.")
    interactions: int
    resolved: int
    proposed: bool = Field(description="Moved enough to be part of the proposal.")


class ProposalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    """A newer proposal replaced it before anyone decided."""


class CalibrationResult(_Doc):
    """What the pure calibration made of the evidence (no ids, no times: those are the store's)."""

    base_version: int
    target: QualityTarget
    interactions: int = Field(description="AI-routed interactions considered.")
    cells: list[CellEvidence] = Field(default_factory=list)
    capabilities: list[CapabilityEstimate] = Field(default_factory=list)
    config: RoutingConfig = Field(description="The proposed routing config document.")
    changes: list[str] = Field(default_factory=list, description="One line per change.")

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class RoutingProposal(_Doc):
    """A proposed routing config version with its evidence, as stored and shown."""

    id: int
    status: ProposalStatus
    created_at: str
    created_by: str = PROPOSAL_AUTHOR
    result: CalibrationResult
    decided_by: str | None = None
    decided_at: str | None = None
    note: str | None = Field(default=None, description="The approver's or rejecter's words.")
    applied_version: int | None = Field(
        default=None, description="The routing config version approval stored."
    )


class ProposalSummary(_Doc):
    id: int
    status: ProposalStatus
    created_at: str
    base_version: int
    interactions: int
    changes: int
    decided_by: str | None = None
    applied_version: int | None = None


class ProposalDecision(_Doc):
    """``POST /v1/routing-proposals/{id}/approve|reject``: the decider's note (audited)."""

    note: str = Field(default="", max_length=500)


class CalibrationRunInput(_Doc):
    """Input of one scheduled calibration run; ``target`` None uses the stored defaults."""

    target: QualityTarget | None = None


class CalibrationRequest(_Doc):
    """The activity's input: workflow time (recorded once) and the run id (idempotency key)."""

    now: str
    key: str
    target: QualityTarget


class CalibrationRunResult(_Doc):
    proposal_id: int | None = Field(default=None, description="None: nothing to propose.")
    interactions: int
    changes: list[str] = Field(default_factory=list)
