"""Events and commands of the interaction lifecycle machine (``warmline.lifecycle.step``).

Events are what happens to an interaction: the start, customer and ACD messages, supervisor
decisions, command results and deadlines. Every event carries the time it happened (``at``,
workflow time) because the machine has no clock. Commands are what the machine wants done:
activities to run, replies to hand to waiting callers, search attributes, the continue-as-new and
the completion. A command whose result the machine waits for carries an ``op`` number and a
timeout; its result event echoes the ``op`` (late or duplicate results are ignored by number).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.abuse import AbuseDecision, AdmissionRequest
from models.acd import (
    CallbackRequest,
    ForwardMessage,
    ReservationAck,
    ReservationRequest,
    TransferAck,
    TransferRequest,
)
from models.ai import AIReply, AIRequest, ShadowRequest
from models.facts import RecordInteraction
from models.gate import TurnAhead, TurnAnswered
from models.interaction import (
    Channel,
    ChannelSwitched,
    InteractionInput,
    InteractionResult,
    Reply,
)
from models.routing import HumanAvailability
from models.safety import ScreenRequest, TurnScreen
from models.supervision import ReviewResponse
from models.triage import FlushRun, PatternChoice, PatternRequest, TriageRequest, TriageResult


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- events ----------------------------------------------------------------------------------


class Started(_Message):
    kind: Literal["started"] = "started"
    at: str
    workflow_id: str
    request: InteractionInput = Field(description="As the client sent it; the machine redacts.")
    turn_intents: bool = Field(
        default=False,
        description="Classify every later customer turn again (topic shifts, hand-offs); "
        "False for interactions started before the workflow did (``workflow.patched``).",
    )
    execution_id: str = Field(
        default="",
        description="The first run's id: with the workflow id it names this interaction's "
        "execution, so idempotency keys differ when an interaction id is ever reused.",
    )
    legacy: tuple[str, ...] = Field(
        default=(),
        description="Changes (``warmline.lifecycle.changes``) this run must not make: it "
        "replays a history recorded before them.",
    )
    safety: bool = Field(
        default=False,
        description="The safety gates run (abuse limits at start and per turn): the executor "
        "sets it from a workflow patch, so histories recorded before them replay unchanged.",
    )


class Continued(_Message):
    """A new run began with the carried state (continue-as-new)."""

    kind: Literal["continued"] = "continued"
    at: str
    legacy: tuple[str, ...] = Field(
        default=(), description="As ``Started.legacy``, decided again for each run."
    )


class PatternChosen(_Message):
    kind: Literal["pattern_chosen"] = "pattern_chosen"
    at: str
    op: int
    choice: PatternChoice


class Triaged(_Message):
    """Classification, route and supervision plan (opening, fail-over or channel switch)."""

    kind: Literal["triaged"] = "triaged"
    at: str
    op: int
    result: TriageResult


class ReservationAcked(_Message):
    kind: Literal["reservation_acked"] = "reservation_acked"
    at: str
    op: int
    ack: ReservationAck


class AIReplied(_Message):
    kind: Literal["ai_replied"] = "ai_replied"
    at: str
    op: int
    reply: AIReply = Field(description="As the AI wrote it; the machine redacts.")


class CapacityRead(_Message):
    kind: Literal["capacity_read"] = "capacity_read"
    at: str
    op: int
    capacity: HumanAvailability | None = Field(description="None: the queue is unknown.")


class TransferAcked(_Message):
    kind: Literal["transfer_acked"] = "transfer_acked"
    at: str
    op: int
    ack: TransferAck


class AdmissionChecked(_Message):
    """The abuse gate's answer for the start or a turn (counted fleet-wide in the store)."""

    kind: Literal["admission_checked"] = "admission_checked"
    at: str
    op: int
    decision: AbuseDecision
    screen: TurnScreen | None = Field(
        default=None, description="The admitted turn's injection screen, when it was asked."
    )
    pattern: PatternChoice | None = Field(
        default=None, description="The admitted start's pattern, when it was asked."
    )
    triage: TriageResult | None = Field(
        default=None, description="The admitted start's triage, when it was asked and ran."
    )
    turn: TurnAnswered | None = Field(
        default=None, description="The admitted turn's AI answer and intent, when asked."
    )


