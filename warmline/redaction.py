"""PII redaction: replace personal data by typed tokens before text goes anywhere durable.

Why here and not downstream: once raw text reaches workflow history, logs or a training set it
cannot be taken back, so the orchestrator redacts at the edge of every turn. The patterns are
tuned to keep what an agent needs (order ids, amounts, dates) and to drop what identifies a
person or pays for something. Checksums (Luhn for cards, mod 97 for IBANs) are what let the
patterns stay permissive without eating ordinary long numbers.

Patterns run in a fixed order, most distinctive first, and every token is digit-free, so a
later pattern never re-matches an earlier replacement.

Speed: this runs on every turn, and a dozen full scans of a long message cost about a
millisecond. So a cheap scan finds the places where PII can be (an "@", or a cluster of six or
more digits and separators, which every number pattern below contains) and the patterns run
only on windows around them, each stage with the reach its patterns need. Windows start and
end at whitespace, which no pattern's look-around treats differently from the text's ends; so
the result is the same as scanning the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

CARD = "[CARD]"
EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
SSN = "[SSN]"
NATIONAL_ID = "[NATIONAL_ID]"
IBAN = "[IBAN]"

_T = TypeVar("_T")
_Replacer = Callable[[re.Match[str]], str]

# Six or more digits, at most three separators apart: every number pattern's match contains
# such a cluster (IBANs: their account digits), while amounts like 120.50 and ids like 12345
# do not, so ordinary text needs no window at all.
_DIGIT_CLUSTER_RE = re.compile(r"\d(?:[ .()/-]{0,3}\d){5,}")
# Windows are cut only at these: no pattern's look-around treats them unlike the text's ends.
_WHITESPACE_RE = re.compile(r"[ \t\n\r]")
_LOOKBACK_STEP = 64
_MERGE_GAP = 48
_MAX_WINDOWS = 8

_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)
# Country code, check digits, then the account in groups of four (spaced or not).
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?"
    r"(?![A-Za-z0-9])"
)
_SSN_RE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
# UK National Insurance number; the prefix letters exclude D, F, I, Q, U, V (and O second).
_NINO_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_NINO_INVALID_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
# 13-19 digits with single spaces or dashes; one digit per repetition keeps matching linear.
_CARD_RE = re.compile(r"(?<![\w+.,-])(?:\d[ -]?){12,18}\d(?![\w-]|[.,]\d)")
# 8-15 digits after "+"; one digit per repetition keeps matching linear.
_PHONE_INTL_RE = re.compile(r"(?<![\w+])\+\d(?:[ .()-]{0,3}\d){7,14}(?!\d)")
_PHONE_NANP_RE = re.compile(
    r"(?<![\w+.-])(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]|[.,]\d)"
)
_PHONE_UK_RE = re.compile(r"(?<![\w+.-])0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}(?![\w-]|[.,]\d)")
# A bare digit run is only a phone number when the customer says so.
_PHONE_CONTEXT_RE = re.compile(
    r"(\b(?:phone|mobile|cell|tel|telephone|landline|call me|text me|whatsapp|reach me)\b"
    r"[^\d\n]{0,30}?)\d(?:[ .-]{0,3}\d){6,14}(?![\w-]|[.,]\d)",
    re.IGNORECASE,
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(digits: str) -> bool:
    """Luhn checksum; a random 16-digit number passes one time in ten."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 check on an IBAN written with or without spaces."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _card(match: re.Match[str]) -> str:
    digits = _digits(match.group())
    return CARD if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group()


def _iban(match: re.Match[str]) -> str:
    # The grouped pattern may run into a following word ("... 32 please"); drop trailing
    # space-separated chunks until the checksum holds, and keep what was dropped.
    text = match.group()
    parts = text.split(" ")
    for end in range(len(parts), 0, -1):
        candidate = " ".join(parts[:end])
        if iban_valid(candidate):
            rest = text[len(candidate) :]
            return IBAN + rest
    return text


def _nino(match: re.Match[str]) -> str:
    return match.group() if match.group(1).upper() in _NINO_INVALID_PREFIXES else NATIONAL_ID


def _phone_with_digits(low: int, high: int) -> _Replacer:
    def replace(match: re.Match[str]) -> str:
        return PHONE if low <= len(_digits(match.group())) <= high else match.group()

    return replace


