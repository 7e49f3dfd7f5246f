"""Per-interaction redaction in the lifecycle: stable tokens, a split card masked on arrival and
revised everywhere it is kept, and message-id repeats still recognised."""

from __future__ import annotations

from models.interaction import Sender
from models.lifecycle import CallAI, CustomerMessageReceived, DeliverReply
from tests.warmline.lifecycle_builders import Driver, started
from warmline.lifecycle import intake


def customer_texts(d: Driver) -> list[str]:
    return [e.text for e in d.c.transcript if e.sender is Sender.CUSTOMER]


def test_a_split_card_is_masked_then_revised_everywhere() -> None:
    d = Driver(started("I paid with my card 4539 1488")).to_ai()
    assert d.c.request.first_message == "I paid with my card [NUMBER_1]"
    d.ok(CallAI)
    d.feed(CustomerMessageReceived(at=d.now, text="0343 6467 and it failed", ticket="u-1"))
    assert customer_texts(d)[0] == "I paid with my card [CARD_1]"
    assert d.c.request.first_message == "I paid with my card [CARD_1]"
    assert customer_texts(d)[1] == "[CARD_1] and it failed"
    assert "4539" not in d.c.model_dump_json() and "6467" not in d.c.model_dump_json()
    assert any(e.kind == "redaction_revised" for e in d.c.pending_audit)


def test_tokens_are_stable_within_the_interaction() -> None:
    d = Driver(started("write to jane@example.com")).to_ai()
    d.ok(CallAI)
    d.feed(CustomerMessageReceived(at=d.now, text="again: jane@example.com, or bob@example.com"))
    assert customer_texts(d) == ["write to [EMAIL_1]", "again: [EMAIL_1], or [EMAIL_2]"]


def test_a_repeated_message_id_with_pii_is_the_same_message() -> None:
    d = Driver().to_ai()
    d.ok(CallAI)
    text = "card 4111 1111 1111 1111 was charged"
    d.feed(CustomerMessageReceived(at=d.now, text=text, message_id="m-1", ticket="u-1"))
    d.ok(CallAI)
    d.feed(CustomerMessageReceived(at=d.now, text=text, message_id="m-1", ticket="u-2"))
    [again] = [c for c in d.commands if isinstance(c, DeliverReply)]
    assert again.ticket == "u-2" and again.reply.turn == 2
    assert intake.canonical("card [CARD_1] was") == intake.canonical("card [CARD] was")