class TurnScreened(_Message):
    """A customer message's injection score and the safety policy's action for it."""

    kind: Literal["turn_screened"] = "turn_screened"
    at: str
    op: int
    screen: TurnScreen


class CommandDone(_Message):
    """A command without a result finished: released, forwarded, booked, withdrawn, flushed,
    recorded, or a shadow answered."""

    kind: Literal["command_done"] = "command_done"
    at: str
    op: int


class CommandFailed(_Message):
    """A command failed for good (retries and timeout spent)."""

    kind: Literal["command_failed"] = "command_failed"
    at: str
    op: int
    error: str
    error_type: str = Field(
        default="", description="The failure's type (e.g. ``AcdRejected``), when it has one."
    )


class CustomerMessageReceived(_Message):
    kind: Literal["customer_message"] = "customer_message"
    at: str
    text: str = Field(description="As the customer wrote it; the machine redacts.")
    message_id: str | None = None
    ticket: str | None = Field(
        default=None, description="The update call waiting for the reply (None: a signal)."
    )


class HumanRequested(_Message):
    kind: Literal["human_requested"] = "human_requested"
    at: str
    reason: str


class ChannelSwitchRequested(_Message):
    kind: Literal["switch_requested"] = "switch_requested"
    at: str
    channel: Channel
    reason: str
    ticket: str | None = None


class AgentAccepted(_Message):
    kind: Literal["agent_accepted"] = "agent_accepted"
    at: str
    agent_id: str
    transfer_id: str | None = None


class AgentResolved(_Message):
    kind: Literal["agent_resolved"] = "agent_resolved"
    at: str
    agent_id: str
    resolution: str = "resolved"
    csat: int | None = None


class ReviewDecided(_Message):
    kind: Literal["review_decided"] = "review_decided"
    at: str
    response: ReviewResponse


class EndRequested(_Message):
    kind: Literal["end_requested"] = "end_requested"
    at: str
    reason: str = "customer_ended"
    csat: int | None = None


class InputRejected(_Message):
    """A signal whose payload did not decode: dropped, but on the record with why."""

    kind: Literal["input_rejected"] = "input_rejected"
    at: str
    name: str
    reason: str


class DeadlineReached(_Message):
    kind: Literal["deadline"] = "deadline"
    at: str


class ContinueAsNewSuggested(_Message):
    kind: Literal["continue_suggested"] = "continue_suggested"
    at: str


CommandResult = (
    PatternChosen
    | Triaged
    | ReservationAcked
    | AIReplied
    | CapacityRead
    | TransferAcked
    | AdmissionChecked
    | TurnScreened
    | CommandDone
    | CommandFailed
)
"""What a command's result can be; it carries the command's ``op``."""

Event = Annotated[
    Started
    | Continued
    | CommandResult
    | CustomerMessageReceived
    | HumanRequested
    | ChannelSwitchRequested
    | AgentAccepted
    | AgentResolved
    | ReviewDecided
    | EndRequested
    | InputRejected
    | DeadlineReached
    | ContinueAsNewSuggested,
    Field(discriminator="kind"),
]

# -- commands --------------------------------------------------------------------------------


class _Call(_Message):
    """A command the machine waits on: its result event echoes ``op``; ``timeout_seconds`` is
    the most the whole call (retries included) may take."""

    op: int
    timeout_seconds: float


class ChoosePattern(_Call):
    kind: Literal["choose_pattern"] = "choose_pattern"
    request: PatternRequest


class Triage(_Call):
    kind: Literal["triage"] = "triage"
    request: TriageRequest


