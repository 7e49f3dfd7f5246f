"""Identifiers split over messages: "my card is 4111 1111" then "1111 1111 1111".

The trailing number of a message becomes a :class:`PendingFragment` that keeps check residues
(Luhn sums for both parities, IBAN mod-97 remainders, digit counts), never digits. When the
next message starts with a number, the residues tell whether the two form a card, an IBAN or
a phone number; if so, the new part is redacted and every earlier part is revised. A number
that completes nothing but is itself the whole message extends the fragment, so a card typed
four digits per message is still caught at the fourth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.redaction import FragmentPart, PendingFragment, PiiKind
from warmline.pii.checksums import (
    IBAN_LENGTHS,
    digits_of,
    iban_joined,
    luhn_joined,
    luhn_sums,
    mod97,
)
from warmline.pii.numbers import ID_WORDS
from warmline.pii.view import TextView

_REACH = 96  # characters looked at for a tail or a head: longer than any identifier
_TRAIL = r"[\s.,;:!?)\]]*"
_DIGIT_TAIL_RE = re.compile(rf"(?<![\w.,])(?P<frag>(?:\+|00)?\d(?:[ .-]{{0,3}}\d)*){_TRAIL}\Z")
_IBAN_TAIL_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?P<frag>[A-Za-z]{{2}}\d{{2}}(?:[ .-]{{0,2}}[A-Za-z0-9])*){_TRAIL}\Z"
)
_HEAD_RE = re.compile(r"\A[\s,.:;-]*(?P<frag>[A-Za-z0-9](?:[ .-]{0,3}[A-Za-z0-9])*)")
_GROUP_END_RE = re.compile(r"[A-Za-z0-9](?=[ .-]|$)")
_GROUP_SPLIT_RE = re.compile(r"[ .-]+")
_PHONE_WORD_RE = re.compile(
    r"\b(?:phone|mobile|cell|tel|telephone|number|call|text|whatsapp)\b", re.IGNORECASE
)
_SUSPECT_WORD_RE = re.compile(
    r"\b(?:card|credit|debit|visa|mastercard|amex|iban|account|acct|bank|sort code|routing"
    r"|ssn|social|sin|phone|mobile|cell|number)\b",
    re.IGNORECASE,
)
_ID_WORD_RE = re.compile(ID_WORDS, re.IGNORECASE)
MIN_DIGITS = 4
MAX_CARD_DIGITS = 19
MAX_IBAN_CHARS = 34


@dataclass(frozen=True)
class Fragment:
    """A number at the end (or start) of a message, in original offsets."""

    start: int
    end: int
    compact: str  # letters and digits, upper case
    groups: int
    phone_prefix: bool

    @property
    def digits(self) -> str:
        return digits_of(self.compact)

    @property
    def numeric(self) -> bool:
        return self.compact.isdigit()


def _fragment(view: TextView, offset: int, match: re.Match[str]) -> Fragment:
    raw = match.group("frag")
    start, end = view.span(offset + match.start("frag"), offset + match.end("frag"))
    compact = "".join(ch for ch in raw if ch.isalnum()).upper()
    groups = len([g for g in _GROUP_SPLIT_RE.split(raw.strip("+")) if g])
    return Fragment(start, end, compact, groups, raw.startswith(("+", "00")))


def tail(view: TextView) -> Fragment | None:
    """The number that ends the message, if any (an IBAN start or a digit run)."""
    offset = max(0, len(view.text) - _REACH)
    window = view.text[offset:]
    for pattern in (_IBAN_TAIL_RE, _DIGIT_TAIL_RE):
        match = pattern.search(window)
        if match is not None:
            found = _fragment(view, offset, match)
            if pattern is _IBAN_TAIL_RE or len(found.digits) >= MIN_DIGITS or found.phone_prefix:
                return found
    return None


def heads(view: TextView, letters: bool = False) -> list[Fragment]:
    """Numbers that may start the message, longest first: every run of groups from the start
    (digits, or with ``letters`` letters and digits continuing an IBAN), since words may
    follow them."""
    match = _HEAD_RE.search(view.text[:_REACH])
    if match is None or not (letters or match.group("frag")[0].isdigit()):
        return []
    frag = match.group("frag")
    found: list[Fragment] = []
    for end in reversed([m.end() for m in _GROUP_END_RE.finditer(frag)]):
        start = match.start("frag")
        low, high = view.span(start, start + end)
        raw = frag[:end]
        compact = "".join(ch for ch in raw if ch.isalnum()).upper()
        groups = len([g for g in _GROUP_SPLIT_RE.split(raw) if g])
        found.append(Fragment(low, high, compact, groups, phone_prefix=False))
    return found


def should_mask(fragment: Fragment, text: str) -> bool:
    """Whether a trailing fragment is masked until the next message shows what it was.

    Nothing that may be most of a card is kept in clear: long runs, grouped digits, a
    fragment sent on its own or after a card/account/phone word are masked. An id word
    before it ("order 1234 5678") keeps it readable: the agent needs order numbers.
    """
    before = text[max(0, fragment.start - 40) : fragment.start]
    if _ID_WORD_RE.search(before):
        return False
    alone = not text[: fragment.start].strip()
    return (
        not fragment.numeric
        or len(fragment.digits) >= 7
        or fragment.groups >= 2
        or alone
        or _SUSPECT_WORD_RE.search(before) is not None
    )


def start_pending(fragment: Fragment, part: FragmentPart, text: str) -> PendingFragment:
    before = text[max(0, fragment.start - 40) : fragment.start]
    hint = fragment.phone_prefix or _PHONE_WORD_RE.search(before) is not None
    if not fragment.numeric:
        compact = fragment.compact
        return PendingFragment(
            parts=[part],
            digits=0,
            iban_head=mod97(compact[:4]),
            iban_body=mod97(compact[4:]),
            iban_chars=len(compact),
            iban_length=IBAN_LENGTHS.get(compact[:2]),
        )
    even, odd = luhn_sums(fragment.digits)
    return PendingFragment(
        parts=[part], digits=len(fragment.digits), luhn_even=even, luhn_odd=odd, phone_hint=hint
    )


def completes(pending: PendingFragment, fragment: Fragment) -> PiiKind | None:
    """What the pending parts and ``fragment`` form together, if anything."""
    if pending.iban_head is not None:
        total = pending.iban_chars + len(fragment.compact)
        if pending.iban_length is not None and total != pending.iban_length:
            return None
        if 15 <= total <= MAX_IBAN_CHARS and iban_joined(
            pending.iban_head, pending.iban_body, fragment.compact
        ):
            return PiiKind.IBAN
        return None
    if not fragment.numeric or pending.digits == 0:
        return None
    digits = fragment.digits
    total = pending.digits + len(digits)
    if 13 <= total <= MAX_CARD_DIGITS and luhn_joined(pending.luhn_even, pending.luhn_odd, digits):
        return PiiKind.CARD
    if pending.phone_hint and 10 <= total <= 15:
        return PiiKind.PHONE
    return None


def extend(
    pending: PendingFragment, fragment: Fragment, part: FragmentPart
) -> PendingFragment | None:
    """The pending parts with ``fragment`` appended (a message that was only a number)."""
    parts = [*pending.parts, part]
    if pending.iban_head is not None:
        chars = pending.iban_chars + len(fragment.compact)
        if chars > MAX_IBAN_CHARS:
            return None
        return pending.model_copy(
            update={
                "parts": parts,
                "iban_body": mod97(fragment.compact, pending.iban_body),
                "iban_chars": chars,
            }
        )
    if not fragment.numeric:
        return None
    digits = fragment.digits
    total = pending.digits + len(digits)
    if total > MAX_CARD_DIGITS:
        return None
    tail_even, tail_odd = luhn_sums(digits)
    # The earlier parts are now followed by len(digits) more digits, plus whatever comes next.
    shift_even = pending.luhn_even if len(digits) % 2 == 0 else pending.luhn_odd
    shift_odd = pending.luhn_odd if len(digits) % 2 == 0 else pending.luhn_even
    return pending.model_copy(
        update={
            "parts": parts,
            "digits": total,
            "luhn_even": (shift_even + tail_even) % 10,
            "luhn_odd": (shift_odd + tail_odd) % 10,
        }
    )
