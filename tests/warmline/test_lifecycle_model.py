"""Model-based test of the interaction lifecycle: random and hostile event sequences.

A hypothesis state machine plays everyone around ``warmline.lifecycle.step`` at once: customers
(messages with and without ids, repeats, PII), the ACD (accepts, resolves, at any time), supervisors
(right and wrong drafts), operators, bad signals, the clock, and the executor answering commands
successfully, with failures, twice, late or never (then only a deadline ends the wait). After
every step the invariants below must hold; at the end the interaction is told to close and must
reach a recorded outcome within a bounded number of steps whatever state it was in.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from models.handoff import HandoffAction
from models.interaction import (
    Channel,
    InteractionResult,
    InteractionState,
    Pool,
    Reply,
    Route,
    Sender,
)
from models.interaction_state import InteractionCarry
from models.lifecycle import (
    AgentAccepted,
    AgentResolved,
    AIReplied,
    CallAI,
    ChannelSwitchRequested,
    ChoosePattern,
    Command,
    Complete,
    ContinueAsNew,
    ContinueAsNewSuggested,
    Continued,
    CustomerMessageReceived,
    DeadlineReached,
    DeliverReply,
    DeliverSwitch,
    EndRequested,
    Event,
    Fail,
    HumanRequested,
    InputRejected,
    PatternChosen,
    RefuseMessage,
    ReleaseReservation,
    ReservationAcked,
    ReviewDecided,
    Started,
    TransferAcked,
    TransferToHuman,
    Triage,
    Triaged,
)
from models.supervision import ReviewDecision, ReviewResponse
from tests.warmline.lifecycle_builders import (
    EMAIL,
    PII,
    T0,
    WORKFLOW_ID,
    ai_reply,
    at,
    decision,
    failure,
    interaction_input,
    pattern,
    success,
    triage,
)
from tests.warmline.lifecycle_strategies import CUSTOMER_TEXTS, UNSAFE, results_for, topic_shifts
from warmline.lifecycle import next_deadline, step
from warmline.lifecycle.wording import CLOSED

CLOSE_WITHIN_STEPS = 40
CATCH_UP_STEPS = 6
SETTLE_EVENTS = 12
"""Events before the run may end the conversation (the teardown closes it from anywhere)."""


class LifecycleModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0
        self.state: InteractionCarry | None = None
        self.open: dict[int, Command] = {}
        self.answered: dict[int, Command] = {}
        self.emitted: set[int] = set()
        self.waiting_tickets: set[str] = set()
        self.ticket_count = 0
        self.replies: dict[int, Reply] = {}
        self.customer_turns: set[int] = set()
        self.acked_reservations: set[str] = set()
        self.released: set[str] = set()
        self.converted: set[str] = set()
        self.continue_pending = False
        self.result: InteractionResult | None = None
        self.failed = False
        self.fed = 0
        self.approved_unsafe = False

    # -- driving the machine -------------------------------------------------------------
    @property
    def now(self) -> str:
        return at(self.seconds)

    def ticket(self, wanted: bool) -> str | None:
        if not wanted:
            return None
        self.ticket_count += 1
        ticket = f"u-{self.ticket_count}"
        self.waiting_tickets.add(ticket)
        return ticket

    def feed(self, event: Event) -> None:
        before = self.state.model_copy(deep=True) if self.state is not None else None
        self.fed += 1
        transition = step(self.state, event)
        assert self.state == before, "step changed the state it was given"
        self.state = transition.state
        self.continue_pending = False
        for command in transition.commands:
            self.track(command)
        if self.state is not None:
            sent = [e.text for e in self.state.transcript if e.sender is Sender.AI]
            assert self.approved_unsafe or not any(UNSAFE in t for t in sent), "failed draft sent"
            self.customer_turns |= {
                e.turn for e in self.state.transcript if e.sender is Sender.CUSTOMER
            }

    def track(self, command: Command) -> None:
        match command:
            case DeliverReply(ticket=ticket, reply=reply):
                assert UNSAFE not in reply.text or self.approved_unsafe, "failed draft sent"
                assert ticket in self.waiting_tickets, f"{ticket} answered twice or never asked"
                self.waiting_tickets.remove(ticket)
                if reply.text != CLOSED:
                    first = self.replies.setdefault(reply.turn, reply)
                    assert first == reply, f"turn {reply.turn} got two different replies"
            case DeliverSwitch(ticket=ticket) | RefuseMessage(ticket=ticket):
                # A refused message's caller is answered too: with the refusal's reason.
                assert ticket in self.waiting_tickets, f"{ticket} answered twice or never asked"
                self.waiting_tickets.remove(ticket)
            case ContinueAsNew():
                assert self.state is not None and self.state.job is None
                assert not self.state.inbox and not self.waiting_tickets, "a caller still waits"
                self.continue_pending = True
            case Complete(result=result):
                self.result = result
            case Fail():
                self.failed = True
            case _:
                if isinstance(command, ReleaseReservation):
                    self.released.add(command.reservation_id)
                op = getattr(command, "op", None)
                if op is not None:
                    assert op not in self.emitted, f"op {op} handed out twice"
                    self.emitted.add(op)
                    self.open[op] = command

    def answer(self, op: int, result: Event) -> None:
        first = op in self.open
        command = self.open.pop(op, None) or self.answered[op]
        self.answered[op] = command
        if isinstance(result, ReservationAcked) and first:
            # Temporal completes an activity once: a seat exists only if its first answer
            # reserved it. A second answer (the hostile duplicate) must be ignored, and the
            # seat it names was never taken.
            self.acked_reservations.add(result.ack.reservation_id)
        converts = isinstance(result, TransferAcked) and isinstance(command, TransferToHuman)
        if converts and command.request.reservation_id:  # type: ignore[union-attr]
            self.converted.add(command.request.reservation_id)  # type: ignore[union-attr]
        self.feed(result)

    # -- everyone around the interaction --------------------------------------------------
    @initialize(
        first=st.sampled_from(CUSTOMER_TEXTS),
        channel=st.sampled_from(list(Channel)),
        priority=st.integers(0, 9),
        safety=st.booleans(),
        turn_intents=st.booleans(),
    )
    def start(
        self, first: str, channel: Channel, priority: int, safety: bool, turn_intents: bool
    ) -> None:
        request = interaction_input(
            first, channel=channel, metadata={"priority": priority, "contact": EMAIL}
        )
        self.feed(
            Started(
                at=self.now,
                workflow_id=WORKFLOW_ID,
                request=request,
                safety=safety,
                turn_intents=turn_intents,
            )
        )

    @rule(
        text=st.sampled_from(CUSTOMER_TEXTS),
        message_id=st.none() | st.sampled_from(["m-1", "m-2", "m-3"]),
        wants_reply=st.booleans(),
    )
    def customer_message(self, text: str, message_id: str | None, wants_reply: bool) -> None:
        ticket = self.ticket(wants_reply)
        self.feed(
            CustomerMessageReceived(at=self.now, text=text, message_id=message_id, ticket=ticket)
        )

    @precondition(
        lambda self: self.state is not None and self.state.turn_intents and not self.state.finished
    )
    @rule(text=st.sampled_from(CUSTOMER_TEXTS), check_first=st.booleans(), data=st.data())
    def customer_changes_topic(self, text: str, check_first: bool, data: st.DataObject) -> None:
        """A later turn while the AI holds the conversation: its intent check and the AI call
        answered in either order (topic kept, re-routed, handed off or to a human)."""
        for _ in range(2 * CATCH_UP_STEPS):  # the current job first, successfully
            c = self.state
            wait = c.job.wait if c is not None and c.job else None
            if wait is None or wait.op not in self.open:
                break
            self.answer(wait.op, self.happy(self.open[wait.op], data))
        for _ in range(3):  # a few topics in a row: hand-offs, their limit, ping-pong
            c = self.state
            if c is None or c.state is not InteractionState.AI_ACTIVE or c.job is not None:
                return
            self.feed(CustomerMessageReceived(at=self.now, text=text, ticket=self.ticket(True)))
            checks = [op for op, c in self.open.items() if isinstance(c, Triage) and c.request.turn]
            calls = [op for op, c in self.open.items() if isinstance(c, CallAI)]
            for op in (checks + calls) if check_first else (calls + checks):
                if op not in self.open:
                    continue
                if op in checks and data.draw(st.booleans(), label="confident shift"):
                    result: Event = Triaged(at=self.now, op=op, result=data.draw(topic_shifts()))
                else:
                    result = data.draw(results_for(self.open[op], self.now, ok_only=True))
                self.answer(op, result)

    def happy(self, command: Command, data: st.DataObject) -> Event:
        """The result that keeps the AI in the conversation (opening to AI, a plain answer)."""
        op = command.op  # type: ignore[union-attr]
        match command:
            case ChoosePattern():
                return PatternChosen(at=self.now, op=op, choice=pattern())
            case Triage() if command.request.turn is None:
                return Triaged(at=self.now, op=op, result=triage(decision(Route.AI)))
            case CallAI():
                return AIReplied(at=self.now, op=op, reply=ai_reply("Here is what I found."))
        return data.draw(results_for(command, self.now, ok_only=True))

    @rule(reason=st.sampled_from(["pressed 0", f"mail {EMAIL}"]))
    def request_human(self, reason: str) -> None:
        self.feed(HumanRequested(at=self.now, reason=reason))

    @rule(channel=st.sampled_from(list(Channel)), wants_reply=st.booleans())
    def switch_channel(self, channel: Channel, wants_reply: bool) -> None:
        ticket = self.ticket(wants_reply)
        self.feed(
            ChannelSwitchRequested(at=self.now, channel=channel, reason="moved", ticket=ticket)
        )

    @rule(agent=st.sampled_from(["agent-1", "agent-2"]))
    def agent_accepts(self, agent: str) -> None:
        self.feed(AgentAccepted(at=self.now, agent_id=agent))

    @precondition(lambda self: self.fed >= SETTLE_EVENTS)
    @rule(agent=st.sampled_from(["agent-1", "agent-2"]), csat=st.none() | st.integers(1, 5))
    def agent_resolves(self, agent: str, csat: int | None) -> None:
        self.feed(
            AgentResolved(at=self.now, agent_id=agent, resolution=f"sent to {EMAIL}", csat=csat)
        )

    @rule(decided=st.sampled_from(list(ReviewDecision)), the_held_one=st.booleans())
    def supervisor_decides(self, decided: ReviewDecision, the_held_one: bool) -> None:
        held = self.state.pending_draft if self.state else None
        draft_id = held.draft_id if held and the_held_one else "99-99"
        edited = f"Edited: write to {EMAIL}" if decided is ReviewDecision.EDIT else None
        if held and the_held_one and decided is ReviewDecision.APPROVE and UNSAFE in held.text:
            self.approved_unsafe = True  # a supervisor may still send a held failed draft
        response = ReviewResponse(
            draft_id=draft_id,
            decision=decided,
            reviewer_id="sup-1",
            edited_text=edited,
            reason=f"policy, see {EMAIL}",
        )
        self.feed(ReviewDecided(at=self.now, response=response))

    @precondition(lambda self: self.fed >= SETTLE_EVENTS)
    @rule(csat=st.none() | st.integers(1, 5))
    def customer_leaves(self, csat: int | None) -> None:
        self.feed(EndRequested(at=self.now, reason=f"left, mail {EMAIL}", csat=csat))

    @rule(name=st.sampled_from(["human_accepted", "review_response", "customer_message"]))
    def bad_signal(self, name: str) -> None:
        self.feed(InputRejected(at=self.now, name=name, reason=f"agent_id: field required {EMAIL}"))

    @rule()
    def temporal_suggests_continue_as_new(self) -> None:
        self.feed(ContinueAsNewSuggested(at=self.now))

    @rule()
    def started_again(self) -> None:
        self.feed(Started(at=self.now, workflow_id=WORKFLOW_ID, request=interaction_input()))

    @rule(seconds=st.sampled_from([0.001, 0.5, 3.0, 40.0, 700.0]))
    def time_passes(self, seconds: float) -> None:
        self.seconds += seconds

    @rule()
    def timer_fires_early_or_late(self) -> None:
        self.feed(DeadlineReached(at=self.now))

    @precondition(lambda self: self.state is not None and next_deadline(self.state) is not None)
    @rule()
    def next_deadline_passes(self) -> None:
        self.run_to_deadline()

    def run_to_deadline(self) -> None:
        assert self.state is not None
        deadline = next_deadline(self.state)
        assert deadline is not None
        due = (datetime.fromisoformat(deadline) - T0).total_seconds()
        self.seconds = max(self.seconds, due)
        self.feed(DeadlineReached(at=self.now))

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data())
    def executor_answers(self, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(sorted(self.open)))
        self.answer(op, data.draw(results_for(self.open[op], self.now)))

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data())
    def executor_catches_up(self, data: st.DataObject) -> None:
        """Answer what the conversation waits for, a few times over, mostly successfully."""
        for _ in range(CATCH_UP_STEPS):
            c = self.state
            wait = c.job.wait if c is not None and c.job else None
            if wait is None or wait.op not in self.open:
                return
            command = self.open[wait.op]
            if data.draw(st.integers(0, 4), label="fails") == 0:
                self.answer(wait.op, failure(command, self.now))
            else:
                self.answer(wait.op, data.draw(results_for(command, self.now, ok_only=True)))

    @precondition(lambda self: bool(self.answered))
    @rule(data=st.data())
    def executor_answers_again(self, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(sorted(self.answered)))
        self.answer(op, data.draw(results_for(self.answered[op], self.now)))

    @precondition(lambda self: self.continue_pending)
    @rule()
    def executor_continues_as_new(self) -> None:
        # Results of the old run's commands never reach the new run.
        self.open.clear()
        self.answered.clear()
        self.feed(Continued(at=self.now))

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def nothing_secret_is_kept(self) -> None:
        if self.state is not None:
            kept = self.state.model_dump_json()
            assert not any(secret in kept for secret in PII), "PII in state"

    @invariant()
    def handoffs_are_bounded_and_never_ping_pong(self) -> None:
        c = self.state
        if c is None:
            return
        handed = [r for r in c.handoffs if r.action is HandoffAction.HANDOFF]
        assert c.handoff_count == len(handed) <= 2, "more hand-offs than any policy allows"
        assert [r.count for r in handed] == list(range(1, len(handed) + 1))
        for before, after in itertools.pairwise(handed):
            assert after.to_agent is not None and before.to_agent is not None
            left = before.from_agent.split(":")[0]
            assert after.to_agent.split(":")[0] != left, "handed straight back to the agent left"
        if handed:
            assert c.turn_intents and c.handoff_package is not None
            assert c.handoff_package.handoff_count == c.handoff_count
        humans = [r for r in c.handoffs if r.action is HandoffAction.HUMAN]
        assert len(humans) <= 1, "a topic shift handed to a human twice"

    @invariant()
    def every_wait_has_a_deadline(self) -> None:
        c = self.state
        if c is None or c.finished:
            return
        assert next_deadline(c) is not None, f"waits for ever in {c.state} (job {c.job})"
        wait = c.job.wait if c.job else None
        if wait is not None and wait.op:
            assert wait.op in self.emitted, "waits for a command never issued"

    @invariant()
    def each_reply_answers_one_customer_turn(self) -> None:
        c = self.state
        if c is None:
            return
        for turn, reply in c.replies_by_turn.items():
            assert turn in self.customer_turns, f"reply to turn {turn} without a message"
            assert self.replies.setdefault(turn, reply) == reply, f"turn {turn} answered twice"
        assert self.customer_turns == set(range(1, c.turns + 1)), "turns and transcript disagree"

    @invariant()
    def every_caller_is_held_by_someone(self) -> None:
        c = self.state
        if c is None:
            return
        held = set(c.job.tickets if c.job else [])
        for item in c.inbox:
            held |= set(getattr(item, "tickets", []) or [getattr(item, "ticket", None)])
        assert self.waiting_tickets <= held, f"forgotten callers {self.waiting_tickets - held}"

    @invariant()
    def the_outcome_agrees_with_the_transcript(self) -> None:
        c, result = self.state, self.result
        if c is None or result is None:
            return
        assert c.finished and result.outcome is c.outcome and result.turns == c.turns
        segments = result.handle_seconds
        assert min(segments.values()) >= 0
        assert segments["ai"] + segments["queue"] + segments["human"] <= segments["total"] + 0.01
        if result.pool is Pool.AI_CONTAINED:
            assert c.escalation_trigger is None
        if c.ai_turns == 0 and c.escalation_trigger is not None:
            assert result.pool is Pool.HUMAN_ONLY
        assert self.acked_reservations <= self.released | self.converted, "a seat left held"

    def teardown(self) -> None:
        """Whatever state the run left, the close reaches a recorded outcome, boundedly."""
        if self.state is None:
            return
        self.feed(EndRequested(at=self.now))
        for _ in range(CLOSE_WITHIN_STEPS):
            c = self.state
            if c.finished:
                break
            wait = c.job.wait if c.job else None
            if wait is not None and wait.op in self.open:
                self.answer(wait.op, success(self.open[wait.op], self.now))
            else:
                self.run_to_deadline()
        assert self.state.finished, (
            f"not closed within {CLOSE_WITHIN_STEPS} steps: {self.state.job}"
        )
        assert self.result is not None or self.failed
        assert not self.waiting_tickets, "a caller never got an answer"
        self.the_outcome_agrees_with_the_transcript()


TestLifecycle = LifecycleModel.TestCase
TestLifecycle.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