def _phone_in_context(match: re.Match[str]) -> str:
    return match.group(1) + PHONE


_Pass = tuple[re.Pattern[str], str | _Replacer]


@dataclass(frozen=True)
class _Stage:
    """Patterns that share a trigger and how far (in characters) a match reaches beyond it."""

    passes: tuple[_Pass, ...]
    before: int
    after: int
    trigger: re.Pattern[str] = _DIGIT_CLUSTER_RE


_STAGES: tuple[_Stage, ...] = (
    _Stage(passes=((_EMAIL_RE, EMAIL),), before=0, after=0, trigger=re.compile("@")),
    # IBANs first: their account digits would otherwise be taken for a card or a phone.
    _Stage(passes=((_IBAN_RE, _iban),), before=32, after=40),
    _Stage(
        passes=(
            (_SSN_RE, SSN),
            (_NINO_RE, _nino),
            (_CARD_RE, _card),
            (_PHONE_INTL_RE, PHONE),
            (_PHONE_NANP_RE, PHONE),
            (_PHONE_UK_RE, _phone_with_digits(10, 11)),
        ),
        before=4,
        after=4,
    ),
    # Last, on what is left: the phone keyword may stand a few words before the digits.
    _Stage(passes=((_PHONE_CONTEXT_RE, _phone_in_context),), before=48, after=0),
)


def _after_whitespace_before(text: str, position: int) -> int:
    """Start of the whitespace-delimited stretch that contains ``position``."""
    # Look back a little at a time: an unbounded rfind per window would rescan the text.
    low = position
    while True:
        low = max(0, low - _LOOKBACK_STEP)
        found = max(text.rfind(" ", low, position), text.rfind("\n", low, position))
        if found != -1 or low == 0:
            return found + 1


def _whitespace_from(text: str, position: int) -> int:
    """First whitespace at or after ``position`` (or the end of ``text``)."""
    match = _WHITESPACE_RE.search(text, position)
    return match.start() if match else len(text)


def _windows(text: str, spans: list[tuple[int, int]], before: int, after: int) -> list[list[int]]:
    """Whitespace-bounded, merged windows around ``spans`` (sorted, as ``finditer`` gives).

    Windows closer than ``_MERGE_GAP`` are joined: scanning a few extra characters is cheaper
    than another round of ``sub`` calls.
    """
    reach: list[list[int]] = []
    for start, end in spans:
        low, high = max(0, start - before), min(len(text), end + after)
        if reach and low <= reach[-1][1] + _MERGE_GAP:
            reach[-1][1] = max(reach[-1][1], high)
        else:
            reach.append([low, high])
    windows: list[list[int]] = []
    for low, high in reach:
        low, high = _after_whitespace_before(text, low), _whitespace_from(text, high)
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    return windows


def _sub_all(text: str, passes: tuple[_Pass, ...]) -> str:
    for pattern, replacement in passes:
        text = pattern.sub(replacement, text)
    return text


def _run(text: str, stage: _Stage) -> str:
    spans = [match.span() for match in stage.trigger.finditer(text)]
    if not spans:
        return text
    if len(spans) > _MAX_WINDOWS:
        # PII-dense text: per-window bookkeeping would cost more than scanning everything.
        return _sub_all(text, stage.passes)
    pieces: list[str] = []
    cursor = 0
    for low, high in _windows(text, spans, stage.before, stage.after):
        pieces += [text[cursor:low], _sub_all(text[low:high], stage.passes)]
        cursor = high
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact(text: str) -> str:
    """Return ``text`` with cards, e-mails, phones, SSNs, NI numbers and IBANs tokenized."""
    for stage in _STAGES:
        text = _run(text, stage)
    return text


def contains_pii(text: str) -> bool:
    """True when :func:`redact` would change ``text``."""
    return redact(text) != text


def redact_value(value: _T) -> _T:
    """Redact every string inside dicts, lists and tuples (metadata); other values pass through.

    Keys are kept: they are field names chosen by the integrator, not customer input.
    """
    result: Any
    if isinstance(value, str):
        result = redact(value)
    elif isinstance(value, dict):
        result = {key: redact_value(item) for key, item in value.items()}
    elif isinstance(value, list):
        result = [redact_value(item) for item in value]
    elif isinstance(value, tuple):
        result = tuple(redact_value(item) for item in value)
    else:
        result = value
    return cast(_T, result)
