"""Contracts of human oversight: supervision modes, reviews of AI drafts, supervision phases.

How much a human sees of an AI conversation is data, per intent x channel, in a versioned
``SupervisionPolicy`` document (stored beside the routing config, never inside it, so either can
change without rewriting the other). ``SupervisionPhaseWorkflow`` moves an intent through
pilot → scaling → maturity and writes each move as a new policy version; supervisors act on
single drafts through the ``review_response`` signal of ``InteractionWorkflow``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ANY = "*"
REVIEW_RESPONSE_SIGNAL = "review_response"
DEFAULT_SUPERVISOR_CAP = 5
"""Concurrent AI sessions one supervisor watches (the reference's typical range is 3-8)."""
MAX_TEXT_CHARS = 20_000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- supervision modes and their policy ----------------------------------------------------


class SupervisionMode(StrEnum):
    """How much a human sees of an AI conversation, strictest first."""

    FULLY_SUPERVISED = "fully_supervised"
    SEMI_AUTONOMOUS = "semi_autonomous"
    FULLY_AUTONOMOUS = "fully_autonomous"

    @property
    def strictness(self) -> int:
        """2 for fully supervised .. 0 for fully autonomous; overrides only ever tighten."""
        return {"fully_supervised": 2, "semi_autonomous": 1, "fully_autonomous": 0}[self.value]


class ModeRule(_Doc):
    """One cell of the mode table; ``*`` matches anything and the most specific rule wins."""

    intent: str = Field(default=ANY, min_length=1, max_length=64)
    channel: str = Field(default=ANY, min_length=1, max_length=16)
    mode: SupervisionMode

    def specificity(self) -> int:
        return sum(v != ANY for v in (self.intent, self.channel))


class TriggerKind(StrEnum):
    MONETARY_AMOUNT = "monetary_amount"
    SENTIMENT = "sentiment"
    DURATION = "duration"
    FLAGGED_TOPIC = "flagged_topic"


class TriggerAction(StrEnum):
    """What a semi-autonomous trigger asks for: a human's approval of the draft, or the
    conversation itself."""

    APPROVAL = "approval"
    HANDOVER = "handover"


DEFAULT_FLAGGED_TOPICS = [
    "exception",
    "policy override",
    "complaint",
    "legal",
    "chargeback",
    "cancel contract",
]


class SemiAutonomousTriggers(_Doc):
    """When a semi-autonomous AI must stop and ask; ``None`` switches a condition off."""

    monetary_amount_above: float | None = Field(
        default=500.0,
        ge=0,
        description="Amount mentioned (any currency, face value) above which a human approves.",
    )
    sentiment_below: float | None = Field(
        default=-0.3, ge=-1.0, le=1.0, description="Customer sentiment below which a human helps."
    )
    duration_above_seconds: float | None = Field(
        default=900.0, gt=0, description="Interaction length above which a human takes over."
    )
    flagged_topics: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FLAGGED_TOPICS),
        description="Topics needing human judgment (exceptions, policy overrides, complaints).",
    )
    actions: dict[TriggerKind, TriggerAction] = Field(
        default_factory=lambda: {
            TriggerKind.MONETARY_AMOUNT: TriggerAction.APPROVAL,
            TriggerKind.SENTIMENT: TriggerAction.HANDOVER,
            TriggerKind.DURATION: TriggerAction.HANDOVER,
            TriggerKind.FLAGGED_TOPIC: TriggerAction.APPROVAL,
        },
        description="What each trigger asks for; a kind not listed asks for approval.",
    )

    @field_validator("flagged_topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        cleaned = [topic.strip().lower() for topic in value]
        if any(not topic for topic in cleaned):
            raise ValueError("flagged topics must not be blank")
        return cleaned

    def action_for(self, kind: TriggerKind) -> TriggerAction:
        return self.actions.get(kind, TriggerAction.APPROVAL)


class SemiAutonomousTrigger(_Doc):
    """A semi-autonomous condition that fired; ``detail`` is safe for history and audit."""

    kind: TriggerKind
    action: TriggerAction
    detail: str
    value: float | str | None = None
    threshold: float | str | None = None


class SupervisionPolicy(_Doc):
    """The versioned supervision document: which mode per intent x channel and its parameters."""

    version: int = Field(default=0, description="Assigned by the store when saved.")
    author: str = "system"
    created_at: str | None = None
    default_mode: SupervisionMode = Field(
        default=SupervisionMode.FULLY_SUPERVISED,
        description="Mode when no rule matches: a new intent starts supervised.",
    )
    modes: list[ModeRule] = Field(default_factory=list, description="Intent x channel table.")
    monitored_route_mode: SupervisionMode = Field(
        default=SupervisionMode.FULLY_SUPERVISED,
        description="At least this strict when routing says `ai_monitored` (mid confidence).",
    )
    triggers: SemiAutonomousTriggers = Field(default_factory=SemiAutonomousTriggers)
    review_deadline_seconds: float = Field(
        default=300.0, gt=0, description="A held draft without a decision by then escalates."
    )
    qa_sample_rate: float = Field(
        default=0.05, ge=0, le=1, description="Share of fully autonomous interactions QA'd."
    )
    semi_autonomous_qa_sample_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of semi-autonomous interactions QA'd: the accuracy evidence that "
        "promotion to maturity needs.",
    )
    supervisor_concurrent_cap: int = Field(
        default=DEFAULT_SUPERVISOR_CAP,
        ge=3,
        le=8,
        description="Reviews one supervisor may hold at once.",
    )

    @model_validator(mode="after")
    def _unique_cells(self) -> SupervisionPolicy:
        cells = [(rule.intent, rule.channel) for rule in self.modes]
        duplicates = sorted({cell for cell in cells if cells.count(cell) > 1})
        if duplicates:
            raise ValueError(f"modes: duplicate intent/channel cells {duplicates}")
        return self

    def with_mode(self, intent: str, channel: str, mode: SupervisionMode) -> SupervisionPolicy:
        """A copy whose (intent, channel) cell is ``mode`` (added, or replaced in place)."""
        rules = [r for r in self.modes if (r.intent, r.channel) != (intent, channel)]
        rules.append(ModeRule(intent=intent, channel=channel, mode=mode))
        return self.model_copy(update={"modes": rules})


