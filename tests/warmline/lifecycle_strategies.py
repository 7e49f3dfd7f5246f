"""Hypothesis strategies for the lifecycle model test: what customers say, what AIs answer, and
every plausible result of each command, successes and failures alike."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from models.abuse import LimitAnswer
from models.acd import ReservationAck, TransferAck
from models.ai import AIAction, AIReply
from models.gate import TurnAnswered
from models.handoff import HandoffPolicy
from models.interaction import OrchestrationPattern, Route
from models.lifecycle import (
    AdmissionChecked,
    AIReplied,
    CapacityRead,
    Command,
    CommandDone,
    CommandFailed,
    Event,
    PatternChosen,
    ReservationAcked,
    TransferAcked,
    Triaged,
    TurnScreened,
)
from models.routing import EscalationPolicy, HumanAvailability, SpilloverPolicy
from models.safety import SafetyAction
from models.supervision import SupervisionMode
from tests.warmline.lifecycle_builders import (
    BILLING,
    CARD,
    CARE,
    CARE_NEXT,
    EMAIL,
    SHADOW,
    TECH,
    admission,
    ai_reply,
    decision,
    pattern,
    plan,
    reply_check,
    screen,
    triage,
)
from warmline.compliance import start as start_duties
from warmline.default_compliance import default_regulatory_policy

CUSTOMER_TEXTS = [
    "Where is my order?",
    "And what about the invoice?",
    "It still does not work",
    f"my email is {EMAIL}",
    f"card {CARD} was charged twice",
    "Can I speak to a real person please",
    "This is useless and ridiculous, I am furious!!!",
    "yes please call me back",
    "no thanks",
    "I want the $1,250.00 charge refunded",
]
TOPICS = ["order_status", "order_status", "technical_support", "billing_inquiry", "oos"]
AI_ACTIONS = [AIAction.REPLY, AIAction.REPLY, AIAction.REPLY, AIAction.RESOLVE, AIAction.ESCALATE]
UNSAFE = "UNSAFE-DRAFT"
"""Marks an AI reply whose output check failed with an action that stops it: it may reach the
customer only through a supervisor's approval."""
AI_TEXTS = ["Here is what I found.", f"Write to {EMAIL}.", "I can refund $900 today.", ""]

deadlines_policy = st.builds(
    EscalationPolicy,
    max_turns=st.integers(2, 5),
    human_accept_deadline_seconds=st.sampled_from([5.0, 60.0]),
    max_human_wait_seconds=st.sampled_from([30.0, 600.0]),
)
spillover_policy = st.builds(
    SpilloverPolicy,
    deflect_max_priority=st.integers(0, 9),
    deflect_when_wait_above_seconds=st.sampled_from([0.0, 60.0]),
    voice_callback_when_wait_above_seconds=st.sampled_from([0.0, 300.0]),
    max_queued_per_agent=st.sampled_from([0.5, 2.0]),
    admission_check_seconds=st.sampled_from([1.0, 5.0]),
)


@st.composite
def triage_results(draw: st.DrawFn) -> Any:
    route = draw(st.sampled_from(list(Route)))
    routed = decision(
        route,
        endpoint=draw(st.sampled_from([CARE, CARE, CARE_NEXT, TECH, BILLING, None])),
        shadow=draw(st.sampled_from([None, SHADOW])),
        max_turns_per_run=draw(st.integers(2, 4)),
        escalation=draw(deadlines_policy),
        spillover=draw(spillover_policy),
    )
    # Later turns are classified again: topic shifts (confident or not) to other agents.
    routed = routed.model_copy(
        update={
            "intent": draw(st.sampled_from(TOPICS)),
            "confidence": draw(st.sampled_from([0.5, 0.93, 1.0])),
            "handoff": HandoffPolicy(max_handoffs=draw(st.integers(0, 2))),
        }
    )
    supervision = None
    if route is not Route.HUMAN:
        mode = draw(st.sampled_from([None, *SupervisionMode]))
        if mode is not None:
            supervision = plan(
                mode,
                deadline=draw(st.sampled_from([2.0, 30.0])),
                sentiment_below=-0.3,
                monetary_amount_above=500.0,
            )
    # The regulatory duties of some jurisdictions (None: a worker that predates them).
    where = draw(st.sampled_from([None, "us", "eu", "us-tx", "us-ca"]))
    duties = None
    if where is not None:
        channel = draw(st.sampled_from(["chat", "voice"]))
        duties = start_duties(default_regulatory_policy(), where, channel)
    return triage(routed, supervision).model_copy(update={"compliance": duties})


