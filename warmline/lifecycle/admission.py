"""Abuse limits at the start and on every customer turn: what the abuse gate's answer means for
the interaction (issue #14, item 6).

The counting is fleet-wide (the store's counters, behind the ``check_admission`` activity, so
ten workers enforce one limit); the meaning of each answer is decided here, so it is the same on
every worker and tested without Temporal:

- ``allowed``: the start or turn goes on as if nothing had been asked;
- ``queued``: accepted for later: held on a timer until the retry-after (at most
  ``HOLD_MAX_SECONDS``) and then run without counting it again; while held it is in no queue,
  human or AI;
- ``throttled`` at the start, and ``refused`` at the start or on a turn: the interaction ends at
  once with that outcome, the reason as the reply to the customer's turn: a flood never reaches
  triage, an AI or a human queue;
- ``throttled`` on a turn: that message is answered with the throttle notice and passed to no one
  (AI or agent); the conversation goes on.

Every limit hit is audited on the interaction's stream (the gate also counts it in
``warmline_abuse_limit_hits_total`` and audits it on the fleet's ``abuse-limits`` stream). A check
that fails (store unavailable, deadline) lets the start or turn through, audited: the limits
protect capacity and must not take the contact center down with the store.

A later turn the AI holds asks for its injection screen in the same check (``changes.TURN_GATE``),
the start for its pattern and first message's screen (``changes.START_GATE``): the activity runs
them only once admitted (a flood never reaches the detector), and the lifecycle uses those
answers instead of asking again.
"""

from __future__ import annotations

from models.abuse import AbuseDecision, AdmissionRequest, LimitAnswer, LimitStage
from models.gate import TurnAhead
from models.interaction import Outcome
from models.interaction_state import InteractionCarry, JobKind, WaitKind
from models.lifecycle import AdmissionChecked, CheckAdmission, CommandFailed, Event
from models.safety import ScreenRequest
from models.triage import PatternRequest, TriageRequest
from warmline.lifecycle import handover, jobs, topics
from warmline.lifecycle.transition import AI_SECONDS, Step
from warmline.redaction import redact

ADMISSION_SECONDS = 15.0
"""The check, retries included (one store write)."""
HOLD_MAX_SECONDS = 120.0
"""The longest a ``queued`` start or turn is held before it runs."""
TENANT_KEY = "tenant"
"""Metadata key naming the CCaaS source; interactions without it share ``default``."""
_FIELD_MAX = 128
_TEXT_MAX = 20_000


def _field(value: object, default: str = "default") -> str:
    text = str(value).strip()[:_FIELD_MAX]
    return text or default


def tenant(c: InteractionCarry) -> str:
    """The CCaaS source the interaction counts under (limits, the customer key)."""
    return _field(c.request.metadata.get(TENANT_KEY, "default"))


def check(
    s: Step,
    stage: LimitStage,
    safe_text: str,
    screen: ScreenRequest | None = None,
    pattern: PatternRequest | None = None,
    triage: TriageRequest | None = None,
    turn: TurnAhead | None = None,
) -> None:
    """Ask the gate about the start (job ``opening``) or the current turn; the job waits.

    ``screen``: the turn's injection screen, run by the same activity once the turn is admitted
    (``screening.ahead``), so an admitted turn costs one local activity round, not two;
    ``pattern``: likewise the start's pattern choice (``opening.admitted``), and ``triage`` its
    triage under that pattern; ``turn``: a later turn's AI call and intent check, made there once
    the turn is admitted and screened (``ai_turn.ahead``), so the whole turn is one round."""
    c = s.state
    request = AdmissionRequest(
        stage=stage,
        customer_id=_field(c.request.customer.id),
        tenant=tenant(c),
        entry_point=_field(c.request.entry_point),
        text=safe_text[:_TEXT_MAX],
        at=s.now.timestamp(),
    )
    op = s.next_op()
    s.job.screen_asked, s.job.prescreen = screen, None
    s.job.ahead_asked, s.job.ahead = turn, None
    ahead = screen is not None and turn is None and topics.wants_check(c, s.job)
    seconds = ADMISSION_SECONDS + (AI_SECONDS if turn is not None else 0.0)
    s.emit(
        CheckAdmission(
            op=op,
            timeout_seconds=seconds,
            request=request,
            screen=screen,
            classify_ahead=ahead,
            pattern=pattern,
            triage=triage,
            turn=turn,
        )
    )
    s.wait(WaitKind.ABUSE, op, seconds)


def on_checked(s: Step, result: Event) -> bool:
    """The gate's answer; True when the start or turn goes on now."""
    match result:
        case AdmissionChecked(decision=decision, screen=screen, turn=turn) if decision.allowed:
            s.job.prescreen = screen if s.job.screen_asked is not None else None
            s.job.ahead = turn if s.job.ahead_asked is not None else None
            return True
        case AdmissionChecked(decision=decision):
            return _limited(s, decision)
        case CommandFailed(error=error):
            s.audit("abuse_check_failed", {"error": redact(error), "let_through": True})
            return True
        case _:
            s.ignore(f"{result.kind} does not answer an admission check")
            return False


def hold_over(s: Step) -> None:
    """A ``queued`` start or turn's hold ended: it runs now (the caller goes on)."""
    s.audit("abuse_hold_over", {"job": s.job.kind.value})


def _limited(s: Step, decision: AbuseDecision) -> bool:
    job = s.job
    stage = LimitStage.START if job.kind is JobKind.OPENING else LimitStage.TURN
    s.audit(
        "abuse_limit",
        {
            "stage": stage.value,
            "answer": decision.answer.value,
            "rules": [hit.rule for hit in decision.hits],
            "reasons": decision.reasons,
            "retry_after_seconds": decision.retry_after_seconds,
            "policy_version": decision.policy_version,
        },
    )
    if decision.answer is LimitAnswer.QUEUED:
        hold = min(max(decision.retry_after_seconds, 0.001), HOLD_MAX_SECONDS)
        s.wait(WaitKind.ABUSE_HOLD, 0, hold, timer=True)
        return False
    reason = _notice(decision)
    if decision.answer is LimitAnswer.THROTTLED and stage is LimitStage.TURN:
        jobs.reply(s, reason, "throttled")
        return False
    outcome = Outcome.THROTTLED if decision.answer is LimitAnswer.THROTTLED else Outcome.REFUSED
    if job.kind is JobKind.OPENING:
        # The first message is still turn 1: the customer's opening words get the reason.
        jobs.begin_turn(s, s.state.request.first_message, None, [])
    jobs.reply(s, reason, outcome.value)
    handover.set_outcome(s, outcome, f"abuse limit: {'; '.join(decision.reasons)}"[:500])
    return False


def _notice(decision: AbuseDecision) -> str:
    """What the customer (through the CCaaS) is told: the policy's reason and when to retry."""
    seconds = max(1, round(decision.retry_after_seconds))
    base = decision.reason or "Too many messages in a short time."
    return f"{base} Please try again in {seconds} seconds."
