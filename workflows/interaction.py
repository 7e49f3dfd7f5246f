"""``InteractionWorkflow``: one customer interaction, from first words to a recorded outcome.

Every decision is made by the pure lifecycle machine ``warmline.lifecycle.step``; this class only
turns Temporal's inputs into its events and carries out its commands. Signals and updates are
validated at the boundary (``workflows.boundary``: a bad start fails, a bad update is rejected, a
bad signal reaches its handler as a ``RejectedPayload`` the machine records) and only queue
events; an update then waits for the answer the machine addresses to it. One run loop feeds the
events to the machine in order and performs its commands (``interaction_commands``); activity
results come back as events, and the machine's next deadline is the loop's only timer.

It runs outside the workflow sandbox (``sandboxed=False``): it runs once per customer contact,
and the sandbox's per-run module re-import and per-activation import machinery was about a third
of a two-core worker's event-loop time (``bench/throughput``). Determinism rests elsewhere:
decisions are pure (``warmline.lifecycle``), this code uses only ``workflow.*``
for time and waiting, ``tests/workflows/test_determinism_guard.py`` rejects clocks, randomness,
I/O, threads and environment reads in it and everything it imports, and recorded histories replay
in the tests. The long-running, low-volume workflows keep the sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models import lifecycle as lc
    from models.boundary import RejectedPayload
    from models.interaction import (
        INTERACTION_WORKFLOW,
        AwaitReply,
        ChannelSwitched,
        CustomerMessage,
        EndInteraction,
        HumanAccepted,
        HumanResolved,
        InteractionInput,
        InteractionResult,
        InteractionState,
        Reply,
        RequestHuman,
        StatusView,
        SwitchChannel,
    )
    from models.interaction_state import InteractionCarry, InteractionStart
    from models.supervision import ReviewResponse
    from warmline.lifecycle import changes, intake, next_timer, status_view, step
    from warmline.redaction import redact
    from workflows import boundary
    from workflows.interaction_commands import CommandExecutor, now


M = TypeVar("M", bound=BaseModel)


@workflow.defn(name=INTERACTION_WORKFLOW, sandboxed=False)
class InteractionWorkflow:
    def __init__(self) -> None:
        self._state: InteractionCarry | None = None
        self._events: list[lc.Event] = []
        self._replies: dict[str, Reply] = {}
        self._switches: dict[str, ChannelSwitched] = {}
        self._refused: dict[str, lc.RefuseMessage] = {}
        self._commands = CommandExecutor(self._events, self._replies, self._switches, self._refused)
        self._continuing = False
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None
        self._continue = False
        self._end: lc.Complete | lc.Fail | None = None

    @property
    def state(self) -> InteractionCarry:
        assert self._state is not None, "the run's first event creates the state"
        return self._state

    # -- the lifecycle ---------------------------------------------------------------------
    @workflow.run
    async def run(self, request: InteractionStart) -> InteractionResult:
        carried = boundary.carried_state(request)
        # Asked once per run, before any command: a replayed older run keeps its old commands.
        baseline = workflow.patched(changes.BASELINE)
        legacy = _legacy(baseline)
        if carried is None:
            public = InteractionInput.model_validate(request.model_dump(exclude={"state"}))
            info = workflow.info()
            first: lc.Event = lc.Started(
                at=now(),
                workflow_id=info.workflow_id,
                request=public,
                execution_id=info.first_execution_run_id,
                legacy=legacy,
                safety=baseline or workflow.patched(changes.SAFETY_GATES),
                turn_intents=baseline or workflow.patched(changes.TURN_INTENTS),
            )
        else:
            self._state, first = carried, lc.Continued(at=now(), legacy=legacy)
        self._feed(first)
        while self._end is None:
            if self._continue and not self._events:
                # Waiters for a turn not yet taken are released (they await it again in the
                # next run) so that a client always awaiting the next turn cannot hold the run.
                self._continuing = True
                await boundary.continue_as_new(request, self.state, idle=self._idle)
                self._continuing = False
            await workflow.wait_condition(lambda: bool(self._events))
            self._feed(self._events.pop(0))
        await workflow.wait_condition(workflow.all_handlers_finished)
        if isinstance(self._end, lc.Fail):
            raise ApplicationError(
                self._end.reason, type="InteractionNotRecorded", non_retryable=True
            )
        return self._end.result

    def _idle(self) -> bool:
        return not self._events

    def _feed(self, event: lc.Event) -> None:
        """One event through the machine, then its commands; the next deadline arms the timer."""
        transition = step(self._state, event)
        self._state, self._continue = transition.state, False
        if transition.note:
            workflow.logger.debug("%s: %s", event.kind, transition.note)
        for command in transition.commands:
            match command:
                case lc.ContinueAsNew():
                    self._continue = True
                case lc.Complete() | lc.Fail():
                    self._end = command
                case _:
                    self._commands.perform(command)
        if not self.state.continue_suggested and workflow.info().is_continue_as_new_suggested():
            self._events.append(lc.ContinueAsNewSuggested(at=now()))
        self._arm_timer(next_timer(self.state))

    def _arm_timer(self, deadline: str | None) -> None:
        """One timer for the machine's next deadline. A deadline that moved later keeps the
        running timer (its wake-up is ignored and re-arms), so a busy conversation starts no
        timer per turn."""
        due = datetime.fromisoformat(deadline) if deadline else None
        if due is None or (self._timer_at is not None and self._timer_at <= due):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        seconds = (due - workflow.now()).total_seconds()
        self._timer = asyncio.ensure_future(workflow.sleep(max(0.001, seconds)))
        self._timer.add_done_callback(self._timer_fired)

    def _timer_fired(self, timer: asyncio.Task[None]) -> None:
        if timer is self._timer and not timer.cancelled():
            self._timer, self._timer_at = None, None
            self._events.append(lc.DeadlineReached(at=now()))

    # -- updates: validated at the boundary, answered by the machine ------------------------------
    def _reject_if_closed(self) -> None:
        c = self._state
        if c is not None and (c.closing is not None or c.state is InteractionState.CLOSED):
            raise ApplicationError("interaction is closed", type="InteractionClosed")

    @workflow.update(name="send_message")
    async def send_message(self, message: CustomerMessage) -> Reply:
        ticket = _ticket()
        self._events.append(
            lc.CustomerMessageReceived(at=now(), ticket=ticket, **message.model_dump())
        )
        await workflow.wait_condition(lambda: ticket in self._replies or ticket in self._refused)
        refused = self._refused.pop(ticket, None)
        if refused is not None:
            raise ApplicationError(refused.reason, type=refused.error_type, non_retryable=True)
        return self._replies.pop(ticket)

    @send_message.validator
    def _validate_send_message(self, message: CustomerMessage) -> None:
        self._reject_if_closed()
        if self._state is not None:
            refused = intake.refusal(self._state, lambda: redact(message.text), message.message_id)
            if refused is not None:
                raise ApplicationError(redact(refused.reason), type=refused.error_type)

    @workflow.update(name="await_reply")
    async def await_reply(self, wanted: AwaitReply | None = None) -> Reply:
        turn = (wanted or AwaitReply()).turn
        refused_before = self._state.messages_refused if self._state else 0
        released = self._state is None or changes.made(self._state, changes.AWAIT_RELEASED)

        def refused() -> bool:
            """A customer message was refused meanwhile and the turn is not on its way."""
            c = self._state
            return (
                c is not None
                and c.messages_refused > refused_before
                and turn > c.turns + len(intake.queued_messages(c))
            )

        def ready() -> bool:
            c = self._state
            if c is None:
                return False
            if turn in c.replies_by_turn or c.turns > turn or c.finished:
                return True
            return released and (self._continuing or refused())

        await workflow.wait_condition(ready)
        reply = self.state.replies_by_turn.get(turn)
        if reply is not None:
            return reply
        if released and refused():
            why = next((i for i in reversed(self.state.ignored) if i.startswith("customer_")), "")
            raise ApplicationError(
                f"no turn {turn} is coming: {why or 'a customer message was refused'}",
                type="MessageRefused",
            )
        if released and self._continuing and self.state.turns < turn:
            raise ApplicationError(
                f"turn {turn} is not taken yet and the interaction continues as new: await it "
                "again",
                type="ContinuedAsNew",
            )
        raise ApplicationError(f"no reply to turn {turn} is kept", type="ReplyNotKept")

    @await_reply.validator
    def _validate_await_reply(self, wanted: AwaitReply | None = None) -> None:
        arriving = sum(isinstance(e, lc.CustomerMessageReceived) for e in self._events)
        problem = intake.turn_refusal(self._state, (wanted or AwaitReply()).turn, arriving)
        if problem is not None:
            raise boundary.invalid_input("AwaitReply", problem)

    @workflow.update(name="switch_channel")
    async def switch_channel(self, switch: SwitchChannel) -> ChannelSwitched:
        ticket = _ticket()
        self._events.append(
            lc.ChannelSwitchRequested(at=now(), ticket=ticket, **switch.model_dump())
        )
        await workflow.wait_condition(lambda: ticket in self._switches)
        return self._switches.pop(ticket)

    @switch_channel.validator
    def _validate_switch_channel(self, switch: SwitchChannel) -> None:
        self._reject_if_closed()
        if self._state is not None and switch.channel is self._state.channel:
            raise boundary.invalid_input("SwitchChannel", f"channel: already {switch.channel}")
        too_many = intake.switch_refusal(self._state) if self._state is not None else None
        if too_many is not None:
            raise ApplicationError(too_many, type="TooManySwitches")

    # -- signals: a bad payload is recorded, never fatal -----------------------------------------
    def _accept(
        self, name: str, payload: M | RejectedPayload | None, model: type[M], event: type[Any]
    ) -> None:
        """The signal's fields become the event's (a review decision travels whole)."""
        accepted = boundary.accept(payload, model, name)
        if isinstance(accepted, RejectedPayload):
            self._events.append(lc.InputRejected(at=now(), name=name, reason=accepted.reason))
        elif isinstance(accepted, ReviewResponse):
            self._events.append(lc.ReviewDecided(at=now(), response=accepted))
        else:
            self._events.append(event(at=now(), **accepted.model_dump()))

    @workflow.signal(name="customer_message")
    def customer_message(self, payload: CustomerMessage | RejectedPayload | None = None) -> None:
        self._accept("customer_message", payload, CustomerMessage, lc.CustomerMessageReceived)

    @workflow.signal(name="request_human")
    def request_human(self, payload: RequestHuman | RejectedPayload | None = None) -> None:
        self._accept("request_human", payload, RequestHuman, lc.HumanRequested)

    @workflow.signal(name="human_accepted")
    def human_accepted(self, payload: HumanAccepted | RejectedPayload | None = None) -> None:
        self._accept("human_accepted", payload, HumanAccepted, lc.AgentAccepted)

    @workflow.signal(name="human_resolved")
    def human_resolved(self, payload: HumanResolved | RejectedPayload | None = None) -> None:
        self._accept("human_resolved", payload, HumanResolved, lc.AgentResolved)

    @workflow.signal(name="review_response")
    def review_response(self, payload: ReviewResponse | RejectedPayload | None = None) -> None:
        self._accept("review_response", payload, ReviewResponse, lc.ReviewDecided)

    @workflow.signal(name="end_interaction")
    def end_interaction(self, payload: EndInteraction | RejectedPayload | None = None) -> None:
        self._accept("end_interaction", payload, EndInteraction, lc.EndRequested)

    @workflow.query(name="status")
    def status(self) -> StatusView:
        return status_view(self.state)


def _legacy(baseline: bool) -> tuple[str, ...]:
    """The changes this run must not make. Under the baseline marker the covered ones are not
    asked one by one: each question would write a marker and a search-attribute upsert
    (``warmline.lifecycle.changes``)."""
    covered = changes.BASELINE_COVERS if not baseline else ()
    asked = (*covered, *changes.AFTER_BASELINE)
    return tuple(change for change in asked if not workflow.patched(change))


def _ticket() -> str:
    """The update call itself names who waits for the machine's answer."""
    info = workflow.current_update_info()
    assert info is not None, "only an update handler waits for an answer"
    return info.id
