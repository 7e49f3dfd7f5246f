"""Contracts of PII redaction: what was found, the per-interaction state, what to revise.

Redaction runs on every customer turn before the text goes anywhere durable. Within one
interaction the same card number keeps the same token (``[CARD_1]``), so an agent can still
follow "that card" across turns; the mapping is kept as short keyed digests in
``RedactionState``, never as the values. A number split over two messages is completed when
the second arrives: the state keeps only check residues of the first part (no digits), and the
result names the span of the earlier kept text to replace (a ``Revision``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class PiiKind(StrEnum):
    """What a redacted span was. Several national ids share the ``NATIONAL_ID`` token."""

    CARD = "card"
    EMAIL = "email"
    PHONE = "phone"
    SSN = "ssn"
    SIN = "sin"
    NINO = "nino"
    DNI = "dni"
    CODICE_FISCALE = "codice_fiscale"
    IBAN = "iban"
    DOB = "dob"
    NAME = "name"
    ADDRESS = "address"
    NUMBER = "number"
    """A message's trailing number that may be the first part of an identifier split over two
    messages: masked until the next message shows what it was."""

    @property
    def label(self) -> str:
        """The token label an agent sees: ``[CARD]``, ``[NATIONAL_ID_2]``, ..."""
        return _LABELS.get(self, self.value.upper())


_LABELS = {
    PiiKind.SIN: "NATIONAL_ID",
    PiiKind.NINO: "NATIONAL_ID",
    PiiKind.DNI: "NATIONAL_ID",
    PiiKind.CODICE_FISCALE: "NATIONAL_ID",
}
STRUCTURED_KINDS = frozenset(PiiKind) - {PiiKind.NAME, PiiKind.ADDRESS, PiiKind.NUMBER}
"""Kinds found by patterns and checksums; names and addresses come from a local model."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entity(_Model):
    """One redacted span: offsets in the text as given, the token that replaced it."""

    kind: PiiKind
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    token: str = Field(description="What replaced the span, e.g. [CARD_1].")
    source: str = Field(default="pattern", description="pattern | model | metadata_key | split")


class ModelSpan(_Model):
    """A name or address a model found; the core merges it with its own spans."""

    kind: PiiKind
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(default=1.0, ge=0.0, le=1.0)


class FragmentPart(_Model):
    """Where one part of a pending number sits in an earlier message's kept text."""

    message: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class PendingFragment(_Model):
    """Trailing number(s) of the last message(s), kept as check residues only (never digits).

    Enough to tell whether they and the start of the next message form a card (Luhn), an IBAN
    (mod 97) or a phone number, and where the parts sit in the kept texts to revise them.
    """

    parts: list[FragmentPart] = Field(min_length=1)
    digits: int = Field(ge=0, description="Digits so far; 0 when the fragment has letters.")
    luhn_even: int = Field(default=0, ge=0, le=9, description="Luhn sum, even count after.")
    luhn_odd: int = Field(default=0, ge=0, le=9, description="Luhn sum, odd count after.")
    iban_head: int | None = Field(
        default=None, description="Country code and check digits mod 97, when it starts an IBAN."
    )
    iban_body: int = Field(default=0, ge=0, description="The IBAN's account part so far mod 97.")
    iban_chars: int = Field(default=0, ge=0, description="IBAN characters so far.")
    iban_length: int | None = Field(default=None, description="The country's IBAN length.")
    phone_hint: bool = Field(default=False, description="Began with + or followed a phone word.")


class RedactionState(_Model):
    """Everything redaction remembers about one interaction; safe to store (no PII in it)."""

    salt: str = Field(
        default="", max_length=128, description="Per-interaction salt of the value digests."
    )
    messages: int = Field(default=0, ge=0, description="Messages redacted so far.")
    counts: dict[str, int] = Field(
        default_factory=dict, description="Last token number used per label."
    )
    tokens: dict[str, str] = Field(
        default_factory=dict,
        description="16-bit keyed digest of a value -> its token. Short on purpose: enough to "
        "keep tokens stable within one interaction, far too short to recover a value.",
    )
    pending: PendingFragment | None = None


class Revision(_Model):
    """Replace ``[start, end)`` of an earlier message's kept text by ``replacement``."""

    message: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    replacement: str


class RedactedText(_Model):
    """What the redaction of one message returns; ``text`` is what may be kept."""

    message: int = Field(ge=0, description="Index of this message in the interaction.")
    text: str
    entities: list[Entity] = Field(default_factory=list)
    revisions: list[Revision] = Field(
        default_factory=list, description="Earlier kept text to rewrite (a split identifier)."
    )
    state: RedactionState
