"""The one state model of a running ``InteractionWorkflow``.

``warmline.lifecycle.step`` is the only code that changes it; continue-as-new passes it to the
next run and the ``status`` query renders a view of it, so everything the interaction knows
lives here and nowhere else. Text in it is redacted.

Besides the conversation's facts it says what the interaction is doing right now: the ``job``
(the unit of work that holds the conversation, like a lock holder: one customer turn, a hand-over,
the close) with the one ``wait`` it is blocked on, and the ``inbox`` of requests that queue
behind it. Every wait has a deadline, so nothing waits for ever.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.ai import AIAction, AIReply
from models.boundary import ContinuableInput
from models.compliance import ComplianceState
from models.facts import AuditEvent
from models.gate import TurnAhead, TurnAnswered
from models.handoff import HandoffPackage, HandoffRecord
from models.interaction import (
    Channel,
    ChannelSwitched,
    EscalationTrigger,
    InteractionInput,
    InteractionState,
    OrchestrationPattern,
    Outcome,
    Reply,
    TranscriptEntry,
)
from models.redaction import RedactionState
from models.routing import AIEndpoint, Classification, RoutingDecision
from models.safety import ScreenRequest, TurnScreen
from models.supervision import HumanOverride, PendingDraft, ReviewRecord, SemiAutonomousTrigger
from models.triage import SupervisionPlan

RECENT_REPLIES_KEPT = 50
TRANSCRIPT_KEPT_ON_CONTINUE = 20
IGNORED_KEPT = 20
MESSAGE_IDS_KEPT = 500
"""The de-duplication window: the last message ids (with a digest of their redacted text) kept,
across continue-as-new; an id whose reply is no longer kept is refused, never a new turn."""
QUEUED_MAX = 20
"""Customer messages waiting behind the current job; more are refused until it ends."""
"""Inputs the interaction dropped (with why) kept for the ``status`` query; all are audited."""


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReservationStatus(StrEnum):
    """A human seat asked for in the parallel pattern: it ends released or converted."""

    REQUESTED = "requested"
    HELD = "held"
    RELEASED = "released"
    CONVERTED = "converted"
    FAILED = "failed"


class HumanLeg(_State):
    queue: str | None = None
    transfer_id: str | None = None
    queue_position: int = 0
    estimated_wait_seconds: float = 0.0
    requested_at: str | None = None
    accepted_at: str | None = None
    agent_id: str | None = None
    resolved_at: str | None = None
    withdrawn: bool = Field(default=False, description="The transfer was withdrawn at close.")
    callback_offered: bool = False
    buffered: bool = Field(
        default=False, description="Held back by metering until the human queue has room."
    )
    next_admission_at: str | None = Field(
        default=None, description="When a buffered hand-over next asks the queue for room."
    )
    reservation: ReservationStatus | None = None
    reservation_op: int | None = Field(default=None, description="The reserve command's op.")
    reservation_deadline: str | None = None
    reservation_id: str | None = None
    reservation_released: bool = False
    saved_wait_seconds: float = 0.0


class Usage(_State):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    ai_calls: int = 0
    ai_failures: int = 0
    ai_latency_ms_total: float = 0.0
    ai_latency_ms_max: float = 0.0


# -- what the interaction is doing now -------------------------------------------------------


class JobKind(StrEnum):
    """Units of work that hold the conversation; requests behind them wait in the inbox."""

    OPENING = "opening"
    """Pattern, triage, the parallel reservation, then the first turn."""
    TURN = "turn"
    """One customer message, answered by whoever holds the interaction."""
    REQUEST_HUMAN = "request_human"
    SWITCH_CHANNEL = "switch_channel"
    ADMISSION = "admission"
    """A buffered hand-over asks the human queue for room again."""
    MAX_WAIT = "max_wait"
    """No human accepted within the maximum wait: book the callback."""
    CALLBACK_OFFER = "callback_offer"
    """No human accepted by the accept deadline: offer a callback (asking consent)."""
    CONTINUE = "continue_as_new"
    CLOSING = "closing"


class WaitKind(StrEnum):
    PATTERN = "pattern"
    TRIAGE = "triage"
    RESERVATION = "reservation"
    RELEASE = "release"
    AI = "ai"
    FAILOVER_ROUTE = "failover_route"
    REVIEW = "review"
    SWITCH_ROUTE = "switch_route"
    TURN_INTENT = "turn_intent"
    CAPACITY = "capacity"
    TRANSFER = "transfer"
    FORWARD = "forward"
    CALLBACK = "callback"
    SHADOWS = "shadows"
    ARCHIVE = "archive"
    CONTINUE = "continue_as_new"
    WITHDRAW = "withdraw"
    RECORD = "record"
    ABUSE = "abuse"
    """The abuse gate's answer for the start or the current turn."""
    SCREEN = "screen"
    """The injection screen of the current customer message, before the AI sees it."""
    ABUSE_HOLD = "abuse_hold"
    """A start or turn the limits answered ``queued``: held until the retry-after, then run."""


