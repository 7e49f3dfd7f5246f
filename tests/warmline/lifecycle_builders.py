"""Inputs and command results for driving ``warmline.lifecycle.step`` without Temporal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from models.abuse import AbuseDecision, LimitAnswer, LimitHit
from models.acd import ReservationAck, TransferAck
from models.ai import AIAction, AIReply
from models.interaction import (
    Channel,
    Customer,
    InteractionInput,
    OrchestrationPattern,
    Route,
)
from models.interaction_state import InteractionCarry
from models.lifecycle import (
    AdmissionChecked,
    AIReplied,
    CapacityRead,
    ChoosePattern,
    Command,
    CommandDone,
    CommandFailed,
    Event,
    PatternChosen,
    ReservationAcked,
    Started,
    TransferAcked,
    Triage,
    Triaged,
    TurnScreened,
)
from models.routing import (
    AIEndpoint,
    Classification,
    EscalationPolicy,
    HumanAvailability,
    RoutingDecision,
    SpilloverPolicy,
)
from models.safety import (
    ReplyCheck,
    ReplyFinding,
    ReplyFindingKind,
    SafetyAction,
    SafetyDecision,
    TurnScreen,
)
from models.supervision import SemiAutonomousTriggers, SupervisionMode
from models.triage import PatternChoice, SupervisionPlan, TriageResult
from warmline.lifecycle import step

C = TypeVar("C")
T0 = datetime.fromisoformat("2025-03-01T10:00:00+00:00")
WORKFLOW_ID = "interaction-it-1"
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PII = (EMAIL, CARD)
CARE = AIEndpoint(name="care-bot", version="1", url="http://fleet.test/care/v1")
CARE_NEXT = AIEndpoint(name="care-bot", version="2", url="http://fleet.test/care2/v1")
SHADOW = AIEndpoint(name="care-bot", version="3-rc", url="http://fleet.test/rc/v1")
TECH = AIEndpoint(name="tech-bot", version="1", url="http://fleet.test/tech/v1")
BILLING = AIEndpoint(name="billing-bot", version="1", url="http://fleet.test/billing/v1")


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def interaction_input(first_message: str = "Where is my order?", **fields: Any) -> InteractionInput:
    values: dict[str, Any] = {
        "interaction_id": "it-1",
        "channel": Channel.CHAT,
        "customer": Customer(id="c-1"),
        "first_message": first_message,
    }
    return InteractionInput(**(values | fields))


def started(first_message: str = "Where is my order?", **fields: Any) -> Started:
    request = interaction_input(first_message, **fields)
    return Started(at=at(0), workflow_id=WORKFLOW_ID, request=request)


def decision(
    route: Route = Route.AI,
    *,
    endpoint: AIEndpoint | None = CARE,
    shadow: AIEndpoint | None = None,
    max_turns: int = 8,
    max_turns_per_run: int = 200,
    escalation: EscalationPolicy | None = None,
    spillover: SpilloverPolicy | None = None,
    reasons: list[str] | None = None,
) -> RoutingDecision:
    policy = escalation or EscalationPolicy(max_turns=max_turns)
    return RoutingDecision(
        route=route,
        pattern=OrchestrationPattern.PRE_ACD,
        intent="order_status",
        confidence=0.93,
        channel=Channel.CHAT,
        config_version=3,
        ai_endpoint=endpoint if route is not Route.HUMAN else None,
        shadow_endpoint=shadow if route is not Route.HUMAN else None,
        human_queue="general",
        escalation=policy,
        spillover=spillover or SpilloverPolicy(),
        max_turns_per_run=max_turns_per_run,
        reasons=reasons or [f"routed {route.value}"],
    )


def plan(mode: SupervisionMode, deadline: float = 30.0, **triggers: Any) -> SupervisionPlan:
    rules: dict[str, Any] = {
        "monetary_amount_above": None,
        "sentiment_below": None,
        "duration_above_seconds": None,
        "flagged_topics": [],
    }
    return SupervisionPlan(
        mode=mode,
        reason="test policy",
        policy_version=1,
        triggers=SemiAutonomousTriggers(**(rules | triggers)),
        review_deadline_seconds=deadline,
        qa_sample_rate=0.0,
    )


def triage(
    routed: RoutingDecision | None = None, supervision: SupervisionPlan | None = None
) -> TriageResult:
    routed = routed or decision()
    return TriageResult(
        classification=Classification(
            intent=routed.intent, confidence=routed.confidence, model_version="intent-test"
        ),
        decision=routed,
        supervision=supervision,
        classify_ms=1.5,
    )


def pattern(chosen: OrchestrationPattern = OrchestrationPattern.PRE_ACD) -> PatternChoice:
    return PatternChoice(
        pattern=chosen, reason=f"entry point uses {chosen.value}", config_version=3
    )


def ai_reply(
    text: str = "Your parcel is on its way.", action: AIAction = AIAction.REPLY, **fields: Any
) -> AIReply:
    values: dict[str, Any] = {"model_version": "care-bot:1", "prompt_tokens": 10}
    return AIReply(text=text, action=action, **(values | fields))


def capacity(agents: int = 2, available: int = 1, queued: int = 0, wait: float = 30.0) -> Any:
    return HumanAvailability(
        queue="general",
        agents=agents,
        available_agents=available,
        queued=queued,
        estimated_wait_seconds=wait,
    )


def success(command: Command, when: str, **overrides: Any) -> Event:
    """The plain successful result of ``command`` (``overrides`` replace its payload)."""
    op = command.op  # type: ignore[union-attr]
    match command.kind:
        case "choose_pattern":
            return PatternChosen(at=when, op=op, choice=overrides.get("choice", pattern()))
        case "triage":
            return Triaged(at=when, op=op, result=overrides.get("result", triage()))
        case "reserve_human":
            ack = overrides.get("ack", ReservationAck(reservation_id=f"r-{op}"))
            return ReservationAcked(at=when, op=op, ack=ack)
        case "call_ai":
            return AIReplied(at=when, op=op, reply=overrides.get("reply", ai_reply()))
        case "read_capacity":
            return CapacityRead(at=when, op=op, capacity=overrides.get("capacity", capacity()))
        case "transfer":
            ack = overrides.get("ack", TransferAck(transfer_id=f"t-{op}", queue_position=2))
            return TransferAcked(at=when, op=op, ack=ack)
        case "screen_turn":
            return TurnScreened(at=when, op=op, screen=overrides.get("screen", screen()))
        case "check_admission":
            decision = overrides.get("decision", admission())
            screened, chosen = overrides.get("screen"), overrides.get("pattern")
            return AdmissionChecked(
                at=when,
                op=op,
                decision=decision,
                screen=screened,
                pattern=chosen,
                triage=overrides.get("triage"),
                turn=overrides.get("turn"),
            )
    return CommandDone(at=when, op=op)


def admission(
    answer: LimitAnswer = LimitAnswer.ALLOWED, retry_after: float = 30.0
) -> AbuseDecision:
    """The abuse gate's answer: ``allowed``, or one limit hit with ``answer``."""
    if answer is LimitAnswer.ALLOWED:
        return AbuseDecision(answer=answer, policy_version=1, reasons=["within limits"])
    hit = LimitHit(
        rule="customer:start",
        estimate=11.0,
        limit=10,
        answer=answer,
        retry_after_seconds=retry_after,
    )
    return AbuseDecision(
        answer=answer,
        hits=[hit],
        retry_after_seconds=retry_after,
        reason=None if answer is LimitAnswer.QUEUED else "Too many requests from this source.",
        policy_version=1,
        reasons=[f"customer:start: 11.0 > 10 -> {answer.value}"],
    )


