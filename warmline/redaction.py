"""PII redaction of single texts: replace personal data by typed tokens before text goes
anywhere durable.

Why here and not downstream: once raw text reaches workflow history, logs or a training set it
cannot be taken back, so the orchestrator redacts at the edge of every turn. This module is
the one-text face of :mod:`warmline.pii` (un-numbered tokens such as ``[CARD]``, nothing
remembered between calls); an interaction that wants stable ``[CARD_1]`` tokens, numbers split
over messages and a model's names and addresses uses :func:`warmline.pii.redact_message` with
its :class:`~models.redaction.RedactionState`.

What is found: cards (Luhn), e-mails (also spoken: "john dot doe at gmail"), phone numbers
(international, North American, UK, French, Indian, ten bare digits unless an order word
precedes them), SSNs (dashed, or bare after "SSN"), Canadian SINs, UK NI numbers, Spanish
DNI/NIE, Italian codici fiscali, IBANs (mod 97), dates of birth (after a birth word); through
zero-width characters, full-width forms and digits spelled out in words.
"""

from __future__ import annotations

from typing import TypeVar, cast

from warmline.pii.checksums import iban_valid, luhn_valid
from warmline.pii.metadata import redact_value_once
from warmline.pii.redactor import redact_text

__all__ = ["contains_pii", "iban_valid", "luhn_valid", "redact", "redact_value"]

_T = TypeVar("_T")


def redact(text: str) -> str:
    """Return ``text`` with every PII span the patterns find replaced by its typed token."""
    redacted, entities = redact_text(text)
    return redacted if entities else text


def contains_pii(text: str) -> bool:
    """True when :func:`redact` would change ``text``."""
    return bool(redact_text(text)[1])


def redact_value(value: _T) -> _T:
    """Redact every value inside dicts, lists and tuples (metadata), whatever its type: an int
    holding a card number becomes ``"[CARD]"``; other numbers and booleans pass through.

    Keys are kept: they are field names chosen by the integrator, not customer input; they do
    give context ("ssn": 123456789 is an SSN).
    """
    return cast(_T, redact_value_once(value))