# -- reviews of held drafts ----------------------------------------------------------------


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"


class ReviewResponse(_Doc):
    """Payload of the ``review_response`` signal: a supervisor's decision on one held draft."""

    draft_id: str = Field(min_length=1, max_length=128, description="The draft decided on.")
    decision: ReviewDecision = Field(description="approve | edit | reject")
    reviewer_id: str = Field(min_length=1, max_length=128, description="Who decided (audited).")
    edited_text: str | None = Field(
        default=None,
        max_length=MAX_TEXT_CHARS,
        description="Required for edit: the text the customer gets instead of the draft.",
    )
    reason: str | None = Field(default=None, max_length=500, description="Why (audited).")

    @model_validator(mode="after")
    def _edit_needs_text(self) -> ReviewResponse:
        has_text = self.edited_text is not None and bool(self.edited_text.strip())
        if self.decision is ReviewDecision.EDIT and not has_text:
            raise ValueError("edited_text is required when decision is edit")
        if self.decision is not ReviewDecision.EDIT and self.edited_text is not None:
            raise ValueError("edited_text is only allowed when decision is edit")
        return self


class PendingDraft(_Doc):
    """An AI draft held for review (what the worklist shows and the ``status`` query returns)."""

    draft_id: str
    turn: int = Field(ge=1)
    text: str = Field(description="Redacted draft text.")
    created_at: datetime