class CheckAdmission(_Call):
    """Count the start or a turn against the abuse limits and answer allowed or not."""

    kind: Literal["check_admission"] = "check_admission"
    request: AdmissionRequest
    screen: ScreenRequest | None = Field(
        default=None,
        description="Screen the turn in the same activity once admitted (``changes.TURN_GATE``).",
    )
    classify_ahead: bool = Field(
        default=False, description="An intent check follows: start classifying once admitted."
    )
    pattern: PatternRequest | None = Field(
        default=None,
        description="Choose the start's pattern in the same activity (``changes.START_GATE``).",
    )
    triage: TriageRequest | None = Field(
        default=None,
        description="Then triage the start in the same activity, under the pattern chosen there "
        "(``changes.START_TRIAGE``).",
    )
    turn: TurnAhead | None = Field(
        default=None,
        description="Then the turn's AI call and intent check, in the same activity, when the "
        "screen allows the turn (``changes.TURN_AHEAD``).",
    )


class ScreenTurn(_Call):
    """Score a customer message for prompt injection before an AI sees it."""

    kind: Literal["screen_turn"] = "screen_turn"
    request: ScreenRequest


class ReserveHuman(_Call):
    kind: Literal["reserve_human"] = "reserve_human"
    request: ReservationRequest


class ReleaseReservation(_Call):
    kind: Literal["release_reservation"] = "release_reservation"
    reservation_id: str


class CallAI(_Call):
    kind: Literal["call_ai"] = "call_ai"
    request: AIRequest


class CallShadow(_Call):
    kind: Literal["call_shadow"] = "call_shadow"
    request: ShadowRequest


class ReadCapacity(_Call):
    kind: Literal["read_capacity"] = "read_capacity"
    queue: str


class TransferToHuman(_Call):
    kind: Literal["transfer"] = "transfer"
    request: TransferRequest


class ForwardToHuman(_Call):
    kind: Literal["forward"] = "forward"
    message: ForwardMessage


class BookCallback(_Call):
    kind: Literal["book_callback"] = "book_callback"
    request: CallbackRequest


class WithdrawTransfer(_Call):
    kind: Literal["withdraw_transfer"] = "withdraw_transfer"
    transfer_id: str


class ArchiveRun(_Call):
    """Before continue-as-new: old turns and pending audit leave history for the store."""

    kind: Literal["archive_run"] = "archive_run"
    flush: FlushRun


class RecordOutcome(_Call):
    kind: Literal["record"] = "record"
    record: RecordInteraction


class DeliverReply(_Message):
    """Hand a reply to the update call waiting for it (the reply is also in state by turn)."""

    kind: Literal["deliver_reply"] = "deliver_reply"
    ticket: str
    reply: Reply


class RefuseMessage(_Message):
    """The ``send_message`` call waiting on ``ticket`` fails with this error: its message was
    refused (a reused ``message_id``, a reply no longer kept, a bound reached)."""

    kind: Literal["refuse_message"] = "refuse_message"
    ticket: str
    error_type: str
    reason: str


class DeliverSwitch(_Message):
    kind: Literal["deliver_switch"] = "deliver_switch"
    ticket: str
    answer: ChannelSwitched


class UpsertSearchAttributes(_Message):
    """Make the interaction findable (a held draft, the close); None leaves a key as is."""

    kind: Literal["search_attributes"] = "search_attributes"
    intent: str | None = None
    supervision_mode: str | None = None
    state: str | None = None
    pool: str | None = None
    pending_review: bool | None = None
    review_since: str | None = None


class ContinueAsNew(_Message):
    """Start a fresh run with the state as it is now, once no caller is waiting."""

    kind: Literal["continue_as_new"] = "continue_as_new"


class Complete(_Message):
    kind: Literal["complete"] = "complete"
    result: InteractionResult


class Fail(_Message):
    """End the workflow as failed (the close could not be recorded); the history keeps all."""

    kind: Literal["fail"] = "fail"
    reason: str


Command = Annotated[
    ChoosePattern
    | Triage
    | CheckAdmission
    | ScreenTurn
    | ReserveHuman
    | ReleaseReservation
    | CallAI
    | CallShadow
    | ReadCapacity
    | TransferToHuman
    | ForwardToHuman
    | BookCallback
    | WithdrawTransfer
    | ArchiveRun
    | RecordOutcome
    | DeliverReply
    | RefuseMessage
    | DeliverSwitch
    | UpsertSearchAttributes
    | ContinueAsNew
    | Complete
    | Fail,
    Field(discriminator="kind"),
]
