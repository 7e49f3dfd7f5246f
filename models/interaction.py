"""Public contract of ``InteractionWorkflow``: what a CCaaS platform sends and receives.

Every model here is JSON on the wire. Fields may be added (with defaults) but never renamed or
removed: running workflows and non-Python clients depend on them. ``warmline schema`` exports
their JSON Schemas.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.text import not_blank

INTERACTION_WORKFLOW = "InteractionWorkflow"
INTERACTION_TASK_QUEUE = "interactions"
INTERACTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
MAX_MESSAGE_CHARS = 20_000
MAX_TURNS_PER_INTERACTION = 1_000
"""Customer turns one interaction takes; later messages are refused (a new interaction)."""
MAX_METADATA_KEYS = 64
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 1_024
JURISDICTION_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,3})?$"
"""``us``, ``uk``, ``eu``, ``us-ca``, ``eu-de``: a code and an optional subdivision."""
MAX_METADATA_INT = 2**53
"""Integers beyond what every JSON client reads exactly (a double's 53 bits) are refused."""


def interaction_workflow_id(interaction_id: str) -> str:
    """The one place the id scheme lives, so clients and workers never disagree."""
    return f"interaction-{interaction_id}"


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    SOCIAL = "social"


class Route(StrEnum):
    """Where the routing engine sends an interaction (the reference's three destinations)."""

    AI = "ai"
    AI_MONITORED = "ai_monitored"
    HUMAN = "human"


class Pool(StrEnum):
    """The three-pool view WFM plans by: how the interaction was finally handled."""

    AI_CONTAINED = "ai_contained"
    AI_ASSISTED = "ai_assisted"
    HUMAN_ONLY = "human_only"


class OrchestrationPattern(StrEnum):
    PRE_ACD = "pre_acd"
    PARALLEL = "parallel"
    POST_CLASSIFICATION = "post_classification"


class InteractionState(StrEnum):
    ROUTING = "routing"
    AI_ACTIVE = "ai_active"
    AWAITING_HUMAN = "awaiting_human"
    WITH_HUMAN = "with_human"
    CLOSED = "closed"


class Outcome(StrEnum):
    CONTAINED = "contained"
    ESCALATED = "escalated"
    HUMAN_ONLY = "human_only"
    ABANDONED = "abandoned"
    DEFLECTED = "deflected"
    CALLBACK = "callback"
    THROTTLED = "throttled"
    """An abuse limit answered ``throttled`` at the start: try again after the retry-after."""
    REFUSED = "refused"
    """An abuse limit refused the start or a turn (a flood, a scripted repeat)."""


class EscalationTrigger(StrEnum):
    SENTIMENT = "sentiment"
    MAX_TURNS = "max_turns"
    OUT_OF_SCOPE = "out_of_scope"
    EXPLICIT_REQUEST = "explicit_request"
    AI_REQUESTED = "ai_requested"
    AI_UNAVAILABLE = "ai_unavailable"
    CHANNEL_SWITCH = "channel_switch"
    ROUTED_TO_HUMAN = "routed_to_human"
    SUPERVISOR_REJECTED = "supervisor_rejected"
    REVIEW_TIMEOUT = "review_timeout"
    SUPERVISION_TRIGGER = "supervision_trigger"
    SAFETY_POLICY = "safety_policy"
    """The safety policy handed a flagged message (prompt injection) or AI reply to a human."""
    TOPIC_SHIFT = "topic_shift"
    """A later turn's topic has no AI agent, or the AI-to-AI hand-off limit is reached."""


class Sender(StrEnum):
    CUSTOMER = "customer"
    AI = "ai"
    HUMAN = "human"
    SYSTEM = "system"


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class Customer(_Contract):
    id: str = Field(min_length=1, max_length=128, description="CRM / CCaaS customer id.")
    segment: str = Field(
        default="standard",
        min_length=1,
        max_length=64,
        description="Customer segment, e.g. standard, premium, vulnerable; a routing matrix axis.",
    )
    language: str = Field(default="en", min_length=2, max_length=16, description="BCP 47 tag.")
    region: str = Field(
        default="us", min_length=2, max_length=16, description="Data-residency region."
    )
    jurisdiction: str | None = Field(
        default=None,
        pattern=JURISDICTION_PATTERN,
        description="Legal jurisdiction whose duties apply (disclosures, right to a human, "
        "consent before a callback): a country or region code, optionally with a subdivision, "
        "e.g. us-ca, eu-de, uk. Default: the residency region.",
    )

    @field_validator("jurisdiction")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None

    @property
    def legal_jurisdiction(self) -> str:
        """Whose law applies: the jurisdiction named, else the residency region."""
        return (self.jurisdiction or self.region).lower()


class UpstreamIntent(_Contract):
    """Set by an IVR or upstream classifier (post-classification pattern)."""

    intent: str = Field(min_length=1, max_length=64)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class InteractionInput(_Contract):
    interaction_id: str = Field(
        pattern=INTERACTION_ID_PATTERN,
        description="Unique per interaction; the workflow id is interaction-<interaction_id>.",
    )
    channel: Channel = Field(description="Channel the customer started on: voice, chat, ...")
    customer: Customer = Field(description="Who the customer is; segment is a routing axis.")
    first_message: str = Field(
        min_length=1, max_length=MAX_MESSAGE_CHARS, description="The customer's opening words."
    )
    metadata: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Free-form CCaaS context (queue, entry point, priority, order id...). "
        "Redacted before it is stored. `entry_point` selects the orchestration pattern; "
        "`priority` (0 low .. 9 high) is used when humans are scarce.",
    )
    upstream_intent: UpstreamIntent | None = Field(
        default=None, description="Intent already known upstream (post-classification pattern)."
    )

    _first_message_not_blank = field_validator("first_message")(not_blank)

    @field_validator("metadata")
    @classmethod
    def _bounded(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        """Metadata travels in every run's carried state and every hand-over: bounded, so a
        client cannot push the state past Temporal's payload limit. Values are scalars (one
        level deep, enforced by the type)."""
        if len(value) > MAX_METADATA_KEYS:
            raise ValueError(f"at most {MAX_METADATA_KEYS} keys, got {len(value)}")
        for key, item in value.items():
            if not key or len(key) > MAX_METADATA_KEY_CHARS:
                raise ValueError(f"keys are 1 to {MAX_METADATA_KEY_CHARS} characters")
            if isinstance(item, str) and len(item) > MAX_METADATA_VALUE_CHARS:
                raise ValueError(f"string values are at most {MAX_METADATA_VALUE_CHARS} characters")
            if isinstance(item, int) and not -MAX_METADATA_INT <= item <= MAX_METADATA_INT:
                raise ValueError("integer values are at most 2**53 in magnitude")
        return value

    @property
    def entry_point(self) -> str:
        return str(self.metadata.get("entry_point", "default"))


class CustomerMessage(_Contract):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Client's id for this turn; a repeated id returns the earlier reply (the "
        "same text only: other text under a used id is refused).",
    )

    _text_not_blank = field_validator("text")(not_blank)


