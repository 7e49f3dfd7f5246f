"""Detectors of number-shaped identifiers: cards, IBANs, phones, SSNs, SINs, DNIs, NI numbers.

Each detector takes the (normalised) text and returns spans; nothing is replaced here. The
patterns accept the spacing people really use (double spaces, dots, dashes) and lean on check
digits (see :mod:`.checksums`) to keep ordinary numbers out. Context words decide where
digits alone cannot: nine bare digits are an SSN only after "SSN" or "social security", ten
bare digits a phone unless an order or ticket word stands before them.

Every repetition in these patterns consumes a digit, so matching stays linear in the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from models.redaction import PiiKind
from warmline.pii.checksums import (
    IBAN_LENGTHS,
    bare_phone_valid,
    card_valid,
    codice_fiscale_valid,
    digits_of,
    dni_valid,
    iban_valid,
    sin_valid,
    ssn_valid,
)

Found = tuple[PiiKind, int, int]
Detector = Callable[[str], Iterator[Found]]

# A digit cluster with separators of up to three characters; its groups are tried as cards.
_CARD_RE = re.compile(r"(?<![\w+.,-])\d(?:[ .-]{0,3}\d){12,}(?![\w-]|[.,]\d)")
_GROUP_RE = re.compile(r"\d+")
_MAX_CARD_GROUPS = 24

# Country code, check digits, then 11-30 characters with separators between any of them.
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ .-]{0,2}[A-Za-z0-9]){11,30}(?![A-Za-z0-9])"
)
_IBAN_END_RE = re.compile(r"[A-Za-z0-9](?=[ .-]|$)")

_SSN_RE = re.compile(r"(?<![\w-])\d{3}([- .])\d{2}\1\d{4}(?![\w-])")
_BARE_9_RE = re.compile(r"(?<![\w+.,/-])\d{9}(?![\w-]|[.,]\d)")
_SIN_GROUPED_RE = re.compile(r"(?<![\w+.,/-])\d{3}([ -])\d{3}\1\d{3}(?![\w-]|[.,]\d)")
_COUNTRY_CODE_BEFORE_RE = re.compile(r"(?:\+|\b00)\d{1,3}[ .-]*$")
_SSN_WORDS_RE = re.compile(
    r"\b(?:ssn|ss#|social security|soc(?:ial)?\.? sec|tax ?id|itin|tin)\b", re.IGNORECASE
)
_SIN_WORDS_RE = re.compile(
    r"\b(?:sin|social insurance|insurance number|nas|assurance sociale)\b", re.IGNORECASE
)

_NINO_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_NINO_INVALID_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})

_DNI_RE = re.compile(
    r"(?<![\w.-])((?:\d{2}\.?\d{3}\.?\d{3})|(?:[XYZxyz][ -]?\d{7}))[ -]?([A-Za-z])(?![\w-])"
)

_OMOCODE_DIGIT = "[0-9LMNPQRSTUVlmnpqrstuv]"
_CODICE_FISCALE_RE = re.compile(
    rf"(?<![A-Za-z0-9])[A-Za-z]{{6}}{_OMOCODE_DIGIT}{{2}}[A-Za-z]{_OMOCODE_DIGIT}{{2}}[A-Za-z]"
    rf"{_OMOCODE_DIGIT}{{3}}[A-Za-z](?![A-Za-z0-9])"
)

_PHONE_INTL_RE = re.compile(
    r"(?<![\w+])(?:\+|(?<!\d)00(?=[1-9]))\d(?:[ .()/-]{0,3}\d){7,14}(?![\w-]|[.,]\d)"
)
_PHONE_NANP_RE = re.compile(
    r"(?<![\w+.-])(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]|[.,]\d)"
)
# UK and French national numbers: 0, then groups (06 12 34 56 78, 020 7946 0958, 07911123456).
_PHONE_NATIONAL_RE = re.compile(r"(?<![\w+.-])0\d(?:[ .-]?\d){8,9}(?![\w-]|[.,]\d)")
# Indian mobiles as written at home: 98765 43210, 0 98765 43210.
_PHONE_INDIA_RE = re.compile(r"(?<![\w+.-])(?:0[ -]?)?[6-9]\d{4}[ -]\d{5}(?![\w-]|[.,]\d)")
_BARE_10_RE = re.compile(r"(?<![\w+.,/-])\d{10}(?![\w-]|[.,]\d)")
ID_WORDS = (
    r"\b(?:order|ticket|tracking|case|ref|reference|invoice|confirmation|booking|receipt"
    r"|transaction|parcel|package|shipment|claim|policy|serial|model|sku|item|pnr)\b"
)
"""Words after which a digit run is an id the agent needs, not a phone number or a card."""
_ID_WORDS_RE = re.compile(ID_WORDS + r"[^\d\n]{0,20}$", re.IGNORECASE)
_PHONE_WORDS_RE = re.compile(
    r"(\b(?:phone|mobile|cell|tel|telephone|landline|call me|text me|whatsapp|reach me"
    r"|portable|telefono|móvil|movil|cellulare|handy|numéro|numero)\b[^\d\n]{0,30}?)"
    r"\d(?:[ .-]{0,3}\d){6,14}(?![\w-]|[.,]\d)",
    re.IGNORECASE,
)
_CONTEXT_CHARS = 40


def _before(text: str, start: int, chars: int = _CONTEXT_CHARS) -> str:
    return text[max(0, start - chars) : start]


def cards(text: str) -> Iterator[Found]:
    """Luhn-valid 13-19 digit numbers in any grouping; a cluster with extra groups around the
    card (a CVV after it, a short number before it) is searched for its longest valid run."""
    for match in _CARD_RE.finditer(text):
        groups = [(g.start(), g.end()) for g in _GROUP_RE.finditer(match.group())]
        if len(groups) > _MAX_CARD_GROUPS:
            groups = groups[:_MAX_CARD_GROUPS]
        found = _longest_valid(match.group(), groups, card_valid)
        if found is not None:
            yield PiiKind.CARD, match.start() + found[0], match.start() + found[1]


def _longest_valid(
    text: str, groups: list[tuple[int, int]], valid: Callable[[str], bool]
) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for first in range(len(groups)):
        for last in range(len(groups) - 1, first - 1, -1):
            start, end = groups[first][0], groups[last][1]
            if best is not None and end - start <= best[1] - best[0]:
                break
            if valid(digits_of(text[start:end])):
                best = (start, end)
                break
    return best


def ibans(text: str) -> Iterator[Found]:
    """IBANs with any separators; the end is where the country's length (or the checksum at a
    group boundary) says, so words after the IBAN are kept."""
    for match in _IBAN_RE.finditer(text):
        candidate = match.group()
        expected = IBAN_LENGTHS.get(candidate[:2].upper())
        ends = [m.end() for m in _IBAN_END_RE.finditer(candidate)]
        for end in reversed(ends):
            compact_length = sum(ch.isalnum() for ch in candidate[:end])
            if expected is not None and compact_length != expected:
                continue
            if iban_valid(candidate[:end]):
                yield PiiKind.IBAN, match.start(), match.start() + end
                break


def ssns(text: str) -> Iterator[Found]:
    for match in _SSN_RE.finditer(text):
        if ssn_valid(digits_of(match.group())):
            yield PiiKind.SSN, match.start(), match.end()


def bare_nine(text: str) -> Iterator[Found]:
    """Nine bare digits after an SSN or SIN word; grouped 3-3-3 Luhn-valid SINs anywhere."""
    for match in _BARE_9_RE.finditer(text):
        context = _before(text, match.start())
        digits = match.group()
        if _SIN_WORDS_RE.search(context) and sin_valid(digits):
            yield PiiKind.SIN, match.start(), match.end()
        elif _SSN_WORDS_RE.search(context) and ssn_valid(digits):
            yield PiiKind.SSN, match.start(), match.end()
    for match in _SIN_GROUPED_RE.finditer(text):
        if _COUNTRY_CODE_BEFORE_RE.search(text[max(0, match.start() - 6) : match.start()]):
            continue  # "+34 662 925 627" is a phone number
        if sin_valid(digits_of(match.group())):
            yield PiiKind.SIN, match.start(), match.end()


def ninos(text: str) -> Iterator[Found]:
    for match in _NINO_RE.finditer(text):
        if match.group(1).upper() not in _NINO_INVALID_PREFIXES:
            yield PiiKind.NINO, match.start(), match.end()


def dnis(text: str) -> Iterator[Found]:
    for match in _DNI_RE.finditer(text):
        number = match.group(1).replace(".", "").replace(" ", "").replace("-", "")
        if dni_valid(number, match.group(2)):
            yield PiiKind.DNI, match.start(), match.end()


def codici_fiscali(text: str) -> Iterator[Found]:
    for match in _CODICE_FISCALE_RE.finditer(text):
        if codice_fiscale_valid(match.group()):
            yield PiiKind.CODICE_FISCALE, match.start(), match.end()


def _bare_is_id(text: str, start: int) -> bool:
    return _ID_WORDS_RE.search(_before(text, start, 30)) is not None


def phones(text: str) -> Iterator[Found]:
    """International (+ or 00), North American, UK/French national and Indian forms; ten bare
    digits when they read as a phone number and no id word stands before them."""
    for pattern in (_PHONE_INTL_RE, _PHONE_NANP_RE, _PHONE_NATIONAL_RE, _PHONE_INDIA_RE):
        for match in pattern.finditer(text):
            number = match.group()
            if not 8 <= len(digits_of(number)) <= 15:
                continue
            if number.isdigit() and _bare_is_id(text, match.start()):
                continue  # "order 0123456789": an id the agent needs
            yield PiiKind.PHONE, match.start(), match.end()
    for match in _BARE_10_RE.finditer(text):
        if bare_phone_valid(match.group()) and not _bare_is_id(text, match.start()):
            yield PiiKind.PHONE, match.start(), match.end()
    for match in _PHONE_WORDS_RE.finditer(text):
        yield PiiKind.PHONE, match.end(1), match.end()


NUMBER_DETECTORS: tuple[Detector, ...] = (
    ibans,
    codici_fiscali,
    ssns,
    bare_nine,
    ninos,
    dnis,
    cards,
    phones,
)
"""In priority order: where spans overlap, the earlier detector's span wins."""