class CallbackInstead(StrEnum):
    """What happens when the customer does not consent to a callback the interaction wanted."""

    TRANSFER = "transfer"
    """Stay in the queue: the transfer the spillover would have replaced is made."""
    WAIT = "wait"
    """Already in the queue: keep waiting there."""
    CLOSE = "close"
    """Nobody can take it now (the ACD is unreachable, the maximum wait is over): say so, close."""


class PendingCallback(_State):
    """A callback waiting for the customer's consent, and what to do with the answer."""

    reason: str
    notice: str = Field(description="What the customer is told once it is booked.")
    instead: CallbackInstead


class HeldDraft(_State):
    """An AI answer held for a supervisor, with what finishing the turn needs afterwards."""

    draft_id: str
    text: str
    held_at: str
    why: str
    model_version: str
    action: AIAction
    assessment: str | None = None


class Wait(_State):
    """The one thing the current job waits for; results must echo ``op`` to count."""

    kind: WaitKind
    op: int = Field(default=0, description="Command sequence number; 0 when no command.")
    since: str
    deadline: str = Field(description="When waiting stops: the result counts as failed.")
    timer: bool = Field(
        default=False,
        description="True when nothing but a timer ends the wait (a review); otherwise the "
        "command's own timeout (schedule-to-close = deadline) reports the failure.",
    )
    endpoint: AIEndpoint | None = Field(default=None, description="AI: the endpoint called.")
    failover: bool = Field(default=False, description="AI: this call is the turn's fail-over.")
    draft: HeldDraft | None = None
    buffered: bool = Field(default=False, description="Capacity: re-check of a buffered wait.")
    reason: str = Field(default="", description="Callback: why it is booked.")
    notice: str = Field(default="", description="Callback: what the customer is told.")
    archived: int = Field(default=0, description="Archive: transcript entries flushed.")
    audited: int = Field(default=0, description="Archive: audit events flushed.")


class Job(_State):
    kind: JobKind
    turn: int | None = Field(default=None, description="The customer turn this job answers.")
    message_id: str | None = None
    tickets: list[str] = Field(
        default_factory=list, description="Update calls waiting for this job's answer."
    )
    text: str = Field(default="", description="Redacted customer words being answered.")
    gate: SemiAutonomousTrigger | None = Field(
        default=None, description="Semi-autonomous trigger that fired before the AI answered."
    )
    prefix: str = Field(default="", description="AI words sent before a hand-over notice.")
    model_version: str | None = None
    safety_hold: str = Field(
        default="", description="Why the safety policy holds this turn's AI reply for review."
    )
    answer: ChannelSwitched | None = Field(default=None, description="Switch: the answer.")
    check_op: int = Field(
        default=0, description="The turn's intent check in flight beside the AI call (0: none)."
    )
    check_deadline: str | None = None
    held: AIReply | None = Field(
        default=None, description="The AI's (redacted) answer, waiting for the intent check."
    )
    screen_asked: ScreenRequest | None = Field(
        default=None, description="The screen asked together with the turn's admission check."
    )
    prescreen: TurnScreen | None = Field(
        default=None, description="Its answer, used when the AI takes the turn as asked."
    )
    ahead_asked: TurnAhead | None = Field(
        default=None, description="The AI call and intent check asked with the admission check."
    )
    ahead: TurnAnswered | None = Field(
        default=None, description="Their answers, used when the AI takes the turn as asked."
    )
    wait: Wait | None = None


class QueuedMessage(_State):
    kind: Literal["message"] = "message"
    text: str
    message_id: str | None = None
    tickets: list[str] = Field(default_factory=list)


