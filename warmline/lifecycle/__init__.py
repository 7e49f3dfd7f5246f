"""The interaction lifecycle as a pure machine: ``step(state, event) -> Transition``.

``InteractionWorkflow`` only turns Temporal's signals, updates, timers and activity results into
events (``models.lifecycle``) and carries out the commands the machine returns; every decision
about an interaction is made here, from the state (``models.interaction_state.InteractionCarry``)
and the event alone: no Temporal, no I/O, no clock (time comes in on every event).

The lifecycle, one module per concern:

- ``opening``: redact the input, choose the orchestration pattern, triage (classify, route,
  supervision plan), settle the parallel pattern's human reservation, take the first turn.
- ``conversation``: customer messages queue behind the current job and are answered once each;
  ``request_human`` and ``switch_channel`` queue the same way.
- ``ai_turn``: escalation checks, the AI call with one fail-over, shadow traffic, and the
  supervision gates (``review``: held drafts decided by a supervisor or the review deadline);
  ``reply_safety``: what the safety policy's output check of a reply does before it is sent.
- ``handover``: escalation, spillover (deflect, callback, metered admission), warm transfer,
  forwarding to the agent, callbacks, the ACD's accepted / resolved signals.
- ``deadlines``: what ends each wait; ``closing``: the close and the continue-as-new.
- ``machine``: ``step`` itself, routing results by ``op`` and scheduling the next job.
- ``intake``: what a customer message, ``await_reply`` or switch may ask (bounds, the
  ``message_id`` window); the update validators ask it too, so a refusal is the same either way.
- ``changes``: command changes to existing paths, each named for ``workflow.patched``; those
  made so far are asked under one baseline marker.

To extend it: add the event and command to ``models.lifecycle``, a handler in the module of its
concern, a line in ``machine._dispatch`` (or ``_ON_RESULT`` for a new wait), and the command's
execution in ``workflows.interaction_commands``; a change to the commands of an existing path
gets a name in ``changes`` (in ``AFTER_BASELINE``, so it is asked on its own) and a branch
on ``changes.made``. Every wait must get a deadline; the
model test
(``tests/warmline/test_lifecycle_model.py``) then checks the invariants for the new paths too.
"""

from warmline.lifecycle.deadlines import next_deadline, next_timer
from warmline.lifecycle.machine import step
from warmline.lifecycle.transition import Transition
from warmline.lifecycle.view import status_view

__all__ = ["Transition", "next_deadline", "next_timer", "status_view", "step"]
