"""The regulatory duties of an interaction as a pure machine ``(policy, state, event) ->
(state, commands)``.

* First AI contact: the notices the region and channel require (AI disclosure, automated-
  decision notice, call-recording notice on voice), each once.
* A request for a human where the right to a human applies: handed over at once, with no
  callback offer or deflection in between.
* A callback or outbound contact: booked only with a recorded "yes"; asked for first when
  there is no answer yet, refused after a "no". An answer that is neither yes nor no asks again,
  up to the policy's ``max_consent_asks``; then nothing is booked (and no "no" is recorded).
  Where there is no time left to ask (``ContactProposed.ask`` False), no answer means no.

The lifecycle machine feeds the events and carries out the commands; every step also returns
an ``AuditCompliance`` command with its reasons and the policy version.
"""

from __future__ import annotations

import re

from models.compliance import (
    ANY,
    AIContactStarted,
    AskConsent,
    AuditCompliance,
    BookContact,
    ComplianceCommand,
    ComplianceEvent,
    ComplianceState,
    ConsentAnswered,
    ConsentKind,
    ConsentRecord,
    ContactProposed,
    DeclineContact,
    HandToHuman,
    HumanRequested,
    NoticeKind,
    Obligations,
    RegionRule,
    RegulatoryPolicy,
    SendNotice,
)

_DUTIES = (
    "ai_disclosure",
    "automated_decision_notice",
    "right_to_human",
    "consent_before_callback",
    "consent_before_outbound",
    "recording_notice",
)
_YES_RE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok(?:ay)?|of course|please do|go ahead|that'?s fine|fine"
    r"|oui|sí|si|ja|certo|d'accord|vale"
    r"|(?:please\s+)?(?:call|ring|phone)\s+(?:me\s+)?back)\b",
    re.IGNORECASE,
)
_NO_RE = re.compile(
    r"^\W*(?:no|nope|nah|don'?t|do not|never|no thanks|non|nein|no gracias|no grazie)\b"
    r"|\b(?:do not|don'?t)\s+(?:call|contact|phone|ring)\b"
    # Asked to be called back, the customer asks for a person now: not a yes to the callback.
    r"|\b(?:talk|speak|connect|put)\b[\w\s']{0,30}\b(?:human|person|agent|representative)\b"
    r"|\b(?:want|need)\s+(?:a|an|to\s+\w+\s+(?:a|an))\s+(?:human|person|agent|representative)\b",
    re.IGNORECASE,
)


def _applies(rule: RegionRule, region: str, channel: str) -> bool:
    region = region.lower()
    scope = rule.region.lower()
    in_region = scope == ANY or region == scope or region.startswith(scope + "-")
    return in_region and rule.channel in (ANY, channel)


def obligations(policy: RegulatoryPolicy, region: str, channel: str) -> Obligations:
    """Resolve the layered rules for one region and channel (general first, specific last)."""
    resolved: dict[str, bool] = {duty: False for duty in _DUTIES}
    basis: list[str] = []
    matching = sorted(
        (r for r in policy.rules if _applies(r, region, channel)), key=RegionRule.specificity
    )
    for rule in matching:
        for duty in _DUTIES:
            value = getattr(rule, duty)
            if value is not None:
                resolved[duty] = value
        basis += [b for b in rule.basis if b not in basis]
    return Obligations(
        region=region, channel=channel, basis=basis, policy_version=policy.version, **resolved
    )


def start(policy: RegulatoryPolicy, region: str, channel: str) -> ComplianceState:
    """An interaction's compliance state: its obligations, and the policy's wording, so the
    lifecycle can go on with the state alone (``policy_of``)."""
    return ComplianceState(
        obligations=obligations(policy, region, channel),
        texts=policy.texts,
        max_consent_asks=policy.max_consent_asks,
    )


def policy_of(state: ComplianceState) -> RegulatoryPolicy:
    """The part of the policy ``step`` reads, rebuilt from the carried state (the rules were
    resolved into its obligations when the interaction was routed)."""
    return RegulatoryPolicy(
        version=state.obligations.policy_version,
        texts=state.texts,
        max_consent_asks=state.max_consent_asks,
    )


def rechannel(policy: RegulatoryPolicy, state: ComplianceState, channel: str) -> ComplianceState:
    """A channel switch: the duties of the new channel, with the notices and consents given."""
    region = state.obligations.region
    return state.model_copy(update={"obligations": obligations(policy, region, channel)})


def notices_due(state: ComplianceState) -> bool:
    """True when an AI reply must carry a notice not yet given (or the first contact is not
    yet on the record)."""
    if not state.ai_contacted:
        return True
    return bool(_notices(policy_of(state), state)[1])


def withdraw_question(state: ComplianceState) -> ComplianceState:
    """The pending question no longer matters (an agent took the conversation): nothing is
    recorded, nothing will be booked from it."""
    return state.model_copy(update={"pending_consent": None, "consent_asks": 0})


def parse_consent(text: str) -> bool | None:
    """A yes (True), a no (False), or neither (None). A no wins when both appear."""
    if _NO_RE.search(text):
        return False
    if _YES_RE.search(text):
        return True
    return None


def _notices(
    policy: RegulatoryPolicy, state: ComplianceState
) -> tuple[list[NoticeKind], list[SendNotice]]:
    duty = state.obligations
    due = [
        (NoticeKind.AI_DISCLOSURE, duty.ai_disclosure, policy.texts.ai_disclosure),
        (
            NoticeKind.AUTOMATED_DECISION,
            duty.automated_decision_notice,
            policy.texts.automated_decision,
        ),
        (
            NoticeKind.RECORDING,
            duty.recording_notice and duty.channel == "voice",
            policy.texts.recording,
        ),
    ]
    given = list(state.notices)
    commands: list[SendNotice] = []
    for kind, required, text in due:
        if required and kind not in given:
            given.append(kind)
            commands.append(SendNotice(notice=kind, text=text))
    return given, commands


