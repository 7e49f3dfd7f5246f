"""The close and the continue-as-new: the two ways a run ends.

The close is decided by whoever ends the conversation (the AI resolving, a human resolving, the
customer leaving, a deadline, a deflection or callback) and runs once the current job is done:
queued callers hear the interaction is over, shadow calls settle, a transfer nobody resolved is
withdrawn from the ACD, a seat still held is released, and the facts and audit are written in one
record. Only then is the interaction complete.

A long interaction continues as new when its run has taken ``max_turns_per_run`` turns or
Temporal suggests it: old turns and the pending audit go to the store first, and the state
travels to the next run.
"""

from __future__ import annotations

from models.facts import ArchiveTranscript, RecordInteraction
from models.interaction import InteractionResult, InteractionState, TranscriptEntry
from models.interaction_state import (
    TRANSCRIPT_KEPT_ON_CONTINUE,
    InteractionCarry,
    Job,
    JobKind,
    ReservationStatus,
    WaitKind,
)
from models.lifecycle import (
    ArchiveRun,
    CommandDone,
    CommandFailed,
    Complete,
    ContinueAsNew,
    Continued,
    EndRequested,
    Event,
    Fail,
    RecordOutcome,
    ReleaseReservation,
    WithdrawTransfer,
)
from models.triage import FlushRun
from warmline.closing import build_facts, default_outcome, final_pool, handle_segments
from warmline.lifecycle import admission, conversation, opening, review
from warmline.lifecycle.transition import (
    RECORD_SECONDS,
    RELEASE_SECONDS,
    WITHDRAW_SECONDS,
    Step,
    parse_time,
)
from warmline.redaction import redact

DECISIONS_KEPT_ON_CONTINUE = 20
CARRIED_TEXT_MAX = 400_000
"""Transcript characters a run may carry when its old turns could not be archived (the kept
turns of a normal continue-as-new hold at most about as much: 20 entries of 20,000)."""


def end_requested(s: Step, e: EndRequested) -> None:
    """The customer left or hung up (``end_interaction``)."""
    c = s.state
    if conversation.closing(s):
        s.ignore("end_interaction after the close was decided")
        return
    if e.csat is not None:
        c.csat = e.csat
    c.close_reason = redact(e.reason)
    c.closing = default_outcome(c)
    s.touch()


# -- the close ---------------------------------------------------------------------------------


def begin(s: Step) -> None:
    c = s.state
    c.job = Job(kind=JobKind.CLOSING)
    for item in c.inbox:
        conversation.answer_closed(s, item)
    c.inbox = []
    c.outcome = c.closing
    c.state = InteractionState.CLOSED
    _next(s)


def _next(s: Step) -> None:
    """The close's remaining steps, in order; each waits for its result."""
    c = s.state
    human = c.human
    if c.shadows:
        s.wait(WaitKind.SHADOWS, 0, until=max(c.shadows.values(), key=parse_time))
    elif human.transfer_id and not human.resolved_at and not human.withdrawn:
        # The customer left or was called back: free the ACD's line and agent.
        op = s.next_op()
        s.emit(
            WithdrawTransfer(op=op, timeout_seconds=WITHDRAW_SECONDS, transfer_id=human.transfer_id)
        )
        s.wait(WaitKind.WITHDRAW, op, WITHDRAW_SECONDS)
    elif human.reservation is ReservationStatus.HELD and human.reservation_id:
        # A seat for human work that never reached a human (deflected, called back).
        op = s.next_op()
        s.emit(
            ReleaseReservation(
                op=op, timeout_seconds=RELEASE_SECONDS, reservation_id=human.reservation_id
            )
        )
        s.wait(WaitKind.RELEASE, op, RELEASE_SECONDS)
    else:
        _record(s)


def shadows_settled(s: Step) -> None:
    """The last shadow answered (or the wait for them ended): the run's end goes on."""
    if s.job.kind is JobKind.CLOSING:
        _next(s)
    else:
        _archive(s)


def on_withdrawn(s: Step, result: Event) -> None:
    human = s.state.human
    match result:
        case CommandDone():
            human.withdrawn = True
            s.audit("transfer_withdrawn", {"transfer_id": human.transfer_id})
        case CommandFailed(error=error):
            human.withdrawn = True  # tried for an hour; the ACD's own timeout frees the line
            s.audit("withdraw_failed", {"transfer_id": human.transfer_id, "error": redact(error)})
        case _:
            s.ignore(f"{result.kind} does not answer a withdrawal")
            return
    _next(s)


def on_released(s: Step, result: Event) -> None:
    if opening.released(s, result, saved_a_wait=False):
        _next(s)


