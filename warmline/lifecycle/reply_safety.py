"""What the safety policy's output check of an AI reply does before the customer sees it
(issue #14, item 3).

The ``invoke_ai`` activity checks every reply (commitments outside the intent's allowance,
amounts over its limit, the system prompt or a tool description recited) and returns the
``ReplyCheck`` with the answer; this module carries the policy's action out:

- ``allow``: the reply goes on as usual (a finding is still audited);
- ``hold_for_review``: the draft waits for a supervisor like a supervised reply; a route
  without a supervision plan cannot hold, so a human takes the conversation instead;
- ``refuse_politely``: the customer gets the policy's refusal instead of the draft;
- ``hand_to_human``: the conversation goes to a human now (trigger ``safety_policy``).

The draft that failed is never sent unreviewed: it is not added to the transcript, and where
it is kept (a held draft, a review record) it is the redacted text. Every finding is audited
with its kind, the action, intent, channel and policy version; findings quote no customer text.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.ai import AIReply
from models.interaction import EscalationTrigger
from models.safety import SafetyAction, SafetyPolicy
from warmline.lifecycle import changes, handover, jobs, regulation
from warmline.lifecycle.transition import Step

DEFAULT_REFUSAL: str = SafetyPolicy.model_fields["refusal_text"].default
"""Used when a check asks for a refusal without carrying the policy's words."""


@dataclass(frozen=True)
class Verdict:
    """``stopped``: the turn is settled here (refused or handed over); ``hold``: why the draft
    must wait for a supervisor; neither: the reply goes on."""

    stopped: bool = False
    hold: str | None = None


def verdict(s: Step, answer: AIReply) -> Verdict:
    """Audit the reply's findings and carry out the policy's action for them."""
    check = answer.check
    if check is None or check.passed or not changes.made(s.state, changes.REPLY_CHECKS):
        return Verdict()
    for finding in check.findings:
        s.audit(
            "reply_violation",
            {
                "turn": s.job.turn,
                "kind": finding.kind.value,
                "detail": finding.detail,
                "action": check.action.value,
                "intent": check.intent,
                "channel": check.channel,
                "policy_version": check.policy_version,
                "model_version": answer.model_version,
            },
        )
    kinds = ", ".join(sorted({f.kind.value for f in check.findings}))
    detail = f"AI reply broke the safety policy ({kinds}): {check.action.value}"
    match check.action:
        case SafetyAction.ALLOW:
            return Verdict()
        case SafetyAction.HOLD_FOR_REVIEW:
            if s.state.supervision is None:
                handover.escalate(s, EscalationTrigger.SAFETY_POLICY, detail)
                return Verdict(stopped=True)
            return Verdict(hold=detail)
        case SafetyAction.REFUSE_POLITELY:
            refusal = regulation.with_notices(s, check.refusal_text or DEFAULT_REFUSAL)
            jobs.reply(s, refusal, "refused_politely")
            return Verdict(stopped=True)
        case SafetyAction.HAND_TO_HUMAN:
            handover.escalate(s, EscalationTrigger.SAFETY_POLICY, detail)
            return Verdict(stopped=True)
