"""Prompt-injection screening of every customer message before an AI sees it (issue #14,
item 3).

The ``screen_turn`` activity scores the redacted message with the local detector (rules and a
calibrated classifier) and the safety policy of the routing config decides, for the
conversation's intent and channel; this module carries the decision out:

- ``allow``: the AI answers as usual;
- ``hold_for_review``: the AI answers, and its draft waits for a supervisor (a route without a
  supervision plan cannot hold: it hands over instead);
- ``refuse_politely``: the customer gets the policy's refusal, and the message is withheld
  from the AI for the rest of the conversation (``withheld_turns``);
- ``hand_to_human``: the conversation goes to a human now (trigger ``safety_policy``).

Every detection is audited with its score, rules and the policy version. A screen that fails
(detector down, deadline) holds the AI's reply for review: an unscreened message never reaches
the customer unseen.

The screen is asked together with the admission check where it can be (``ahead`` for a later
turn the AI holds, ``first_message`` at the start: ``warmline.lifecycle.admission``), and
``begin_ai`` then carries out that answer instead of asking again.
"""

from __future__ import annotations

from models.interaction import EscalationTrigger, InteractionState
from models.interaction_state import InteractionCarry, Job, WaitKind
from models.lifecycle import CommandFailed, Event, ScreenTurn, TurnScreened
from models.safety import SafetyAction, ScreenRequest, TurnScreen
from warmline.lifecycle import ai_turn, changes, handover, jobs, regulation
from warmline.lifecycle.transition import Step
from warmline.redaction import redact

SCREEN_SECONDS = 15.0
"""The screen, retries included (one forward pass of a small local model)."""
_TEXT_MAX = 20_000


def _request(c: InteractionCarry, job: Job) -> ScreenRequest:
    return ScreenRequest(
        text=job.text[:_TEXT_MAX],
        intent=(c.classification.intent if c.classification else "unknown")[:64],
        channel=c.channel.value,
    )


def ahead(s: Step) -> ScreenRequest | None:
    """The screen to ask together with the turn's admission check: the AI holds the
    conversation, so an admitted turn goes to ``begin_ai`` (None for older runs, a human's turn
    or no words)."""
    c, job = s.state, s.job
    if not changes.made(c, changes.TURN_GATE) or c.state is not InteractionState.AI_ACTIVE:
        return None
    return _request(c, job) if job.text.strip() else None


def first_message(c: InteractionCarry) -> ScreenRequest | None:
    """The first message's screen, asked with the start's admission check: its intent is not
    known yet, so only an unflagged answer is used (it allows whatever the intent)."""
    text = c.request.first_message
    if not text.strip():
        return None
    return ScreenRequest(text=text[:_TEXT_MAX], intent="unknown", channel=c.channel.value)


def _answers(asked: ScreenRequest | None, screened: TurnScreen, request: ScreenRequest) -> bool:
    """Whether a screen asked ahead is this turn's: the same request, or the same words on the
    same channel unflagged (the policy acts per intent only on a flag)."""
    if asked is None or asked == request:
        return asked is not None
    same = (asked.text, asked.channel) == (request.text, request.channel)
    return same and not screened.flagged and screened.decision.action is SafetyAction.ALLOW


def begin_ai(s: Step) -> None:
    """The job's customer turn goes to the AI: screened first when the safety gates run."""
    c, job = s.state, s.job
    if not c.safety_gates or not job.text.strip():
        ai_turn.begin(s)
        return
    request = _request(c, job)
    asked, screened = job.screen_asked, job.prescreen
    job.screen_asked, job.prescreen = None, None
    if screened is not None and _answers(asked, screened, request):
        _decided(s, screened)  # screened with the admission check, for this very turn
        return
    op = s.next_op()
    s.emit(ScreenTurn(op=op, timeout_seconds=SCREEN_SECONDS, request=request))
    s.wait(WaitKind.SCREEN, op, SCREEN_SECONDS)


def on_screened(s: Step, result: Event) -> None:
    match result:
        case TurnScreened(screen=screen):
            _decided(s, screen)
        case CommandFailed(error=error):
            s.audit("injection_screen_failed", {"turn": s.job.turn, "error": redact(error)})
            _hold(s, "the injection screen failed")
        case _:
            s.ignore(f"{result.kind} does not answer an injection screen")


def _decided(s: Step, screen: TurnScreen) -> None:
    decision = screen.decision
    if screen.flagged:
        s.audit(
            "injection_detected",
            {
                "turn": s.job.turn,
                "score": decision.score,
                "rules": decision.rules,
                "action": decision.action.value,
                "intent": decision.intent,
                "channel": decision.channel,
                "policy_version": decision.policy_version,
                "detector_version": screen.detector_version,
                "reasons": decision.reasons,
            },
        )
    detail = f"prompt injection suspected (score {decision.score:.2f}): {decision.action.value}"
    match decision.action:
        case SafetyAction.ALLOW:
            ai_turn.begin(s)
        case SafetyAction.HOLD_FOR_REVIEW:
            _hold(s, detail)
        case SafetyAction.REFUSE_POLITELY:
            turn = s.job.turn
            if turn is not None:
                s.state.withheld_turns = [*s.state.withheld_turns, turn]
            jobs.reply(s, regulation.with_notices(s, screen.refusal_text), "refused_politely")
        case SafetyAction.HAND_TO_HUMAN:
            handover.escalate(s, EscalationTrigger.SAFETY_POLICY, detail)


def _hold(s: Step, why: str) -> None:
    """The AI answers, but its draft waits for a supervisor; without a plan, a human takes it."""
    if s.state.supervision is None:
        handover.escalate(s, EscalationTrigger.SAFETY_POLICY, why)
        return
    s.job.safety_hold = why
    ai_turn.begin(s)