@st.composite
def topic_shifts(draw: st.DrawFn) -> Any:
    """A later turn's check that says: confidently another topic, for another AI agent (or for
    nobody)."""
    endpoint = draw(st.sampled_from([TECH, BILLING, CARE, None]))
    routed = decision(Route.AI if endpoint else Route.HUMAN, endpoint=endpoint).model_copy(
        update={
            "intent": draw(st.sampled_from(["technical_support", "billing_inquiry", "refund"])),
            "confidence": 0.99,
            "handoff": HandoffPolicy(max_handoffs=draw(st.integers(0, 2))),
        }
    )
    return triage(routed)


def ai_replies() -> st.SearchStrategy[AIReply]:
    return st.builds(
        lambda text, action, assessment, safety: ai_reply(
            f"{UNSAFE} {text}" if safety not in (None, SafetyAction.ALLOW) else text,
            action,
            assessment=assessment,
            check=reply_check(safety),
        ),
        st.sampled_from(AI_TEXTS),
        st.sampled_from(AI_ACTIONS),
        st.sampled_from([None, f"customer {EMAIL} is angry"]),
        # Mostly no finding (else few conversations get far), every action possible.
        st.sampled_from([None, None, *SafetyAction]),
    )


def results_for(command: Command, when: str, ok_only: bool = False) -> st.SearchStrategy[Event]:
    """Every plausible answer to a command, successes and failures alike."""
    op = command.op  # type: ignore[union-attr]
    failed = st.builds(
        CommandFailed,
        at=st.just(when),
        op=st.just(op),
        error=st.sampled_from(["timeout", f"bad {EMAIL}"]),
    )
    match command.kind:
        case "choose_pattern":
            ok: st.SearchStrategy[Event] = st.builds(
                lambda p: PatternChosen(at=when, op=op, choice=pattern(p)),
                st.sampled_from(list(OrchestrationPattern)),
            )
        case "triage":
            ok = triage_results().map(lambda r: Triaged(at=when, op=op, result=r))
        case "reserve_human":
            ok = st.just(
                ReservationAcked(at=when, op=op, ack=ReservationAck(reservation_id=f"r-{op}"))
            )
        case "call_ai":
            ok = ai_replies().map(lambda reply: AIReplied(at=when, op=op, reply=reply))
        case "read_capacity":
            seen = st.builds(
                HumanAvailability,
                queue=st.just("general"),
                agents=st.integers(0, 3),
                available_agents=st.integers(0, 2),
                queued=st.integers(0, 8),
                estimated_wait_seconds=st.sampled_from([0.0, 45.0, 900.0]),
            )
            ok = st.builds(lambda cap: CapacityRead(at=when, op=op, capacity=cap), st.none() | seen)
        case "transfer":
            ok = st.just(
                TransferAcked(
                    at=when, op=op, ack=TransferAck(transfer_id=f"t-{op}", queue_position=1)
                )
            )
        case "screen_turn":
            ok = st.builds(
                lambda action: TurnScreened(at=when, op=op, screen=screen(action)),
                st.sampled_from([SafetyAction.ALLOW] * 4 + list(SafetyAction)),
            )
        case "check_admission":
            # Mostly allowed (else the conversation rarely gets going), every answer possible.
            answers = [LimitAnswer.ALLOWED] * 5 + [a for a in LimitAnswer if a.strictness > 0]
            # What was asked with the check may come back, or not (a step that failed there).
            screens: st.SearchStrategy[Any] = st.none()
            if getattr(command, "screen", None) is not None:
                allowing = [SafetyAction.ALLOW] * 4 + list(SafetyAction)
                screens = st.none() | st.sampled_from(allowing).map(screen)
            turns: st.SearchStrategy[Any] = st.none()
            if getattr(command, "turn", None) is not None:
                checks = st.none() | triage_results() | topic_shifts()
                turns = st.none() | st.builds(
                    TurnAnswered, reply=st.none() | ai_replies(), check=checks
                )
            ok = st.builds(
                lambda answer, retry, screened, turn: AdmissionChecked(
                    at=when,
                    op=op,
                    decision=admission(answer, retry),
                    screen=screened,
                    turn=turn,
                ),
                st.sampled_from(answers),
                st.sampled_from([0.5, 30.0, 900.0]),
                screens,
                turns,
            )
        case _:
            ok = st.just(CommandDone(at=when, op=op))
    return ok if ok_only else st.one_of(ok, failed)
