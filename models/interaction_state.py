"""The one state model of a running ``InteractionWorkflow``.

Continue-as-new passes this object to the next run and the ``status`` query renders a view of
it, so everything the workflow knows lives here and nowhere else. Text in it is redacted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.facts import AuditEvent
from models.interaction import (
    Channel,
    EscalationTrigger,
    InteractionInput,
    InteractionState,
    OrchestrationPattern,
    Outcome,
    Reply,
    TranscriptEntry,
)
from models.routing import Classification, RoutingDecision
from models.supervision import HumanOverride, PendingDraft, ReviewRecord
from models.triage import SupervisionPlan

RECENT_REPLIES_KEPT = 50
TRANSCRIPT_KEPT_ON_CONTINUE = 20


class HumanLeg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str | None = None
    transfer_id: str | None = None
    queue_position: int = 0
    estimated_wait_seconds: float = 0.0
    requested_at: str | None = None
    accepted_at: str | None = None
    agent_id: str | None = None
    resolved_at: str | None = None
    callback_offered: bool = False
    buffered: bool = Field(
        default=False, description="Held back by metering until the human queue has room."
    )
    reservation_id: str | None = None
    reservation_released: bool = False
    saved_wait_seconds: float = 0.0


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    ai_calls: int = 0
    ai_failures: int = 0
    ai_latency_ms_total: float = 0.0
    ai_latency_ms_max: float = 0.0


class InteractionCarry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: InteractionInput = Field(description="The input with first_message redacted.")
    run_index: int = 0
    state: InteractionState = InteractionState.ROUTING
    channel: Channel
    started_at: str
    pattern: OrchestrationPattern | None = None
    classification: Classification | None = None
    decision: RoutingDecision | None = None
    ai_started_at: str | None = None
    ai_ended_at: str | None = None
    ai_turns: int = 0
    turns: int = Field(default=0, description="Customer turns over all runs.")
    turns_this_run: int = 0
    last_model_version: str | None = None
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    replies_by_turn: dict[int, Reply] = Field(default_factory=dict)
    turn_by_message_id: dict[str, int] = Field(default_factory=dict)
    decisions: list[dict[str, object]] = Field(default_factory=list)
    channel_switches: list[dict[str, object]] = Field(default_factory=list)
    pending_audit: list[AuditEvent] = Field(default_factory=list)
    audit_seq: int = 0
    escalation_trigger: EscalationTrigger | None = None
    escalation_detail: str = ""
    ai_assessment: str | None = None
    human: HumanLeg = Field(default_factory=HumanLeg)
    usage: Usage = Field(default_factory=Usage)
    last_activity_at: str
    resolved_by_ai: bool = False
    supervision: SupervisionPlan | None = None
    pending_draft: PendingDraft | None = None
    drafts_held: int = 0
    reviews: list[ReviewRecord] = Field(default_factory=list)
    overrides: list[HumanOverride] = Field(default_factory=list)
    supervision_triggers: list[str] = Field(default_factory=list)
    needs_approval: str | None = Field(
        default=None, description="A semi-autonomous trigger asked a human to approve the draft."
    )
    outcome: Outcome | None = None
    close_reason: str | None = None
    csat: int | None = None
