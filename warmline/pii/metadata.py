"""Redaction of metadata: every value, whatever its type, with its key as context.

Integrators put anything in metadata: ``{"phone": 5551234567}`` (an int), ``{"ssn":
"123456789"}`` (digits that need the word "SSN" to be recognised), ``{"customer_name": "Ana
Ruiz"}`` (a name no pattern finds). So each value is checked as ``"<key>: <value>"``, the key
giving the context a bare value lacks, and a key that names a personal field (name, address,
e-mail, phone, date of birth, national id, card, IBAN) redacts its whole value. Numbers that
hold PII become their token (a string); other numbers and booleans keep their type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from models.redaction import PiiKind, RedactionState
from warmline.pii.detect import detect
from warmline.pii.tokens import TokenBook

_KEY_KINDS: tuple[tuple[re.Pattern[str], PiiKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"e-?mail", PiiKind.EMAIL),
        (r"phone|mobile|cell|msisdn|ani\b|caller_?id|telephone", PiiKind.PHONE),
        (r"birth|dob\b", PiiKind.DOB),
        (r"ssn|social_?security", PiiKind.SSN),
        (r"iban", PiiKind.IBAN),
        (r"card_?(?:number|no|num)|\bpan\b|credit_?card", PiiKind.CARD),
        (r"address|street|addr\b|postcode|zip", PiiKind.ADDRESS),
        (r"^(?:(?:first|last|full|middle|given|family|customer|caller|contact|sur)_?)?name$",
         PiiKind.NAME),
    )
)  # fmt: skip


def key_kind(key: str) -> PiiKind | None:
    """The kind of personal field ``key`` names, if any (``customer_name`` -> NAME)."""
    for pattern, kind in _KEY_KINDS:
        if pattern.search(key):
            return kind
    return None


def _redact_scalar(book: TokenBook, key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    integral = isinstance(value, float) and value.is_integer()
    text = str(int(value)) if integral else str(value)
    kind = key_kind(key)
    if kind is not None and text.strip():
        return book.token(kind, text)
    prefix = f"{key}: "
    detection = detect(prefix + text)
    spans = [(k, s - len(prefix), e - len(prefix)) for k, s, e in detection.found]
    spans = [(k, s, e) for k, s, e in spans if s >= 0]
    if not spans:
        return value
    pieces: list[str] = []
    cursor = 0
    for kind_found, start, end in spans:
        pieces += [text[cursor:start], book.token(kind_found, text[start:end])]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _walk(book: TokenBook, key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _walk(book, str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(book, key, item) for item in value]
    if isinstance(value, tuple):
        return tuple(_walk(book, key, item) for item in value)
    return _redact_scalar(book, key, value)


def redact_metadata(
    state: RedactionState, metadata: Mapping[str, Any]
) -> tuple[RedactionState, dict[str, Any]]:
    """Every value of ``metadata`` redacted (keys are the integrator's field names, kept)."""
    book = TokenBook(state)
    redacted = {str(k): _walk(book, str(k), v) for k, v in metadata.items()}
    return book.state(), redacted


def redact_value_once(value: Any, key: str = "") -> Any:
    """Any value (mapping, list, tuple, scalar) redacted with un-numbered tokens, nothing
    remembered; ``key`` is the context of a bare scalar."""
    return _walk(TokenBook(RedactionState(), numbered=False), key, value)
