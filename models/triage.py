"""Activity contracts for the interaction's decision steps (pattern, classify + route)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.compliance import ComplianceState
from models.facts import ArchiveTranscript, AuditEvent
from models.interaction import Channel, OrchestrationPattern, UpstreamIntent
from models.routing import Classification, RoutingDecision
from models.supervision import SemiAutonomousTriggers, SupervisionMode


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatternRequest(_Msg):
    entry_point: str
    has_upstream_intent: bool


class PatternChoice(_Msg):
    pattern: OrchestrationPattern
    reason: str
    config_version: int


class TriageRequest(_Msg):
    interaction_id: str
    text: str = Field(description="Redacted customer text.")
    channel: Channel
    segment: str
    language: str
    region: str | None = Field(default=None, description="Customer region (residency).")
    jurisdiction: str | None = Field(
        default=None, description="Legal jurisdiction whose duties apply (None: not asked)."
    )
    entry_point: str
    pattern: OrchestrationPattern
    upstream_intent: UpstreamIntent | None = None
    classification: Classification | None = Field(
        default=None, description="Reuse (channel switch): skip classification."
    )
    turn: int | None = Field(
        default=None, description="A later customer turn classified again (None: the opening)."
    )


class SupervisionPlan(_Msg):
    """How much a human oversees this interaction's AI, fixed at routing time."""

    mode: SupervisionMode
    reason: str
    policy_version: int
    triggers: SemiAutonomousTriggers
    review_deadline_seconds: float
    qa_sample_rate: float


class TriageResult(_Msg):
    classification: Classification
    decision: RoutingDecision
    supervision: SupervisionPlan | None = Field(default=None, description="None: human route.")
    classify_ms: float = 0.0
    compliance: ComplianceState | None = Field(
        default=None,
        description="The regulatory duties resolved for the request's jurisdiction and channel "
        "(None: the request named no jurisdiction, or the result predates them).",
    )


class FlushRun(_Msg):
    """Before continue-as-new: old turns and pending audit events leave history for the store."""

    archive: ArchiveTranscript
    audit: list[AuditEvent] = Field(default_factory=list)
