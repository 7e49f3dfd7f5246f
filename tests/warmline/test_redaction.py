from __future__ import annotations

import time

import pytest

from warmline.redaction import (
    contains_pii,
    iban_valid,
    luhn_valid,
    redact,
    redact_value,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my card is 4111111111111111", "my card is [CARD]"),
        ("card 4111 1111 1111 1111 exp 09/27", "card [CARD] exp 09/27"),
        ("4111-1111-1111-1111", "[CARD]"),
        ("amex 3782 822463 10005 please", "amex [CARD] please"),
        ("visa 4222222222222", "visa [CARD]"),  # 13 digits
        ("maestro 6759649826438453, thanks", "maestro [CARD], thanks"),
    ],
)
def test_luhn_valid_cards_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ref 4111111111111112",  # fails Luhn by one digit
        "1234 5678 9012 3456",
        "tracking 123456789012",  # 12 digits: too short for a card
    ],
)
def test_numbers_failing_card_rules_stay(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at john.doe@example.com", "mail me at [EMAIL]"),
        ("J.Doe+billing@mail.example.co.uk.", "[EMAIL]."),
        ("(a_b-c@sub-domain.io)", "([EMAIL])"),
    ],
)
def test_emails_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +44 7911 123456 today", "call [PHONE] today"),
        ("+1 (555) 123-4567", "[PHONE]"),
        ("+33 1 23 45 67 89", "[PHONE]"),
        ("(555) 123-4567", "[PHONE]"),
        ("555-123-4567", "[PHONE]"),
        ("555.123.4567", "[PHONE]"),
        ("1-800-555-0199 is the number", "[PHONE] is the number"),
        ("mobile 07911 123456", "mobile [PHONE]"),
        ("office 020 7946 0958", "office [PHONE]"),
        ("my phone is 5551234567", "my phone is [PHONE]"),
        ("Call me on 07911123456.", "Call me on [PHONE]."),
    ],
)
def test_phone_numbers_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 is late",
        "I was charged $120.50 twice",
        "total 1,299.99 EUR",
        "on 2024-01-15 at 10:30",
        "router at 192.168.1.1",
        "plan version 2026.10",
        "order number 5551234567",  # a bare 10-digit run without a phone word stays
        "my phone is broken since 2019",
        "ticket #000123",
        "+12 items",  # too few digits for an international number
    ],
)
def test_ordinary_numbers_are_not_eaten(text: str) -> None:
    assert redact(text) == text
    assert not contains_pii(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 123-45-6789", "SSN [SSN]"),
        ("ssn: 123 45 6789.", "ssn: [SSN]."),
        ("NI AB123456C", "NI [NATIONAL_ID]"),
        ("ni number ab 12 34 56 c", "ni number [NATIONAL_ID]"),
    ],
)
def test_national_ids_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # area 000 never issued
        "666-12-3456",
        "123-00-4567",
        "123-45-0000",
        "123-45 6789",  # mixed separators
        "GB123456A",  # GB prefix is not allocated
        "DQ123456C",  # D and Q never used
    ],
)
def test_invalid_national_ids_stay(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IBAN DE89370400440532013000", "IBAN [IBAN]"),
        ("pay to GB82 WEST 1234 5698 7654 32 please", "pay to [IBAN] please"),
        ("fr1420041010050500013m02606", "[IBAN]"),
    ],
)
def test_ibans_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_iban_with_wrong_checksum_stays() -> None:
    text = "code DE88370400440532013000"
    assert redact(text) == text


def test_several_kinds_in_one_message() -> None:
    text = (
        "Hi, I'm jane@shop.example, card 4111 1111 1111 1111, phone (555) 123-4567, "
        "SSN 123-45-6789, IBAN DE89370400440532013000, about order 12345 ($120.50)."
    )
    assert redact(text) == (
        "Hi, I'm [EMAIL], card [CARD], phone [PHONE], "
        "SSN [SSN], IBAN [IBAN], about order 12345 ($120.50)."
    )


def test_redaction_is_idempotent() -> None:
    once = redact("card 4111111111111111 mail a@b.io phone 555-123-4567")
    assert redact(once) == once
    assert not contains_pii(once)


def test_text_without_digits_or_at_is_returned_unchanged() -> None:
    text = "Where is my parcel? It was due yesterday."
    assert redact(text) is text


def test_contains_pii() -> None:
    assert contains_pii("reach me at a@b.io")
    assert not contains_pii("reach me by email")


def test_redact_value_walks_nested_containers() -> None:
    value = {
        "note": "call 555-123-4567",
        "priority": 3,
        "vip": True,
        "history": ["a@b.io", {"card": "4111111111111111"}, ("SSN 123-45-6789", 1.5)],
        "order": "12345",
    }
    assert redact_value(value) == {
        "note": "call [PHONE]",
        "priority": 3,
        "vip": True,
        "history": ["[EMAIL]", {"card": "[CARD]"}, ("SSN [SSN]", 1.5)],
        "order": "12345",
    }
    assert value["note"] == "call 555-123-4567"  # the input is not mutated


def test_checksum_helpers() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert not iban_valid("GB82")


def test_pathological_digit_run_finishes() -> None:
    """A guard against catastrophic backtracking (speed itself is bench/pii's): generous."""
    text = "+" + "1 " * 1000 + "x" + "9" * 1000
    start = time.perf_counter()
    redact(text)
    assert time.perf_counter() - start < 2.0


def test_number_glued_to_words_is_not_a_card() -> None:
    text = "x" * 200 + "4111111111111111" + "y" * 200
    assert redact(text) == text