class Reply(_Contract):
    turn: int = Field(description="1-based customer turn this reply answers.")
    sender: Sender
    text: str
    kind: str = Field(
        default="answer",
        description="answer | hold_notice | handover_notice | closing | delivered_to_human | "
        "not_delivered (the ACD did not take a message for the agent: say it again) | "
        "consent_request (a callback needs the customer's yes: the next message answers)",
    )
    message_id: str | None = None
    model_version: str | None = None


class AwaitReply(_Contract):
    turn: int = Field(
        default=1,
        ge=1,
        le=MAX_TURNS_PER_INTERACTION,
        description="Customer turn whose reply to wait for: one already taken or queued, or the "
        "next one; a turn further ahead is refused (it could never come).",
    )


class RequestHuman(_Contract):
    reason: str = Field(default="customer asked for a human", max_length=500)


class SwitchChannel(_Contract):
    channel: Channel
    reason: str = Field(default="customer switched channel", max_length=500)


class HumanAccepted(_Contract):
    agent_id: str = Field(min_length=1, max_length=128)
    transfer_id: str | None = Field(default=None, max_length=128)


class HumanResolved(_Contract):
    agent_id: str = Field(min_length=1, max_length=128)
    resolution: str = Field(default="resolved", max_length=500)
    csat: int | None = Field(default=None, ge=1, le=5)


class EndInteraction(_Contract):
    reason: str = Field(default="customer_ended", max_length=200)
    csat: int | None = Field(default=None, ge=1, le=5)


class TranscriptEntry(_Contract):
    turn: int
    sender: Sender
    text: str = Field(description="Redacted text; raw customer text never enters history.")
    at: str = Field(description="ISO-8601 time of the entry (workflow time).")


class InteractionResult(_Contract):
    interaction_id: str
    outcome: Outcome
    pool: Pool
    intent: str
    channel: Channel
    turns: int
    escalation_trigger: EscalationTrigger | None = None
    model_version: str | None = None
    handle_seconds: dict[str, float] = Field(
        default_factory=dict, description="Segments: ai, queue, human, total."
    )
    cost_usd: float = 0.0
    tokens: int = 0
    csat: int | None = None
    close_reason: str | None = Field(
        default=None, description="Why it ended (redacted), e.g. the abuse limit that refused it."
    )


class StatusView(_Contract):
    """What the ``status`` query returns: enough for an auditor or an agent desktop."""

    interaction_id: str
    state: InteractionState
    channel: Channel
    pool: Pool | None
    pattern: OrchestrationPattern | None
    intent: str | None
    confidence: float | None
    transcript: list[TranscriptEntry]
    decisions: list[dict[str, Any]]
    channel_switches: list[dict[str, Any]]
    escalation_trigger: EscalationTrigger | None
    run_count: int
    turns: int
    supervision_mode: str | None = None
    pending_draft: dict[str, Any] | None = Field(
        default=None, description="The AI draft held for a supervisor, if any (redacted)."
    )
    ignored: list[str] = Field(
        default_factory=list,
        description="Recent inputs the interaction dropped and why (e.g. a signal that did not "
        "decode); each is also on the audit trail.",
    )
    intents_seen: list[str] = Field(
        default_factory=list, description="Every intent of the conversation, in order."
    )
    handoffs: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Topic shifts that moved the conversation: AI-to-AI hand-offs with their "
        "reasons, re-routes, and the shift that went to a human.",
    )
    compliance: dict[str, Any] | None = Field(
        default=None,
        description="The regulatory duties of the customer's jurisdiction and channel "
        "(obligations with their legal basis and policy version), the notices given, the "
        "consents recorded (question, answer, time, message id) and a question pending.",
    )


class ChannelSwitched(_Contract):
    """Answer of ``switch_channel``: where the interaction goes now and why."""

    channel: Channel
    previous_channel: Channel
    route: Route
    reasons: list[str]