class ReviewRecord(_Doc):
    """One review decision as stored: who, when, what, on which draft, what changed, why."""

    interaction_id: str = Field(min_length=1, max_length=128)
    draft_id: str = Field(min_length=1, max_length=128)
    decision: ReviewDecision
    reviewer_id: str = Field(description="Supervisor id, or `warmline` for a deadline escalation.")
    decided_at: datetime
    held_since: datetime | None = Field(default=None, description="When the draft was held.")
    intent: str
    channel: str
    mode: SupervisionMode = SupervisionMode.FULLY_SUPERVISED
    model_version: str | None = None
    turn: int | None = None
    draft_text: str = Field(default="", description="Redacted draft as the AI wrote it.")
    sent_text: str | None = Field(
        default=None, description="Redacted text the customer got (None when rejected)."
    )
    reason: str | None = None
    trigger: str | None = Field(default=None, description="Semi-autonomous trigger, if any.")

    @property
    def wait_seconds(self) -> float | None:
        if self.held_since is None:
            return None
        return max(0.0, (self.decided_at - self.held_since).total_seconds())


class OverrideKind(StrEnum):
    """A human changing what the AI decided or did."""

    TAKEOVER = "takeover"
    ROUTING_OVERRIDE = "routing_override"
    DRAFT_REPLACED = "draft_replaced"
    TRIGGER_HANDOVER = "trigger_handover"
    QA_CORRECTION = "qa_correction"


class HumanOverride(_Doc):
    """A human override of an AI decision or a takeover: who, when, what changed, why."""

    interaction_id: str = Field(min_length=1, max_length=128)
    seq: int = Field(ge=1, description="Per-interaction numbering; a retried write is a no-op.")
    kind: OverrideKind
    actor: str = Field(min_length=1, max_length=128)
    at: datetime
    ai_decision: str = Field(description="What the AI had decided or said (redacted).")
    human_decision: str = Field(description="What the human decided instead (redacted).")
    reason: str | None = None


class SupervisionFacts(_Doc):
    """Per interaction, the supervision work it caused: what WFM sizes the supervision queue by."""

    interaction_id: str = Field(min_length=1, max_length=128)
    intent: str
    channel: str
    mode: SupervisionMode
    started_at: datetime
    ended_at: datetime
    supervised_seconds: float = Field(
        default=0.0, ge=0, description="Time the session held a supervisor slot."
    )
    drafts_held: int = Field(default=0, ge=0)
    reviews: int = Field(default=0, ge=0)
    review_wait_seconds: float = Field(default=0.0, ge=0, description="Sum of hold times.")
    triggers: list[str] = Field(default_factory=list, description="Semi-autonomous triggers.")
    deadline_escalations: int = Field(default=0, ge=0)
    qa_sampled: bool = False


class RecordSupervision(_Doc):
    """Everything supervision-related one interaction leaves, written once at close."""

    facts: SupervisionFacts
    reviews: list[ReviewRecord] = Field(default_factory=list)
    overrides: list[HumanOverride] = Field(default_factory=list)


class QAReview(_Doc):
    """A post-interaction QA review of a sampled interaction: was it resolved correctly?"""

    interaction_id: str = Field(min_length=1, max_length=128)
    reviewer_id: str = Field(min_length=1, max_length=128)
    intent: str
    channel: str
    resolved_correctly: bool
    reviewed_at: datetime
    notes: str | None = Field(default=None, max_length=2000)


class ReviewClaim(_Doc):
    """A supervisor holding a pending review: counts against their concurrent cap."""

    workflow_id: str
    draft_id: str
    reviewer_id: str
    slot: int = Field(ge=1, description="1..cap; unique per reviewer, so the cap holds.")
    claimed_at: datetime


class ClaimOutcome(_Doc):
    claimed: bool
    claim: ReviewClaim | None = None
    held: int = Field(description="Reviews the reviewer holds after this call.")
    reason: str


class SupervisionVolume(_Doc):
    """Supervision queue volume over a window and the supervisors it implies (WFM facts)."""

    since: datetime
    until: datetime
    intent: str | None = None
    interactions: int
    supervised_interactions: int = Field(description="Fully supervised, or a trigger fired.")
    reviews: int
    supervised_seconds: float
    volume_per_hour: float
    mean_supervised_seconds: float
    concurrent_sessions: float
    supervisor_cap: int
    supervisors_needed: int
