"""Starting a customer turn and ending a job with what it produced.

A job holds the conversation until it ends; whatever it produced (an AI answer, a hand-over
notice, a closing notice) goes to whoever the job was for: the customer turn's reply (kept by turn
and handed to every update call waiting for it), a system line in the transcript, or the answer of
a ``switch_channel`` update. Ending the job lets the scheduler start the next queued request.
"""

from __future__ import annotations

from models.interaction import Reply, Sender
from models.interaction_state import Job, JobKind
from models.lifecycle import DeliverSwitch
from warmline.lifecycle import intake
from warmline.lifecycle.transition import Step


def begin_turn(s: Step, safe_text: str, message_id: str | None, tickets: list[str]) -> Job:
    """Count the customer's message as the next turn and make answering it the job."""
    c = s.state
    c.turns += 1
    c.turns_this_run += 1
    if message_id:
        intake.remember(c, message_id, safe_text, c.turns)
    s.append(c.turns, Sender.CUSTOMER, safe_text)
    s.touch()
    c.job = Job(
        kind=JobKind.TURN, turn=c.turns, message_id=message_id, tickets=tickets, text=safe_text
    )
    return c.job


def reply(s: Step, text: str, kind: str, sender: Sender = Sender.SYSTEM) -> None:
    """End the job with a notice (or answer) in the orchestrator's words."""
    end_job(s, Reply(turn=s.state.turns, sender=sender, text=text, kind=kind))


def end_job(s: Step, produced: Reply) -> None:
    c = s.state
    job = s.job
    if job.kind is JobKind.TURN and job.turn is not None:
        answer = produced.model_copy(update={"turn": job.turn})
        if job.model_version is not None:
            # The AI spoke this turn before handing over: its words and the notice are one reply.
            answer = answer.model_copy(
                update={
                    "sender": Sender.AI,
                    "text": f"{job.prefix} {produced.text}".strip(),
                    "model_version": job.model_version,
                }
            )
        elif answer.sender is Sender.SYSTEM:
            s.append(job.turn, Sender.SYSTEM, answer.text)
        if job.message_id:
            answer = answer.model_copy(update={"message_id": job.message_id})
        s.answer(answer, job.tickets)
    elif job.kind is JobKind.ADMISSION:
        if produced.kind != "hold_notice":
            s.append(c.turns, Sender.SYSTEM, produced.text)
        s.touch()
    elif job.kind in (JobKind.REQUEST_HUMAN, JobKind.SWITCH_CHANNEL):
        s.append(c.turns, Sender.SYSTEM, produced.text)
        s.touch()
    end_quietly(s)


def end_quietly(s: Step) -> None:
    """End the job; a ``switch_channel`` caller still gets its answer."""
    job = s.job
    if job.kind is JobKind.SWITCH_CHANNEL and job.answer is not None:
        for ticket in job.tickets:
            s.emit(DeliverSwitch(ticket=ticket, answer=job.answer))
    s.state.job = None
