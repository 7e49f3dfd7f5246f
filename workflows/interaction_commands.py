"""Carrying out the interaction lifecycle's commands inside ``InteractionWorkflow``.

A command that waits for a result starts its activity as a task; when the task ends its result
(or failure) is queued as an event carrying the command's ``op``, for the run loop to feed to the
machine. The command's ``timeout_seconds`` is the activity's schedule-to-close timeout, so every
result arrives, as success or failure, by the deadline the machine waits for. Local activities
carry the per-turn hot path (pattern, triage, capacity, the AI call, the final record); calls to
the ACD are regular activities that may wait minutes on a slow ACD and survive worker loss.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.abuse import AbuseActivities
    from activities.gate import GateActivities
    from activities.interaction import InteractionActivities as Acts
    from activities.safety import SafetyActivities
    from models import lifecycle as lc
    from models import search_attributes as sa
    from models.acd import ReleaseReservation
    from models.gate import GateRequest
    from models.interaction import ChannelSwitched, Reply

DECIDE = timedelta(seconds=10)
"""One attempt of a decision step (pattern, triage, capacity); the command bounds all of them."""
ACD_ATTEMPT = timedelta(seconds=10)
AI_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=4,
    non_retryable_error_types=["AIRequestRejected", "CircuitOpen"],
)
ACD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["AcdRejected"],
)
SHADOW_RETRY = RetryPolicy(maximum_attempts=2)
RECORD_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))

RESULTS: dict[type[Any], tuple[type[Any], str]] = {
    lc.CallAI: (lc.AIReplied, "reply"),
    lc.ChoosePattern: (lc.PatternChosen, "choice"),
    lc.Triage: (lc.Triaged, "result"),
    lc.ReadCapacity: (lc.CapacityRead, "capacity"),
    lc.ReserveHuman: (lc.ReservationAcked, "ack"),
    lc.TransferToHuman: (lc.TransferAcked, "ack"),
    lc.CheckAdmission: (lc.AdmissionChecked, "decision"),
    lc.ScreenTurn: (lc.TurnScreened, "screen"),
}
"""Commands whose activity returns what the machine reads (event, field); others end in
``CommandDone``."""


def now() -> str:
    return workflow.now().isoformat()


class CommandExecutor:
    """Runs commands; results come back through ``events``, answers through the two inboxes."""

    def __init__(
        self,
        events: list[lc.Event],
        replies: dict[str, Reply],
        switches: dict[str, ChannelSwitched],
        refused: dict[str, lc.RefuseMessage],
    ) -> None:
        self._events = events
        self._replies = replies
        self._switches = switches
        self._refused = refused

    def perform(self, c: lc.Command) -> None:
        match c:
            case lc.CallAI():
                self._local(c, Acts.invoke_ai, c.request, None, AI_RETRY)
            case lc.ChoosePattern():
                self._local(c, Acts.select_pattern, c.request, DECIDE, None)
            case lc.Triage():
                self._local(c, Acts.triage, c.request, DECIDE, None)
            case lc.ReadCapacity():
                self._local(c, Acts.human_capacity, c.queue, DECIDE, None)
            case lc.CheckAdmission(screen=None, pattern=None):
                self._local(c, AbuseActivities.check_admission, c.request, DECIDE, None)
            case lc.CheckAdmission():
                # The check with what follows it once admitted; the answer's fields are the event's.
                gate = GateRequest(
                    admission=c.request,
                    screen=c.screen,
                    pattern=c.pattern,
                    classify_ahead=c.classify_ahead,
                    triage=c.triage,
                    turn=c.turn,
                )
                # With the turn's AI call inside, one attempt may take as long as the call.
                attempt = DECIDE if c.turn is None else None
                self._local(c, GateActivities.pass_gates, gate, attempt, None, spread=True)
            case lc.ScreenTurn():
                self._local(c, SafetyActivities.screen_turn, c.request, DECIDE, None)
            case lc.RecordOutcome():
                self._local(c, Acts.record_interaction, c.record, None, RECORD_RETRY)
            case lc.ReserveHuman():
                self._remote(c, Acts.reserve_human, c.request, ACD_RETRY)
            case lc.TransferToHuman():
                self._remote(c, Acts.warm_transfer, c.request, ACD_RETRY)
            case lc.ReleaseReservation():
                request = ReleaseReservation(reservation_id=c.reservation_id)
                self._remote(c, Acts.release_reservation, request, ACD_RETRY)
            case lc.ForwardToHuman():
                self._remote(c, Acts.forward_to_human, c.message, ACD_RETRY)
            case lc.BookCallback():
                self._remote(c, Acts.schedule_callback, c.request, ACD_RETRY)
            case lc.WithdrawTransfer():
                self._remote(c, Acts.withdraw_transfer, c.transfer_id, ACD_RETRY)
            case lc.ArchiveRun():
                self._remote(c, Acts.flush_run, c.flush, RECORD_RETRY)
            case lc.CallShadow():
                attempt = timedelta(seconds=c.timeout_seconds / 2)
                self._remote(c, Acts.shadow_ai, c.request, SHADOW_RETRY, attempt)
            case lc.DeliverReply():
                self._replies[c.ticket] = c.reply
            case lc.RefuseMessage():
                self._refused[c.ticket] = c
            case lc.DeliverSwitch():
                self._switches[c.ticket] = c.answer
            case lc.UpsertSearchAttributes():
                workflow.upsert_search_attributes(search_attribute_updates(c))

    def _local(
        self, c: Any, activity: Any, arg: Any, attempt: Any, retry: Any, spread: bool = False
    ) -> None:
        self._run(workflow.start_local_activity_method, c, activity, arg, attempt, retry, spread)

    def _remote(
        self, c: Any, activity: Any, arg: Any, retry: Any, attempt: Any = ACD_ATTEMPT
    ) -> None:
        self._run(workflow.start_activity_method, c, activity, arg, attempt, retry)

    def _run(
        self,
        start: Any,
        c: Any,
        activity: Any,
        arg: Any,
        attempt: Any,
        retry: Any,
        spread: bool = False,
    ) -> None:
        """Start the activity; whatever it ends with becomes the machine's next event (with
        ``spread``, the fields of the model it returns are the event's)."""
        task = start(
            activity,
            arg,
            start_to_close_timeout=attempt,
            schedule_to_close_timeout=timedelta(seconds=c.timeout_seconds),
            retry_policy=retry,
        )
        op, result = c.op, RESULTS.get(type(c))

        def finished(future: asyncio.Future[Any]) -> None:
            if future.cancelled():
                self._events.append(lc.CommandFailed(at=now(), op=op, error="cancelled"))
            elif (error := future.exception()) is not None:
                cause = getattr(error, "cause", None) or error
                kind = (cause.type or "") if isinstance(cause, ApplicationError) else ""
                self._events.append(
                    lc.CommandFailed(at=now(), op=op, error=str(cause), error_type=kind)
                )
            elif result is None:
                self._events.append(lc.CommandDone(at=now(), op=op))
            else:
                event, field = result
                value = future.result()
                fields = dict(value) if spread else {field: value}
                self._events.append(event(at=now(), op=op, **fields))

        asyncio.ensure_future(task).add_done_callback(finished)


def search_attribute_updates(c: lc.UpsertSearchAttributes) -> list[SearchAttributeUpdate[Any]]:
    values: list[tuple[Any, Any]] = [
        (sa.INTENT, c.intent),
        (sa.SUPERVISION_MODE, c.supervision_mode),
        (sa.INTERACTION_STATE, c.state),
        (sa.POOL, c.pool),
        (sa.PENDING_REVIEW, c.pending_review),
        (sa.REVIEW_SINCE, datetime.fromisoformat(c.review_since) if c.review_since else None),
    ]
    return [key.value_set(value) for key, value in values if value is not None]
