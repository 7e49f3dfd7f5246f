"""The regulatory duties inside an interaction: the lifecycle feeds the pure compliance machine
(``warmline.compliance.step``) and carries out what it decides.

The duties come with the triage result: the routing config's regulatory policy resolved for the
customer's jurisdiction and channel by the ``triage`` activity (the workflow never reads config).
A triage that failed falls back to the default policy, so a callback still needs a yes.

- The first AI reply carries the notices due (AI disclosure, automated-decision notice, recording
  notice on voice), each once; a channel switch may make another due on the next AI reply.
- A request for a human where the right to a human applies is transferred at once
  (``handover.escalate`` skips the spillover read: no deflection, callback or buffering).
- A callback is proposed here first; it is booked only with a recorded yes (``handover``).

Every step is audited (``compliance``) with its reasons and the policy version; a consent
answer's record (question, answer, time, message id) goes with it.
"""

from __future__ import annotations

from typing import Any

from models import compliance as duty
from models.default_compliance import default_regulatory_policy
from models.interaction_state import InteractionCarry
from warmline import compliance
from warmline.lifecycle import changes
from warmline.lifecycle.transition import Step


def active(c: InteractionCarry) -> bool:
    """The duties apply: this run makes the change and the interaction knows its duties."""
    return c.compliance is not None and changes.made(c, changes.COMPLIANCE)


def jurisdiction(c: InteractionCarry) -> str | None:
    """What the triage request names (None: this run predates the duties)."""
    if not changes.made(c, changes.COMPLIANCE):
        return None
    return c.request.customer.legal_jurisdiction


def adopt(s: Step, resolved: duty.ComplianceState | None, *, failed: bool = False) -> None:
    """The opening's triage answered with the duties (``resolved``; None from a worker that
    predates them) or ``failed`` (the default policy's duties apply)."""
    c = s.state
    if not changes.made(c, changes.COMPLIANCE) or c.compliance is not None:
        return
    source = "routing config"
    if resolved is None and not failed:
        return
    if resolved is None:
        source = "default policy (no triage result)"
        resolved = compliance.start(
            default_regulatory_policy(), c.request.customer.legal_jurisdiction, c.channel.value
        )
    c.compliance = resolved
    s.audit("compliance_obligations", {**_duties(resolved), "source": source})


def rechannel(s: Step, resolved: duty.ComplianceState | None) -> None:
    """A channel switch re-routed: the new channel's duties, notices and consents kept."""
    c = s.state
    if not active(c) or resolved is None:
        return
    assert c.compliance is not None
    c.compliance = c.compliance.model_copy(update={"obligations": resolved.obligations})
    s.audit("compliance_obligations", {**_duties(c.compliance), "source": "channel switch"})


def notices(s: Step) -> str:
    """The notices an AI reply must carry now ("" when none): the first AI contact's, or one a
    channel switch made due."""
    c = s.state
    if not active(c):
        return ""
    assert c.compliance is not None
    if not compliance.notices_due(c.compliance):
        return ""
    done = _step(s, duty.AIContactStarted())
    return " ".join(command.text for command in done if isinstance(command, duty.SendNotice))


def with_notices(s: Step, text: str) -> str:
    """``text`` in place of the AI's reply (a refusal): the first automated contact still
    carries the notices due, so a refused first answer does not skip the disclosure."""
    return f"{notices(s)} {text}".strip()


def right_to_human(s: Step, detail: str) -> bool:
    """True when the request for a human must be honoured at once."""
    if not active(s.state):
        return False
    done = _step(s, duty.HumanRequested(detail=detail[:200]))
    return any(isinstance(command, duty.HandToHuman) for command in done)


def human_instead_of_callback(s: Step, detail: str) -> bool:
    """A request for a human while a callback waits for consent: recorded as a no (True)."""
    if not active(s.state):
        return False
    done = _step(s, duty.HumanRequested(detail=detail[:200], at=s.at))
    return any(isinstance(command, duty.DeclineContact) for command in done)


def claims_right_to_human(c: InteractionCarry) -> bool:
    """A request for a human here goes before anything queued (no AI turn in between)."""
    return active(c) and c.compliance is not None and c.compliance.obligations.right_to_human


def consent_needed(c: InteractionCarry) -> bool:
    """A callback here needs the customer's recorded yes."""
    return (
        active(c) and c.compliance is not None and c.compliance.obligations.consent_before_callback
    )


def propose_callback(
    s: Step, *, ask: bool = True, by_customer: bool = False
) -> duty.ComplianceCommand | None:
    """Book, ask or decline a callback (None: the duties do not apply: book as before)."""
    if not active(s.state):
        return None
    proposed = duty.ContactProposed(
        contact=duty.ConsentKind.CALLBACK, ask=ask, by_customer=by_customer
    )
    done = _step(s, proposed)
    return done[0] if done else None


def withdraw_question(s: Step, why: str) -> None:
    """A consent question left unanswered is moot (an agent joined): withdrawn, audited."""
    c = s.state
    c.callback_pending = None
    if c.compliance is None or c.compliance.pending_consent is None:
        return
    contact = c.compliance.pending_consent
    c.compliance = compliance.withdraw_question(c.compliance)
    s.audit(
        "compliance",
        {
            "event": "consent_withdrawn",
            "reasons": [f"{contact.value}: question withdrawn: {why}"],
            "policy_version": c.compliance.obligations.policy_version,
            "jurisdiction": c.compliance.obligations.region,
            "channel": c.compliance.obligations.channel,
            "decided": [],
        },
    )


def consent_answered(s: Step, text: str, message_id: str | None) -> duty.ComplianceCommand | None:
    """The customer's (redacted) answer to the pending question: book, decline or ask again."""
    event = duty.ConsentAnswered(text=text[:2_000], at=s.at, message_id=message_id)
    done = _step(s, event)
    return done[0] if done else None


def _step(s: Step, event: duty.ComplianceEvent) -> list[duty.ComplianceCommand]:
    """One step of the machine; its audit command goes to the trail, the rest back."""
    c = s.state
    assert c.compliance is not None
    before = len(c.compliance.consents)
    state, commands = compliance.step(compliance.policy_of(c.compliance), c.compliance, event)
    c.compliance = state
    decided: list[duty.ComplianceCommand] = []
    for command in commands:
        if not isinstance(command, duty.AuditCompliance):
            decided.append(command)
            continue
        payload: dict[str, Any] = {
            "event": command.event,
            "reasons": command.reasons,
            "policy_version": command.policy_version,
            "jurisdiction": state.obligations.region,
            "channel": state.obligations.channel,
            "decided": [d.kind for d in decided],
        }
        if len(state.consents) > before:
            payload["consent"] = state.consents[-1].model_dump(mode="json")
        s.audit("compliance", payload)
    return decided


def _duties(state: duty.ComplianceState) -> dict[str, Any]:
    return state.obligations.model_dump(mode="json")


def view(c: InteractionCarry) -> dict[str, Any] | None:
    """What the ``status`` query shows: duties, notices given, consents recorded, a question
    waiting for its answer."""
    if c.compliance is None:
        return None
    return c.compliance.model_dump(mode="json", exclude={"texts", "max_consent_asks"})
