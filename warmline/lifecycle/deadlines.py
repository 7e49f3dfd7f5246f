"""Deadlines: when the interaction stops waiting, and what happens then.

Every wait ends. While a job waits for a command, the command's own timeout ends the wait (its
failure arrives as an event) and a held draft's review deadline is a timer. While nothing runs,
the state decides: an AI conversation closes after the channel's silence, a customer waiting for a
human is offered a callback after the accept deadline and called back after the maximum wait (a
buffered one asks the queue for room every few seconds meanwhile), and a human session the ACD
never reports resolved closes after a long silence.
"""

from __future__ import annotations

from datetime import timedelta

from models.interaction import InteractionState
from models.interaction_state import InteractionCarry
from models.routing import EscalationPolicy
from warmline.closing import default_outcome
from warmline.lifecycle import handover
from warmline.lifecycle.transition import Step, parse_time

DEFAULT_INACTIVITY_SECONDS = 900.0


def _policy(c: InteractionCarry) -> EscalationPolicy:
    return c.decision.escalation if c.decision else EscalationPolicy()


def _later(start: str, seconds: float) -> str:
    return (parse_time(start) + timedelta(seconds=seconds)).isoformat()


def _inactivity(c: InteractionCarry) -> str:
    limit = _policy(c).inactivity_timeout_seconds.get(c.channel.value, DEFAULT_INACTIVITY_SECONDS)
    return _later(c.last_activity_at, limit)


def _human_wait(c: InteractionCarry) -> str:
    """Offer a callback after the accept deadline; book it after the maximum wait."""
    policy = _policy(c)
    assert c.human.requested_at is not None
    limit = (
        policy.max_human_wait_seconds
        if c.human.callback_offered
        else policy.human_accept_deadline_seconds
    )
    return _later(c.human.requested_at, limit)


def _admission(c: InteractionCarry) -> str | None:
    human = c.human
    return human.next_admission_at if human.buffered and human.transfer_id is None else None


def _human_session(c: InteractionCarry) -> str:
    return _later(c.last_activity_at, _policy(c).human_session_timeout_seconds)


def idle_deadline(c: InteractionCarry) -> str | None:
    """The conversation's own deadline while no job runs."""
    if c.state is InteractionState.AI_ACTIVE:
        return _inactivity(c)
    if c.state is InteractionState.AWAITING_HUMAN and c.human.requested_at:
        admission = _admission(c)
        wait = _human_wait(c)
        return min(wait, admission, key=parse_time) if admission else wait
    if c.state is InteractionState.WITH_HUMAN:
        return _human_session(c)
    return None


def next_timer(c: InteractionCarry) -> str | None:
    """When the executor must wake the machine with ``DeadlineReached`` if nothing else does.

    Waits on commands need no timer: the command's timeout (its schedule-to-close) reports the
    failure. A review has only its deadline; a resting conversation its idle deadline.
    """
    if c.finished:
        return None
    if c.job is not None:
        return c.job.wait.deadline if c.job.wait is not None and c.job.wait.timer else None
    return idle_deadline(c)


def next_deadline(c: InteractionCarry) -> str | None:
    """The earliest instant anything the interaction waits for gives up (tests, status)."""
    if c.finished:
        return None
    if c.job is not None:
        return c.job.wait.deadline if c.job.wait is not None else None
    return idle_deadline(c)


def reached(s: Step) -> None:
    """A deadline while no job runs: whatever is due happens, the rest keeps waiting."""
    c = s.state
    if c.state is InteractionState.AI_ACTIVE and s.due(_inactivity(c)):
        c.closing = default_outcome(c)
        c.close_reason = "inactivity"
    elif c.state is InteractionState.AWAITING_HUMAN and c.human.requested_at:
        if s.due(_human_wait(c)):
            if c.human.callback_offered:
                handover.give_up_waiting(s)
            else:
                handover.offer_callback(s)
        elif s.due(_admission(c)):
            handover.admit(s)
        else:
            s.ignore("no deadline due yet")
    elif c.state is InteractionState.WITH_HUMAN and s.due(_human_session(c)):
        c.closing = default_outcome(c)
        c.close_reason = "human_session_timeout"
    else:
        s.ignore("no deadline due yet")
