"""The regulatory machine per region: notices at first AI contact, the right to a human, consent
before any callback, recording notices in all-party-consent states."""

from __future__ import annotations

import pytest

from models.compliance import (
    AIContactStarted,
    AskConsent,
    AuditCompliance,
    BookContact,
    ComplianceCommand,
    ComplianceState,
    ConsentAnswered,
    ConsentKind,
    ContactProposed,
    DeclineContact,
    HandToHuman,
    HumanRequested,
    NoticeKind,
    RegionRule,
    RegulatoryPolicy,
    SendNotice,
)
from warmline.compliance import obligations, parse_consent, start, step
from warmline.default_compliance import default_regulatory_policy

POLICY = default_regulatory_policy().model_copy(update={"version": 7})


def _notices(commands: list[ComplianceCommand]) -> list[NoticeKind]:
    return [c.notice for c in commands if isinstance(c, SendNotice)]


@pytest.mark.parametrize(
    ("region", "channel", "expected"),
    [
        ("eu", "chat", [NoticeKind.AI_DISCLOSURE, NoticeKind.AUTOMATED_DECISION]),
        ("eu-de", "voice", [NoticeKind.AI_DISCLOSURE, NoticeKind.AUTOMATED_DECISION,
                            NoticeKind.RECORDING]),
        ("us-ca", "voice", [NoticeKind.AI_DISCLOSURE, NoticeKind.AUTOMATED_DECISION,
                            NoticeKind.RECORDING]),
        ("us-ca", "chat", [NoticeKind.AI_DISCLOSURE, NoticeKind.AUTOMATED_DECISION]),
        ("us-tx", "voice", [NoticeKind.AI_DISCLOSURE]),  # one-party consent: no recording notice
        ("us-fl", "voice", [NoticeKind.AI_DISCLOSURE, NoticeKind.RECORDING]),
        ("us-ut", "chat", [NoticeKind.AI_DISCLOSURE]),
        ("uk", "voice", [NoticeKind.AI_DISCLOSURE, NoticeKind.AUTOMATED_DECISION,
                         NoticeKind.RECORDING]),
        ("jp", "chat", [NoticeKind.AI_DISCLOSURE]),  # the conservative default
    ],
)  # fmt: skip
def test_notices_at_first_ai_contact(region: str, channel: str, expected: list[NoticeKind]) -> None:
    state, commands = step(POLICY, start(POLICY, region, channel), AIContactStarted())
    assert _notices(commands) == expected
    audit = commands[-1]
    assert isinstance(audit, AuditCompliance) and audit.policy_version == 7
    again, repeated = step(POLICY, state, AIContactStarted())
    assert _notices(repeated) == [] and again.notices == state.notices  # each notice once


def test_no_disclosure_where_no_rule_requires_it() -> None:
    policy = RegulatoryPolicy(rules=[RegionRule(region="us", consent_before_callback=True)])
    _, commands = step(policy, start(policy, "us-tx", "chat"), AIContactStarted())
    assert _notices(commands) == []


def test_layers_inherit_and_override() -> None:
    policy = RegulatoryPolicy(
        rules=[
            RegionRule(region="*", ai_disclosure=True, basis=["default"]),
            RegionRule(region="us", ai_disclosure=False, basis=["us"]),
            RegionRule(region="us-ca", channel="voice", recording_notice=True, basis=["ca"]),
        ]
    )
    resolved = obligations(policy, "us-ca", "voice")
    assert not resolved.ai_disclosure and resolved.recording_notice
    assert resolved.basis == ["default", "us", "ca"]
    assert obligations(policy, "usa", "voice").ai_disclosure  # "usa" is not inside "us"


@pytest.mark.parametrize(("region", "handed"), [("eu", True), ("us-ca", True), ("us-tx", False)])
def test_right_to_a_human_is_honoured_at_once(region: str, handed: bool) -> None:
    state, _ = step(POLICY, start(POLICY, region, "chat"), AIContactStarted())
    state, commands = step(POLICY, state, HumanRequested(detail="customer: 'a human please'"))
    assert any(isinstance(c, HandToHuman) for c in commands) is handed
    assert state.handed_to_human is handed


