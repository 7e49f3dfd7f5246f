"""One transition under construction, and the bookkeeping every part of the lifecycle shares.

``step`` forks the state (a copy of every list, dict and sub-model a transition may change, so
the caller's state is never touched), wraps it in a :class:`Step` with the event's time, lets the
handlers change the fork and emit commands, and returns the result. Handlers replace list items
and waits, they never mutate them in place: that is what keeps the one-level fork sufficient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from models.facts import AuditEvent
from models.interaction import Reply, Sender, TranscriptEntry
from models.interaction_state import (
    IGNORED_KEPT,
    RECENT_REPLIES_KEPT,
    InteractionCarry,
    Job,
    Wait,
    WaitKind,
)
from models.lifecycle import Command, DeliverReply, RefuseMessage
from models.routing import RoutingDecision
from warmline.redaction import redact

# How long each command may take, retries included (the executor's schedule-to-close timeout).
PATTERN_SECONDS = 30.0
TRIAGE_SECONDS = 30.0
CAPACITY_SECONDS = 30.0
AI_SECONDS = 60.0
RESERVE_SECONDS = 30.0
RELEASE_SECONDS = 600.0
FORWARD_SECONDS = 600.0
CALLBACK_SECONDS = 3600.0
WITHDRAW_SECONDS = 3600.0
RECORD_SECONDS = 86_400.0
SHADOW_ATTEMPT_MARGIN_SECONDS = 5.0
SHADOW_ATTEMPTS = 2
DEFAULT_TRANSFER_SECONDS = 1800.0
DEADLINE_SLACK = timedelta(milliseconds=1)
"""A timer may fire a hair before the instant it was computed for (rounding to the server)."""


class Transition(NamedTuple):
    state: InteractionCarry | None
    commands: list[Command]
    note: str = ""
    """Why nothing happened, when an event was ignored (late, duplicate, out of order)."""


def idempotency_key(c: InteractionCarry, what: str) -> str:
    """The key of one side effect of this interaction's execution: the workflow id with the first
    run's id (stable across continue-as-new, new if the interaction id is ever reused), so a
    retry is the same call and a reused id is never taken for the earlier interaction."""
    execution = f":{c.execution_id}" if c.execution_id else ""
    return f"{c.workflow_id}{execution}:{what}"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def fork(state: InteractionCarry) -> InteractionCarry:
    """A copy safe to change: containers and mutable sub-models copied one level deep."""
    update: dict[str, Any] = {}
    for name, value in state.__dict__.items():
        if isinstance(value, list):
            update[name] = list(value)
        elif isinstance(value, dict):
            update[name] = dict(value)
    update["human"] = state.human.model_copy()
    update["usage"] = state.usage.model_copy()
    if state.job is not None:
        update["job"] = state.job.model_copy(update={"tickets": list(state.job.tickets)})
    return state.model_copy(update=update)


class Step:
    """The state being changed, the event's time, and the commands decided so far."""

    def __init__(self, state: InteractionCarry, at: str) -> None:
        self.state = state
        self.at = at
        self.now = parse_time(at)
        self.commands: list[Command] = []
        self.note = ""
        self.continued = False
        """Continue-as-new was already decided in this transition."""

    def done(self) -> Transition:
        return Transition(self.state, self.commands, self.note)

    # -- commands and waits -----------------------------------------------------------------
    def emit(self, command: Command) -> None:
        self.commands.append(command)

    def next_op(self) -> int:
        self.state.op_seq += 1
        return self.state.op_seq

    def after(self, seconds: float) -> str:
        return (self.now + timedelta(seconds=seconds)).isoformat()

    def due(self, deadline: str | None) -> bool:
        return deadline is not None and self.now >= parse_time(deadline) - DEADLINE_SLACK

    def wait(
        self,
        kind: WaitKind,
        op: int,
        seconds: float = 0.0,
        until: str | None = None,
        **context: Any,
    ) -> None:
        """Block the current job on one result (or a timer when ``op`` is 0), until ``until``
        or for ``seconds``."""
        deadline = until or self.after(seconds)
        self.job.wait = Wait(kind=kind, op=op, since=self.at, deadline=deadline, **context)

    @property
    def job(self) -> Job:
        assert self.state.job is not None, "only a running job waits"
        return self.state.job

    def ignore(self, why: str, *, record: str | None = None) -> None:
        """Nothing to do; ``record`` names an outside input whose drop must stay visible."""
        self.note = why
        if record is not None:
            self.state.ignored = [*self.state.ignored, f"{record}: {why}"][-IGNORED_KEPT:]
            if record == "customer_message":  # wakes an await_reply that waits for it
                self.state.messages_refused += 1
            if self.state.ended_at is None:  # after the final record nothing more is written
                self.audit("input_ignored", {"input": record, "why": why})

    def refuse(self, ticket: str | None, error_type: str, why: str) -> None:
        """A customer message refused: on the record, counted, and its caller told why (the
        reason may quote the client's message id: redacted like any outside text)."""
        why = redact(why)
        self.ignore(why, record="customer_message")
        if ticket:
            self.emit(RefuseMessage(ticket=ticket, error_type=error_type, reason=why))

    # -- bookkeeping --------------------------------------------------------------------------
    def touch(self) -> None:
        self.state.last_activity_at = self.at

    def append(self, turn: int, sender: Sender, safe_text: str) -> None:
        self.state.transcript.append(
            TranscriptEntry(turn=turn, sender=sender, text=safe_text, at=self.at)
        )

    def audit(self, kind: str, payload: dict[str, Any], actor: str = "warmline") -> None:
        c = self.state
        c.audit_seq += 1
        c.pending_audit.append(
            AuditEvent(
                stream=c.workflow_id,
                seq=c.audit_seq,
                kind=kind,
                at=self.at,
                actor=actor,
                payload=payload,
            )
        )

    def record_decision(self, decision: RoutingDecision, extra: list[str], **detail: Any) -> None:
        endpoint = decision.ai_endpoint
        entry: dict[str, Any] = {
            "kind": "routing",
            "at": self.at,
            "route": decision.route.value,
            "pattern": decision.pattern.value,
            "intent": decision.intent,
            "confidence": decision.confidence,
            "channel": decision.channel.value,
            "config_version": decision.config_version,
            "ai_endpoint": f"{endpoint.name}:{endpoint.version}" if endpoint else None,
            "human_queue": decision.human_queue,
            "reasons": [*extra, *decision.reasons],
            **detail,
        }
        self.state.decisions.append(entry)
        self.audit("routing_decision", entry)

    def answer(self, reply: Reply, tickets: list[str]) -> None:
        """The reply to a customer turn: kept by turn (the latest few) and handed to callers."""
        c = self.state
        c.replies_by_turn[reply.turn] = reply
        if len(c.replies_by_turn) > RECENT_REPLIES_KEPT:
            # Message ids outlive their replies (``intake``): a repeat is refused, never new.
            for old in sorted(c.replies_by_turn)[:-RECENT_REPLIES_KEPT]:
                del c.replies_by_turn[old]
        for ticket in tickets:
            self.emit(DeliverReply(ticket=ticket, reply=reply))
        self.touch()