def _record(s: Step) -> None:
    c = s.state
    outcome = c.outcome or default_outcome(c)
    c.outcome = outcome
    c.ended_at = s.at
    supervision = review.supervision_record(s, s.at)
    s.audit("closed", {"outcome": outcome.value, "reason": c.close_reason})
    facts = build_facts(c, c.workflow_id, s.at, outcome)
    s.emit(review.search_attributes(c, state=InteractionState.CLOSED.value, pool=facts.pool))
    record = RecordInteraction(
        facts=facts,
        audit=list(c.pending_audit),
        supervision=supervision,
        transcript=list(c.transcript),
        decisions=list(c.decisions),
        # The activity turns these into the pseudonymous key (HMAC under a server secret the
        # workflow never holds); the raw id is written nowhere.
        customer_id=c.request.customer.id,
        tenant=admission.tenant(c),
        run_index=c.run_index,
    )
    op = s.next_op()
    s.emit(RecordOutcome(op=op, timeout_seconds=RECORD_SECONDS, record=record))
    s.wait(WaitKind.RECORD, op, RECORD_SECONDS, audited=len(c.pending_audit))


def on_recorded(s: Step, result: Event) -> None:
    c = s.state
    wait = s.job.wait
    assert wait is not None
    match result:
        case CommandDone():
            c.pending_audit = c.pending_audit[wait.audited :]
            s.emit(Complete(result=result_of(c)))
        case CommandFailed(error=error):
            s.emit(Fail(reason=f"the close could not be recorded: {redact(error)}"))
        case _:
            s.ignore(f"{result.kind} does not answer the record")
            return
    c.job = None
    c.finished = True


def result_of(c: InteractionCarry) -> InteractionResult:
    assert c.outcome is not None and c.ended_at is not None
    return InteractionResult(
        interaction_id=c.request.interaction_id,
        outcome=c.outcome,
        pool=final_pool(c),
        intent=c.classification.intent if c.classification else "unknown",
        channel=c.channel,
        turns=c.turns,
        escalation_trigger=c.escalation_trigger,
        model_version=c.last_model_version,
        handle_seconds=handle_segments(c, c.ended_at),
        cost_usd=round(c.usage.cost_usd, 6),
        tokens=c.usage.prompt_tokens + c.usage.completion_tokens,
        csat=c.csat,
        close_reason=c.close_reason,
    )


# -- continue-as-new ---------------------------------------------------------------------------


def continue_due(c: InteractionCarry) -> bool:
    if c.closing is not None or c.decision is None or c.state is InteractionState.CLOSED:
        return False
    return c.continue_suggested or c.turns_this_run >= c.decision.max_turns_per_run


def begin_continue(s: Step) -> None:
    s.continued = True
    c = s.state
    c.job = Job(kind=JobKind.CONTINUE)
    if c.shadows:
        s.wait(WaitKind.SHADOWS, 0, until=max(c.shadows.values(), key=parse_time))
    else:
        _archive(s)


def _archive(s: Step) -> None:
    """Move old turns and the pending audit out of history before the state travels on."""
    c = s.state
    archived = max(0, len(c.transcript) - TRANSCRIPT_KEPT_ON_CONTINUE)
    audited = len(c.pending_audit)
    if c.archived_this_run or not (archived or audited):
        _continue(s)
        return
    flush = FlushRun(
        archive=ArchiveTranscript(
            interaction_id=c.request.interaction_id,
            run_index=c.run_index,
            entries=c.transcript[:archived],
        ),
        audit=c.pending_audit[:audited],
    )
    op = s.next_op()
    s.emit(ArchiveRun(op=op, timeout_seconds=RECORD_SECONDS, flush=flush))
    s.wait(WaitKind.ARCHIVE, op, RECORD_SECONDS, archived=archived, audited=audited)


def on_archived(s: Step, result: Event) -> None:
    c = s.state
    wait = s.job.wait
    assert wait is not None
    match result:
        case CommandDone():
            c.transcript = c.transcript[wait.archived :]
            c.pending_audit = c.pending_audit[wait.audited :]
        case CommandFailed(error=error):
            # The turns and audit stay in state and travel with it, the turns only up to what
            # a carried state can hold (``CARRIED_TEXT_MAX``): a store down for a day must not
            # push the state past Temporal's payload limit and stop the interaction.
            s.audit("archive_failed", {"error": redact(error)})
            kept = _newest_within(c.transcript, CARRIED_TEXT_MAX)
            if len(kept) < len(c.transcript):
                s.audit("transcript_not_archived", {"entries": len(c.transcript) - len(kept)})
                c.transcript = kept
        case _:
            s.ignore(f"{result.kind} does not answer the archive")
            return
    c.archived_this_run = True
    _continue(s)


def _newest_within(entries: list[TranscriptEntry], limit: int) -> list[TranscriptEntry]:
    """The newest entries whose texts total at most ``limit`` characters."""
    total, start = 0, len(entries)
    while start > 0 and total + len(entries[start - 1].text) <= limit:
        start -= 1
        total += len(entries[start].text)
    return entries[start:]


def _continue(s: Step) -> None:
    c = s.state
    c.job = None
    s.continued = True
    if c.inbox or c.closing is not None:
        return  # work that queued meanwhile comes first; the next idle moment decides again
    c.decisions = c.decisions[-DECISIONS_KEPT_ON_CONTINUE:]
    s.emit(ContinueAsNew())


def continued(s: Step, e: Continued) -> None:
    """The first event of a run that Temporal continued from the previous one."""
    c = s.state
    c.legacy = list(e.legacy)
    c.run_index += 1
    c.turns_this_run = 0
    c.continue_suggested = c.archived_this_run = False