class QueuedHumanRequest(_State):
    kind: Literal["request_human"] = "request_human"
    reason: str


class QueuedSwitch(_State):
    kind: Literal["switch_channel"] = "switch_channel"
    channel: Channel
    reason: str
    ticket: str | None = None


Queued = Annotated[QueuedMessage | QueuedHumanRequest | QueuedSwitch, Field(discriminator="kind")]


class InteractionCarry(_State):
    request: InteractionInput = Field(description="The input, first_message and metadata redacted.")
    workflow_id: str = ""
    run_index: int = 0
    state: InteractionState = InteractionState.ROUTING
    channel: Channel
    started_at: str
    pattern: OrchestrationPattern | None = None
    pattern_reason: str = ""
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
    outcome: Outcome | None = None
    close_reason: str | None = None
    # -- topic shifts and AI-to-AI hand-offs (``warmline.lifecycle.topics``) --
    turn_intents: bool = Field(
        default=False, description="Later customer turns are classified again (see Started)."
    )
    intents_seen: list[str] = Field(default_factory=list)
    handoffs: list[HandoffRecord] = Field(
        default_factory=list, description="Topic shifts that moved the conversation."
    )
    handoff_count: int = Field(default=0, description="AI-to-AI hand-offs so far.")
    agent_left: str | None = Field(default=None, description="Agent the last hand-off left.")
    agent_since_turn: int = Field(default=1, description="Turn the current agent took over.")
    agent_turns: int = Field(default=0, description="Turns the current agent answered.")
    agent_actions: list[str] = Field(
        default_factory=list, description="The current agent's latest answers' actions."
    )
    handoff_package: HandoffPackage | None = Field(
        default=None, description="Sent with every call to the agent the last hand-off chose."
    )
    csat: int | None = None
    redaction: RedactionState = Field(
        default_factory=RedactionState,
        description="Stable tokens and a split number's check residues (no PII in it).",
    )
    redaction_recent: dict[int, str] = Field(
        default_factory=dict,
        description="Kept customer texts by message index that a split number may still revise.",
    )
    withheld_turns: list[int] = Field(
        default_factory=list,
        description="Customer turns the safety policy refused: never shown to an AI.",
    )
    safety_gates: bool = Field(
        default=False, description="Abuse limits checked at the start and on every turn."
    )
    # -- regulatory duties (``warmline.lifecycle.regulation``) --
    compliance: ComplianceState | None = Field(
        default=None,
        description="Duties of the customer's jurisdiction and channel, notices given, consents "
        "recorded (None: a run that predates them, ``changes.COMPLIANCE``).",
    )
    callback_pending: PendingCallback | None = Field(
        default=None, description="A callback asked for consent; the next message answers."
    )
    # -- the lifecycle machine's own bookkeeping --
    op_seq: int = Field(default=0, description="Last command sequence number handed out.")
    job: Job | None = None
    inbox: list[Queued] = Field(default_factory=list)
    shadows: dict[int, str] = Field(
        default_factory=dict, description="Shadow calls in flight: op -> deadline."
    )
    closing: Outcome | None = Field(
        default=None, description="Outcome decided; the close runs once the current job ends."
    )
    continue_suggested: bool = False
    archived_this_run: bool = Field(
        default=False,
        description="Old turns already went to the store: the next idle moment continues as "
        "new without a second round trip (a chatting customer cannot postpone it).",
    )
    ended_at: str | None = None
    finished: bool = Field(default=False, description="Recorded and completed: terminal.")
    ignored: list[str] = Field(
        default_factory=list, description="Recent inputs dropped, with why (also audited)."
    )
    execution_id: str = Field(
        default="", description="The first run's id (``Started.execution_id``), for keys."
    )
    digest_by_message_id: dict[str, str] = Field(
        default_factory=dict,
        description="A short digest of each kept message id's redacted text: the same id with "
        "other text is refused.",
    )
    messages_refused: int = Field(
        default=0, description="Customer messages refused so far (wakes their waiting callers)."
    )
    legacy: list[str] = Field(
        default_factory=list,
        description="Changes this run must not make (``warmline.lifecycle.changes``).",
    )


class InteractionStart(InteractionInput, ContinuableInput[InteractionCarry]):
    """The start input as ``InteractionWorkflow`` reads it: the public ``InteractionInput``
    (JSON on the wire unchanged) plus the state only its own continue-as-new carries."""