def screen(action: SafetyAction = SafetyAction.ALLOW, score: float = 0.02) -> TurnScreen:
    """The injection screen's answer: ``allow`` for a clean message, else a flagged one."""
    flagged = action is not SafetyAction.ALLOW
    decision = SafetyDecision(
        action=action,
        intent="order_status",
        channel="chat",
        score=score if not flagged else max(score, 0.97),
        rules=["instruction_override"] if flagged else [],
        policy_version=1,
        reasons=["test"],
    )
    return TurnScreen(
        flagged=flagged,
        decision=decision,
        detector_version="injection-test",
        refusal_text="Sorry, I can't help with that here.",
    )


def reply_check(action: SafetyAction | None) -> ReplyCheck | None:
    """The output check an AI reply comes with: None (a worker before the checks), or a
    refund promised outside the intent's allowance with the policy's ``action`` for it."""
    if action is None:
        return None
    finding = ReplyFinding(kind=ReplyFindingKind.REFUND_COMMITMENT, detail="refund promised")
    return ReplyCheck(
        action=action,
        findings=[finding],
        intent="order_status",
        channel="chat",
        policy_version=1,
        reasons=["test"],
        refusal_text="Sorry, I can't promise that here.",
    )


def failure(command: Command, when: str, error: str = "gone") -> CommandFailed:
    return CommandFailed(at=when, op=command.op, error=error)  # type: ignore[union-attr]


class Driver:
    """Feeds events to ``step`` at a moving clock and answers commands by kind."""

    def __init__(self, start: Started | None = None) -> None:
        self.seconds = 0.0
        self.state: InteractionCarry | None = None
        self.commands: list[Command] = []
        self.log: list[Command] = []
        self.note = ""
        self.feed(start or started())

    @property
    def now(self) -> str:
        return at(self.seconds)

    @property
    def c(self) -> InteractionCarry:
        assert self.state is not None
        return self.state

    def feed(self, event: Event) -> list[Command]:
        transition = step(self.state, event)
        self.state, self.commands, self.note = transition
        self.log += transition.commands
        return self.commands

    def later(self, seconds: float) -> Driver:
        self.seconds += seconds
        return self

    def pending(self, kind: type[C]) -> C:
        """The last command of ``kind`` issued (the one a result would answer)."""
        matching = self.emitted(kind)
        assert matching, f"no {kind.__name__} in {[c.kind for c in self.log]}"
        return matching[-1]

    def ok(self, kind: type[Command], **overrides: Any) -> list[Command]:
        return self.feed(success(self.pending(kind), self.now, **overrides))

    def fail(self, kind: type[Command], error: str = "gone") -> list[Command]:
        return self.feed(failure(self.pending(kind), self.now, error))

    def kinds(self) -> list[str]:
        return [command.kind for command in self.commands]

    def emitted(self, kind: type[C]) -> list[C]:
        return [command for command in self.log if isinstance(command, kind)]

    def to_ai(self, routed: RoutingDecision | None = None, **triaged: Any) -> Driver:
        """Through the opening to an AI conversation whose first reply is given."""
        self.ok(ChoosePattern)
        self.ok(Triage, result=triage(routed, **triaged))
        return self

    def to_ai_after_pattern(self, **triaged: Any) -> Driver:
        """The same when the pattern came with the admission check (``changes.START_GATE``)."""
        self.ok(Triage, result=triage(None, **triaged))
        return self
