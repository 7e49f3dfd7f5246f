"""Contracts of abuse limits: rate limits per customer, tenant (CCaaS source) and entry point,
at interaction start and per turn, and scripted-repeat detection.

Counters are fleet-wide (one table in the store, incremented atomically), so ten workers
enforce one limit, not ten. Each limit has a defined answer: ``throttled`` (try again after
``retry_after_seconds``), ``queued`` (accepted for later, never into a human queue now), or
``refused`` (with a reason the CCaaS can show).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitScope(StrEnum):
    CUSTOMER = "customer"
    TENANT = "tenant"
    ENTRY_POINT = "entry_point"


class LimitStage(StrEnum):
    START = "start"
    TURN = "turn"


class LimitAnswer(StrEnum):
    """Mildest first; the strictest answer of all limits hit is the decision's."""

    ALLOWED = "allowed"
    QUEUED = "queued"
    THROTTLED = "throttled"
    REFUSED = "refused"

    @property
    def strictness(self) -> int:
        return list(LimitAnswer).index(self)


class LimitRule(_Doc):
    scope: LimitScope
    stage: LimitStage
    limit: int = Field(ge=1, description="Events allowed per window.")
    window_seconds: float = Field(gt=0, le=86_400)
    answer: LimitAnswer = LimitAnswer.THROTTLED


class RepeatRule(_Doc):
    """The same message (digits masked, case and spacing folded) from one tenant."""

    max_repeats: int = Field(default=5, ge=2, description="Copies allowed per window.")
    window_seconds: float = Field(default=300.0, gt=0, le=86_400)
    min_chars: int = Field(default=12, ge=1, description="Shorter messages ('yes') never count.")
    answer: LimitAnswer = LimitAnswer.REFUSED


class AbusePolicy(_Doc):
    """The versioned abuse-limit document."""

    version: int = Field(default=0, description="Assigned by the store when saved.")
    author: str = "system"
    created_at: str | None = None
    rules: list[LimitRule] = Field(
        default_factory=lambda: [
            LimitRule(
                scope=LimitScope.CUSTOMER, stage=LimitStage.START, limit=10, window_seconds=600
            ),
            LimitRule(
                scope=LimitScope.CUSTOMER, stage=LimitStage.TURN, limit=30, window_seconds=60
            ),
            LimitRule(
                scope=LimitScope.TENANT,
                stage=LimitStage.START,
                limit=600,
                window_seconds=60,
                answer=LimitAnswer.QUEUED,
            ),
            LimitRule(
                scope=LimitScope.ENTRY_POINT, stage=LimitStage.START, limit=300, window_seconds=60
            ),
        ]
    )
    repeats: RepeatRule | None = Field(default_factory=RepeatRule)
    refusal_reason: str = Field(
        default="Too many requests from this source; please try again later.", max_length=300
    )


class AdmissionRequest(_Doc):
    """One start or turn to admit: who, through which source and entry point, saying what."""

    stage: LimitStage
    customer_id: str = Field(min_length=1, max_length=128)
    tenant: str = Field(default="default", min_length=1, max_length=128)
    entry_point: str = Field(default="default", min_length=1, max_length=128)
    text: str = Field(default="", max_length=20_000, description="For repeat detection.")
    at: float = Field(description="Epoch seconds (the caller's clock).")


class CounterKey(_Doc):
    """One fleet-wide counter: a scope's key in one fixed window."""

    name: str = Field(description="e.g. customer:start:c-17 or repeat:tenant-a:3f2a...")
    window_start: float
    window_seconds: float


class CounterReading(_Doc):
    """The count of this window after the increment, and of the window before it."""

    key: CounterKey
    current: int = Field(ge=0)
    previous: int = Field(ge=0)


class LimitHit(_Doc):
    rule: str = Field(description="scope:stage, or 'repeat'")
    estimate: float = Field(description="Sliding-window estimate of events in the window.")
    limit: int
    answer: LimitAnswer
    retry_after_seconds: float


class AbuseDecision(_Doc):
    answer: LimitAnswer
    hits: list[LimitHit] = Field(default_factory=list)
    retry_after_seconds: float = 0.0
    reason: str | None = Field(default=None, description="For the CCaaS when not allowed.")
    policy_version: int
    reasons: list[str] = Field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.answer is LimitAnswer.ALLOWED
