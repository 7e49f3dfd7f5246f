"""Typed tokens that stay stable within one interaction: the same card is ``[CARD_1]`` every
time it comes back, a second card ``[CARD_2]``.

The state remembers a value only as a 16-bit keyed digest (BLAKE2b keyed with the
interaction's salt): enough to recognise a value again among the handful one interaction
holds, and far too short to recover it (any digest matches thousands of card numbers of one
issuer, hundreds of phone numbers of one area). Two different values whose digests collide
share a token, which costs an agent a moment's confusion, never a leak.
"""

from __future__ import annotations

import hashlib
import re

from models.redaction import PiiKind, RedactionState

MAX_REMEMBERED = 512
"""Digests kept per interaction; past this, new values still get new tokens."""
_SPOKEN_RE = re.compile(
    r"\s*(?:\(\s*at\s*\)|\[\s*at\s*\]|\bat\b|\barroba\b|\barobase\b|\bchiocciola\b)\s*"
    r"|\s*(?:\(\s*dot\s*\)|\[\s*dot\s*\]|\bdot\b|\bpoint\b|\bpunto\b)\s*",
    re.IGNORECASE,
)
_DOT_WORD_RE = re.compile(r"dot|point|punto", re.IGNORECASE)
_DIGIT_KINDS = frozenset({PiiKind.CARD, PiiKind.PHONE, PiiKind.SSN, PiiKind.SIN, PiiKind.DOB})


def canonical(kind: PiiKind, value: str) -> str:
    """The form two spellings of one value share ("4111 1111 ..." and "4111-1111-...")."""
    if kind in _DIGIT_KINDS:
        return "".join(ch for ch in value if ch.isdigit())
    if kind is PiiKind.EMAIL:
        spoken = _SPOKEN_RE.sub(_spoken_symbol, value)
        return "".join(spoken.split()).lower()
    if kind in (PiiKind.NAME, PiiKind.ADDRESS):
        return " ".join(value.lower().split())
    return "".join(ch for ch in value if ch.isalnum()).upper()


def _spoken_symbol(match: re.Match[str]) -> str:
    return "." if _DOT_WORD_RE.search(match.group()) else "@"


class TokenBook:
    """Hands out tokens while one message is redacted; ``state()`` is the state after it."""

    def __init__(self, state: RedactionState, numbered: bool = True) -> None:
        self._base = state
        self._counts = dict(state.counts)
        self._tokens = dict(state.tokens)
        self._numbered = numbered
        self._key = state.salt.encode("utf-8")[:64]

    def _digest(self, kind: PiiKind, value: str) -> str:
        data = f"{kind.label}\0{canonical(kind, value)}".encode()
        return f"{kind.label}:" + hashlib.blake2b(data, key=self._key, digest_size=2).hexdigest()

    def fresh(self, kind: PiiKind) -> str:
        """A new token of ``kind`` (a split identifier, a masked fragment)."""
        label = kind.label
        if not self._numbered:
            return f"[{label}]"
        self._counts[label] = self._counts.get(label, 0) + 1
        return f"[{label}_{self._counts[label]}]"

    def token(self, kind: PiiKind, value: str) -> str:
        """The token of ``value``: the one it had before in this interaction, or a new one."""
        if not self._numbered:
            return f"[{kind.label}]"
        digest = self._digest(kind, value)
        known = self._tokens.get(digest)
        if known is not None:
            return known
        token = self.fresh(kind)
        if len(self._tokens) < MAX_REMEMBERED:
            self._tokens[digest] = token
        return token

    def state(self, **changes: object) -> RedactionState:
        return self._base.model_copy(
            update={"counts": self._counts, "tokens": self._tokens, **changes}
        )