def _consent_text(policy: RegulatoryPolicy, contact: ConsentKind) -> str:
    if contact is ConsentKind.CALLBACK:
        return policy.texts.callback_consent
    return policy.texts.outbound_consent


def _needs_consent(state: ComplianceState, contact: ConsentKind) -> bool:
    duty = state.obligations
    if contact is ConsentKind.CALLBACK:
        return duty.consent_before_callback
    return duty.consent_before_outbound


def step(
    policy: RegulatoryPolicy, state: ComplianceState, event: ComplianceEvent
) -> tuple[ComplianceState, list[ComplianceCommand]]:
    """One transition; see the module docstring."""
    commands: list[ComplianceCommand] = []
    reasons: list[str] = []
    duty = state.obligations
    if isinstance(event, AIContactStarted):
        given, notices = _notices(policy, state)
        state = state.model_copy(update={"notices": given, "ai_contacted": True})
        commands += notices
        reasons.append(
            "notices: " + (", ".join(n.notice.value for n in notices) if notices else "none due")
        )
    elif isinstance(event, HumanRequested):
        if state.pending_consent is not None and event.at is not None:
            # Asked to agree to a contact, the customer asks for a person instead: a no.
            state, declined = _declined_for_human(policy, state, event)
            commands.append(declined)
            reasons.append(declined.reason)
        if duty.right_to_human and not state.handed_to_human:
            state = state.model_copy(update={"handed_to_human": True})
            commands.append(HandToHuman(reason=f"right to a human: {event.detail}"))
            reasons.append("right to a human applies: handed over at once")
        else:
            reasons.append("no right-to-human duty here (or already handed over)")
    elif isinstance(event, ContactProposed):
        state, decided, why = _propose(policy, state, event.contact, event.ask, event.by_customer)
        commands += decided
        reasons.append(why)
    elif isinstance(event, ConsentAnswered):
        state, decided, why = _answer(policy, state, event)
        commands += decided
        reasons.append(why)
    if duty.basis:
        reasons.append("basis: " + "; ".join(duty.basis))
    commands.append(
        AuditCompliance(event=event.kind, reasons=reasons, policy_version=duty.policy_version)
    )
    return state, commands


def _propose(
    policy: RegulatoryPolicy,
    state: ComplianceState,
    contact: ConsentKind,
    ask: bool,
    by_customer: bool = False,
) -> tuple[ComplianceState, list[ComplianceCommand], str]:
    if not _needs_consent(state, contact):
        return state, [BookContact(contact=contact)], f"{contact.value}: no consent duty, booked"
    record = state.consent(contact)
    if record is not None and record.granted:
        return state, [BookContact(contact=contact)], f"{contact.value}: consent on record"
    if record is not None and not record.granted and not by_customer:
        reason = f"{contact.value}: customer declined at {record.at}"
        return state, [DeclineContact(contact=contact, reason=reason)], reason
    if not ask:
        state = state.model_copy(update={"pending_consent": None, "consent_asks": 0})
        reason = f"{contact.value}: no consent on record and no time left to ask: not booked"
        return state, [DeclineContact(contact=contact, reason=reason)], reason
    state = state.model_copy(update={"pending_consent": contact, "consent_asks": 1})
    ask_it = AskConsent(contact=contact, text=_consent_text(policy, contact))
    return state, [ask_it], f"{contact.value}: consent required and not yet given: asked"


def _declined_for_human(
    policy: RegulatoryPolicy, state: ComplianceState, event: HumanRequested
) -> tuple[ComplianceState, DeclineContact]:
    contact = state.pending_consent
    assert contact is not None and event.at is not None
    record = ConsentRecord(
        kind=contact,
        granted=False,
        at=event.at,
        asked_text=_consent_text(policy, contact),
        answer=f"asked for a human instead ({event.detail})"[:200],
    )
    state = state.model_copy(
        update={"consents": [*state.consents, record], "pending_consent": None, "consent_asks": 0}
    )
    reason = f"{contact.value}: customer asked for a human instead: declined"
    return state, DeclineContact(contact=contact, reason=reason)


def _answer(
    policy: RegulatoryPolicy, state: ComplianceState, event: ConsentAnswered
) -> tuple[ComplianceState, list[ComplianceCommand], str]:
    contact = state.pending_consent
    if contact is None:
        return state, [], "answer without a pending question: ignored"
    granted = parse_consent(event.text)
    if granted is None and state.consent_asks >= policy.max_consent_asks:
        state = state.model_copy(update={"pending_consent": None, "consent_asks": 0})
        reason = (
            f"{contact.value}: no clear answer after {policy.max_consent_asks} questions: "
            "not booked"
        )
        return state, [DeclineContact(contact=contact, reason=reason)], reason
    if granted is None:
        state = state.model_copy(update={"consent_asks": state.consent_asks + 1})
        ask = AskConsent(contact=contact, text=_consent_text(policy, contact))
        return state, [ask], f"{contact.value}: answer neither yes nor no: asked again"
    record = ConsentRecord(
        kind=contact,
        granted=granted,
        at=event.at,
        asked_text=_consent_text(policy, contact),
        answer=event.text[:200],
        message_id=event.message_id,
    )
    state = state.model_copy(
        update={"consents": [*state.consents, record], "pending_consent": None, "consent_asks": 0}
    )
    if granted:
        return state, [BookContact(contact=contact)], f"{contact.value}: consent recorded: booked"
    reason = f"{contact.value}: customer declined"
    return state, [DeclineContact(contact=contact, reason=reason)], reason
