"""Contracts of the regulatory policy: obligations by region and channel, the per-interaction
compliance state, and the events and commands of the compliance machine.

The ``RegulatoryPolicy`` is versioned data beside the routing config. Rules are layered from
general to specific: ``*``, then a region (``us``), then a sub-region (``us-ca``), each
optionally per channel; a field left ``None`` inherits from the layer below. So "TCPA consent
everywhere in the US" is one rule and "California also needs a recording notice" another.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ANY = "*"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegionRule(_Doc):
    """Obligations for a region (``*``, ``eu``, ``us``, ``us-ca``) and channel; ``None``
    inherits from the more general rules."""

    region: str = Field(default=ANY, min_length=1, max_length=16)
    channel: str = Field(default=ANY, min_length=1, max_length=16)
    ai_disclosure: bool | None = Field(default=None, description="Tell the customer it's an AI.")
    automated_decision_notice: bool | None = Field(
        default=None, description="Say decisions are automated and a human can be asked for."
    )
    right_to_human: bool | None = Field(
        default=None, description="A request for a human is honoured at once."
    )
    consent_before_callback: bool | None = Field(
        default=None, description="No callback is booked without recorded consent."
    )
    consent_before_outbound: bool | None = Field(
        default=None, description="No outbound contact without recorded consent."
    )
    recording_notice: bool | None = Field(
        default=None, description="Voice: announce recording (all-party-consent jurisdictions)."
    )
    basis: list[str] = Field(default_factory=list, description="Legal references, for audit.")

    def specificity(self) -> tuple[int, int]:
        depth = 0 if self.region == ANY else self.region.count("-") + 1
        return depth, int(self.channel != ANY)


class NoticeTexts(_Doc):
    ai_disclosure: str = "You're chatting with an automated assistant (AI)."
    automated_decision: str = (
        "Some answers here are decided automatically. You can ask for a person at any time "
        "by saying 'human'."
    )
    recording: str = "This call is recorded for quality and training purposes."
    callback_consent: str = (
        "May we call you back on the number you gave us? Please answer yes or no."
    )
    outbound_consent: str = "May we contact you about this request later? Please answer yes or no."


class RegulatoryPolicy(_Doc):
    """The regulatory document, versioned with the routing config it is part of."""

    version: int = Field(default=0, description="Assigned by the store when saved.")
    author: str = "system"
    created_at: str | None = None
    rules: list[RegionRule] = Field(default_factory=list)
    texts: NoticeTexts = Field(default_factory=NoticeTexts)
    max_consent_asks: int = Field(
        default=2,
        ge=1,
        le=5,
        description="How often a consent question is asked before an unclear answer counts as "
        "no consent (nothing is booked, nothing recorded as a no).",
    )


class Obligations(_Doc):
    """What applies to one interaction, resolved from the rules (all fields decided)."""

    region: str
    channel: str
    ai_disclosure: bool = False
    automated_decision_notice: bool = False
    right_to_human: bool = False
    consent_before_callback: bool = False
    consent_before_outbound: bool = False
    recording_notice: bool = False
    basis: list[str] = Field(default_factory=list)
    policy_version: int = 0


class ConsentKind(StrEnum):
    CALLBACK = "callback"
    OUTBOUND = "outbound"


class ConsentRecord(_Doc):
    kind: ConsentKind
    granted: bool
    at: str = Field(description="ISO-8601 workflow time the answer was given.")
    asked_text: str = Field(description="The question the customer answered.")
    answer: str = Field(default="", max_length=200, description="The (redacted) answer.")
    message_id: str | None = Field(default=None, description="The customer turn that answered.")


class NoticeKind(StrEnum):
    AI_DISCLOSURE = "ai_disclosure"
    AUTOMATED_DECISION = "automated_decision"
    RECORDING = "recording"


class ComplianceState(_Doc):
    """Per interaction: which notices were given, which consents recorded."""

    obligations: Obligations
    notices: list[NoticeKind] = Field(default_factory=list)
    consents: list[ConsentRecord] = Field(default_factory=list)
    pending_consent: ConsentKind | None = None
    consent_asks: int = Field(default=0, description="Times the pending question was asked.")
    handed_to_human: bool = False
    ai_contacted: bool = Field(default=False, description="The first AI contact happened.")
    texts: NoticeTexts = Field(
        default_factory=NoticeTexts, description="The policy's wording, carried with the state."
    )
    max_consent_asks: int = 2

    def consent(self, kind: ConsentKind) -> ConsentRecord | None:
        """The latest answer of ``kind`` (a customer may change their mind)."""
        found = [c for c in self.consents if c.kind is kind]
        return found[-1] if found else None


# -- events ----------------------------------------------------------------------------------


class AIContactStarted(_Doc):
    kind: Literal["ai_contact_started"] = "ai_contact_started"


class HumanRequested(_Doc):
    kind: Literal["human_requested"] = "human_requested"
    detail: str = "customer asked for a human"
    at: str | None = Field(
        default=None, description="When; a consent question pending then is answered no."
    )


class ContactProposed(_Doc):
    """The interaction wants to book a callback or an outbound contact."""

    kind: Literal["contact_proposed"] = "contact_proposed"
    contact: ConsentKind
    ask: bool = Field(
        default=True,
        description="False when there is no time left to ask (a deadline books or not): no "
        "consent on record then means no contact.",
    )
    by_customer: bool = Field(
        default=False,
        description="The customer asked for it: an earlier no is asked again, not held against "
        "them.",
    )


class ConsentAnswered(_Doc):
    kind: Literal["consent_answered"] = "consent_answered"
    text: str = Field(max_length=2_000, description="The customer's (redacted) answer.")
    at: str
    message_id: str | None = None


ComplianceEvent = Annotated[
    AIContactStarted | HumanRequested | ContactProposed | ConsentAnswered,
    Field(discriminator="kind"),
]


# -- commands --------------------------------------------------------------------------------


class SendNotice(_Doc):
    kind: Literal["send_notice"] = "send_notice"
    notice: NoticeKind
    text: str


class AskConsent(_Doc):
    kind: Literal["ask_consent"] = "ask_consent"
    contact: ConsentKind
    text: str


class BookContact(_Doc):
    kind: Literal["book_contact"] = "book_contact"
    contact: ConsentKind


class DeclineContact(_Doc):
    kind: Literal["decline_contact"] = "decline_contact"
    contact: ConsentKind
    reason: str


class HandToHuman(_Doc):
    kind: Literal["hand_to_human"] = "hand_to_human"
    reason: str


class AuditCompliance(_Doc):
    """Every decision of the machine, for the audit trail."""

    kind: Literal["audit_compliance"] = "audit_compliance"
    event: str
    reasons: list[str]
    policy_version: int


ComplianceCommand = Annotated[
    SendNotice | AskConsent | BookContact | DeclineContact | HandToHuman | AuditCompliance,
    Field(discriminator="kind"),
]