def _consent_flow(
    region: str, answer: str | None
) -> tuple[ComplianceState, list[list[ComplianceCommand]]]:
    state = start(POLICY, region, "voice")
    state, proposed = step(POLICY, state, ContactProposed(contact=ConsentKind.CALLBACK))
    steps = [proposed]
    if answer is not None:
        state, answered = step(
            POLICY, state, ConsentAnswered(text=answer, at="2026-01-01T10:00:00Z", message_id="m3")
        )
        steps.append(answered)
    return state, steps


def test_no_callback_without_recorded_consent() -> None:
    state, [proposed] = _consent_flow("us-tx", None)
    assert [type(c) for c in proposed[:-1]] == [AskConsent]
    assert not any(isinstance(c, BookContact) for c in proposed)
    assert state.pending_consent is ConsentKind.CALLBACK


def test_yes_is_recorded_and_books() -> None:
    state, [_, answered] = _consent_flow("us-tx", "Yes, that's fine")
    assert any(isinstance(c, BookContact) for c in answered)
    record = state.consent(ConsentKind.CALLBACK)
    assert record is not None and record.granted and record.message_id == "m3"
    _, again = step(POLICY, state, ContactProposed(contact=ConsentKind.CALLBACK))
    assert any(isinstance(c, BookContact) for c in again)  # consent on record


def test_no_is_recorded_and_declines_later_proposals_too() -> None:
    state, [_, answered] = _consent_flow("eu", "no, don't call me")
    assert any(isinstance(c, DeclineContact) for c in answered)
    _, again = step(POLICY, state, ContactProposed(contact=ConsentKind.CALLBACK))
    assert any(isinstance(c, DeclineContact) for c in again)
    assert not any(isinstance(c, BookContact) for c in again)


def test_unclear_answer_asks_again() -> None:
    state, [_, answered] = _consent_flow("us-ca", "what number do you have?")
    assert [type(c) for c in answered[:-1]] == [AskConsent]
    assert state.pending_consent is ConsentKind.CALLBACK and not state.consents


def test_no_consent_duty_books_directly() -> None:
    policy = RegulatoryPolicy(rules=[])
    _, commands = step(policy, start(policy, "jp", "voice"), ContactProposed(contact="callback"))
    assert any(isinstance(c, BookContact) for c in commands)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Sure, go ahead", True),
        ("oui", True),
        ("no", False),
        ("please don't call", False),
        ("yes... actually no, do not call", False),
        ("which number?", None),
        ("I want to talk to a person now", False),
        ("no, connect me to an agent", False),
        ("yes, have an agent call me back", True),
        ("", None),
    ],
)
def test_parse_consent(text: str, expected: bool | None) -> None:
    assert parse_consent(text) is expected


def test_an_unclear_answer_is_asked_again_only_up_to_the_bound() -> None:
    policy = POLICY.model_copy(update={"max_consent_asks": 2})
    state = start(policy, "us", "voice")
    state, _ = step(policy, state, ContactProposed(contact=ConsentKind.CALLBACK))
    answer = ConsentAnswered(text="hmm?", at="2026-01-01T10:00:00Z")
    state, again = step(policy, state, answer)
    assert [type(c) for c in again[:-1]] == [AskConsent]
    state, ended = step(policy, state, answer)
    assert [type(c) for c in ended[:-1]] == [DeclineContact]
    assert state.pending_consent is None and state.consents == [], "no 'no' is recorded"


def test_without_time_to_ask_no_answer_means_no_contact() -> None:
    state = start(POLICY, "us", "voice")
    _, commands = step(POLICY, state, ContactProposed(contact=ConsentKind.CALLBACK, ask=False))
    assert [type(c) for c in commands[:-1]] == [DeclineContact]


def test_a_customer_who_asks_after_a_no_is_asked_again() -> None:
    state, _ = _consent_flow("us", "no")
    proposed = ContactProposed(contact=ConsentKind.CALLBACK, by_customer=True)
    _, commands = step(POLICY, state, proposed)
    assert [type(c) for c in commands[:-1]] == [AskConsent]


def test_the_answer_is_recorded_with_the_question() -> None:
    state, _ = _consent_flow("us", "please call me back")
    record = state.consent(ConsentKind.CALLBACK)
    assert record is not None and record.granted and record.answer == "please call me back"
    assert record.asked_text == POLICY.texts.callback_consent and record.at
