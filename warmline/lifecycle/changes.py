"""Changes to the commands the lifecycle emits on an existing path, each named for
``workflow.patched``.

A history recorded before a change must replay with the commands it recorded. The executor asks
``workflow.patched`` at the start of each run (a new run records the marker and gets the
change; a replay of an older run finds no marker) and passes the names it must not make in
``Started.legacy`` / ``Continued.legacy``; the machine asks :func:`made`. Once no running
interaction predates a change, its name and its old branch go.

The changes in :data:`BASELINE_COVERS` are asked under one marker, :data:`BASELINE`: core writes
a marker and a search-attribute upsert for every change a run asks about, and asking each one
at every start had grown to 22 of a single-turn interaction's 31 history events. Asking the
baseline alone cut the Temporal server's CPU per single-turn interaction from 15.3 to 11.8 ms
in one run alternating both ways (the figure ``bench/throughput`` prints per workflow). A
history recorded before the baseline has no baseline marker, so its replay asks the covered
changes one by one, as it recorded them. A change made after the baseline goes into
:data:`AFTER_BASELINE`, asked on its own.
"""

from __future__ import annotations

from models.interaction_state import InteractionCarry

ACD_OUTCOMES = "acd-failure-outcomes"
"""A transfer the ACD never took books a real callback (before: a callback was promised and
none booked); a failed booking tells the customer the truth."""

AWAIT_RELEASED = "await-reply-released"
"""An ``await_reply`` for a turn not yet taken ends when a customer message is refused or the
run continues as new (before: it held the run's continue-as-new until the turn came)."""

TRANSFER_REROUTE = "transfer-reroute"
"""A transfer the ACD refused for its queue is tried once as the default queue before a
callback is booked."""

TURN_GATE = "turn-gate"
"""A later turn the AI holds is admitted and screened for injection by one activity (before:
an admission check, then a screen)."""

START_GATE = "start-gate"
"""An admitted start's orchestration pattern is chosen, and its first message screened, by the
admission check's activity (before: a check, a pattern choice, and a screen before the AI)."""

START_TRIAGE = "start-triage"
"""An admitted start is triaged (classified, routed, its supervision planned) by the admission
check's activity too, once its pattern is chosen there (before: a triage activity after the
check). Not for the parallel pattern, whose human reservation goes out before the triage."""

TURN_AHEAD = "turn-ahead"
"""A later turn the AI holds has its AI call and intent check made by the admission check's
activity too, once the turn is admitted and its screen allows it (before: the check, then the
call and the intent check as two more activities)."""

COMPLIANCE = "regulatory-duties"
"""The regulatory duties of the customer's jurisdiction (``warmline.lifecycle.regulation``):
notices in the first AI reply, a request for a human transferred at once where the right to a
human applies (no spillover read), and a callback booked only after a recorded yes (before:
booked without asking)."""

REPLY_CHECKS = "reply-checks"
"""The safety policy's output check of each AI reply is acted on: a reply that breaks policy
is held for review, replaced by the refusal or handed over (before: every reply was sent)."""

SAFETY_GATES = "safety-gates"
"""Abuse limits at the start and on every turn (asked at a first run's start only: the carried
state remembers it)."""

TURN_INTENTS = "turn-intents-handoff"
"""Later customer turns are classified again (topic shifts, AI-to-AI hand-offs): a new triage
activity per turn (asked at a first run's start only, like ``SAFETY_GATES``)."""

BASELINE = "lifecycle-baseline-2026-12"
"""One marker for every change in :data:`BASELINE_COVERS`, ``SAFETY_GATES`` and
``TURN_INTENTS`` included: a run that records it makes them all."""

BASELINE_COVERS: tuple[str, ...] = (
    ACD_OUTCOMES,
    AWAIT_RELEASED,
    TRANSFER_REROUTE,
    TURN_GATE,
    START_GATE,
    REPLY_CHECKS,
    COMPLIANCE,
    START_TRIAGE,
    TURN_AHEAD,
)
"""The command changes the baseline stands for, in the order runs before it asked them."""

AFTER_BASELINE: tuple[str, ...] = ()
"""Changes made since the baseline, each asked under its own marker."""


def made(c: InteractionCarry, change: str) -> bool:
    """True when this run makes ``change`` (always, outside a replay of an older history)."""
    return change not in c.legacy
