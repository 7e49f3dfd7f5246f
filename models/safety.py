"""Contracts of customer-facing safety: injection scores, the per-intent/channel safety policy,
and the checks on AI replies.

The ``SafetyPolicy`` is a versioned document like the routing config: per intent x channel it
says what a detected injection attempt or a reply that breaks policy does (hold the reply for
a supervisor, hand the conversation to a human, refuse politely), and per intent which
commitments an AI may make (refunds up to an amount, account changes). Every decision names
the policy version and carries its reasons, so the same object goes to history and audit.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.redaction import ModelSpan
from models.text import not_blank

ANY = "*"
MAX_SCAN_CHARS = 20_000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InjectionScore(_Doc):
    """The detector's verdict on one customer message."""

    flagged: bool
    score: float = Field(ge=0.0, le=1.0, description="max(classifier, 1.0 if a rule matched)")
    model_score: float | None = Field(
        default=None, description="Calibrated P(injection); None when a rule decided alone."
    )
    rules: list[str] = Field(default_factory=list, description="Rules that matched.")
    threshold: float = Field(ge=0.0, le=1.0)
    detector_version: str


class SafetyAction(StrEnum):
    """What a detection does, mildest first."""

    ALLOW = "allow"
    """Log and audit only."""
    HOLD_FOR_REVIEW = "hold_for_review"
    """The AI's reply waits for a supervisor (the message is still answered, after review)."""
    REFUSE_POLITELY = "refuse_politely"
    """The customer gets the policy's refusal text; the AI never sees the message."""
    HAND_TO_HUMAN = "hand_to_human"
    """The conversation goes to a human agent now."""

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS = {
    SafetyAction.ALLOW: 0,
    SafetyAction.HOLD_FOR_REVIEW: 1,
    SafetyAction.REFUSE_POLITELY: 2,
    SafetyAction.HAND_TO_HUMAN: 3,
}


class CommitmentKind(StrEnum):
    REFUND = "refund"
    ACCOUNT_CHANGE = "account_change"


class SafetyRule(_Doc):
    """One cell of the intent x channel table; ``*`` matches anything, most specific wins."""

    intent: str = Field(default=ANY, min_length=1, max_length=64)
    channel: str = Field(default=ANY, min_length=1, max_length=16)
    on_injection: SafetyAction = SafetyAction.HOLD_FOR_REVIEW
    on_reply_violation: SafetyAction = SafetyAction.HOLD_FOR_REVIEW

    def specificity(self) -> tuple[int, bool]:
        return (sum(v != ANY for v in (self.intent, self.channel)), self.intent != ANY)


class CommitmentAllowance(_Doc):
    """What an AI may promise within one intent; anything else is a reply violation."""

    intent: str = Field(min_length=1, max_length=64)
    allowed: list[CommitmentKind] = Field(default_factory=list)
    max_amount: float | None = Field(
        default=None, ge=0, description="Largest amount an AI reply may name (face value)."
    )


class SafetyPolicy(_Doc):
    """The versioned safety document."""

    version: int = Field(default=0, description="Assigned by the store when saved.")
    author: str = "system"
    created_at: str | None = None
    injection_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Overrides the detector's own threshold."
    )
    default_on_injection: SafetyAction = SafetyAction.HOLD_FOR_REVIEW
    default_on_reply_violation: SafetyAction = SafetyAction.HOLD_FOR_REVIEW
    rules: list[SafetyRule] = Field(default_factory=list)
    allowances: list[CommitmentAllowance] = Field(
        default_factory=list, description="Per intent; an intent not listed may commit nothing."
    )
    refusal_text: str = Field(
        default="Sorry, I can't help with that request here. Is there anything else about "
        "your order or account I can help with?",
        min_length=1,
        max_length=500,
    )
    echo_min_words: int = Field(
        default=8, ge=4, le=50, description="A run this long from the prompt or tools is an echo."
    )

    @model_validator(mode="after")
    def _unique_allowances(self) -> SafetyPolicy:
        intents = [a.intent for a in self.allowances]
        if len(intents) != len(set(intents)):
            raise ValueError("allowances must name each intent once")
        return self

    def allowance(self, intent: str) -> CommitmentAllowance:
        for item in self.allowances:
            if item.intent == intent:
                return item
        return CommitmentAllowance(intent=intent)


class SafetyDecision(_Doc):
    """What the policy makes of an injection score."""

    action: SafetyAction
    intent: str
    channel: str
    score: float
    rules: list[str] = Field(default_factory=list)
    policy_version: int
    reasons: list[str]


class ReplyFindingKind(StrEnum):
    REFUND_COMMITMENT = "refund_commitment"
    AMOUNT_OVER_LIMIT = "amount_over_limit"
    ACCOUNT_CHANGE = "account_change"
    PROMPT_ECHO = "prompt_echo"
    TOOL_ECHO = "tool_echo"


class ReplyFinding(_Doc):
    kind: ReplyFindingKind
    detail: str = Field(description="Safe for audit: names the rule, quotes no customer data.")


class ReplyCheck(_Doc):
    """The output check of one AI reply against the intent's policy."""

    action: SafetyAction
    findings: list[ReplyFinding] = Field(default_factory=list)
    intent: str
    channel: str
    policy_version: int
    reasons: list[str] = Field(default_factory=list)
    refusal_text: str | None = Field(
        default=None, description="The policy's words for the customer when it refuses politely."
    )

    @property
    def passed(self) -> bool:
        return not self.findings


class ScanRequest(_Doc):
    """One customer turn to scan before anything keeps or answers it."""

    text: str = Field(min_length=1, max_length=MAX_SCAN_CHARS)

    _text_not_blank = field_validator("text")(not_blank)


class ScreenRequest(_Doc):
    """One customer message (redacted) to screen before an AI sees it, with where it is."""

    text: str = Field(min_length=1, max_length=MAX_SCAN_CHARS)
    intent: str = Field(min_length=1, max_length=64)
    channel: str = Field(min_length=1, max_length=16)


class TurnScreen(_Doc):
    """The injection score of one message and what the safety policy makes of it."""

    flagged: bool = Field(description="At or above the threshold, or a rule matched.")
    decision: SafetyDecision
    detector_version: str
    refusal_text: str = Field(description="The policy's words when it refuses politely.")


class TurnScan(_Doc):
    """What the local models found in one customer turn: names and addresses for the
    redaction (offsets in the text as sent) and the injection score for the safety policy."""

    spans: list[ModelSpan] = Field(default_factory=list)
    injection: InjectionScore
    tagger_version: str
