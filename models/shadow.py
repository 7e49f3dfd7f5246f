"""Contracts of shadow evaluation: each shadow answer beside what production answered, the gate a
shadow version must pass, and the report (``warmline fleet shadow-report``).

A shadow version receives copies of live turns and its answers are stored, never delivered
(``ShadowAnswer``). ``warmline.shadow_judge`` compares them with production's: semantic
agreement (the local sentence encoder), commitments outside policy, escalation disagreement,
errors, cost and latency; the verdict is passed, failed or inconclusive (too few answers), and
inconclusive never lets a canary start.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShadowPair(_Doc):
    """One shadow answer beside the live one for the same turn (texts already redacted)."""

    interaction_id: str
    turn: int
    intent: str | None = Field(default=None, description="From the facts; None: still open.")
    live_model_version: str
    live_text: str
    shadow_text: str | None = None
    shadow_action: str | None = None
    live_escalated: bool = Field(
        default=False, description="Production's AI asked for a human on this turn (facts)."
    )
    error: str | None = None
    agreement: float | None = Field(
        default=None, description="Cosine similarity of the two answers' sentence embeddings."
    )
    shadow_latency_ms: float = 0.0
    shadow_cost_usd: float = 0.0
    live_latency_ms: float | None = Field(default=None, description="Mean per AI turn (facts).")
    live_cost_usd: float | None = Field(default=None, description="Mean per AI turn (facts).")


class ShadowGate(_Doc):
    """What a shadow version must show before it may take live traffic."""

    min_answers: int = Field(default=20, ge=1, description="Fewer: inconclusive.")
    min_mean_agreement: float = Field(
        default=0.55,
        ge=-1.0,
        le=1.0,
        description="MiniLM cosine: paraphrases of one answer score about 0.6-0.9, answers "
        "about something else about 0.0-0.4.",
    )
    low_agreement_below: float = Field(default=0.4, ge=-1.0, le=1.0)
    max_low_agreement_share: float = Field(default=0.2, ge=0.0, le=1.0)
    max_policy_violations: int = Field(
        default=0, ge=0, description="Shadow commitments outside policy production did not make."
    )
    max_escalation_disagreement: float = Field(
        default=0.15, ge=0.0, le=1.0, description="Share of answers whose escalation differs."
    )
    max_error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    max_latency_ratio: float = Field(
        default=1.5, gt=0.0, description="Shadow mean latency over production's, at most."
    )
    max_cost_ratio: float = Field(
        default=1.5, gt=0.0, description="Shadow cost per answer over production's, at most."
    )


class ShadowVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


class ShadowFinding(_Doc):
    """A shadow answer that broke a rule production kept (redacted detail, no customer text)."""

    interaction_id: str
    turn: int
    kind: str
    detail: str


class ShadowReport(_Doc):
    endpoint: str = Field(description="name:version of the shadow version judged.")
    live_versions: list[str] = Field(default_factory=list)
    answers: int
    errors: int
    compared: int = Field(description="Answers with text on both sides.")
    mean_agreement: float | None = None
    p10_agreement: float | None = None
    low_agreement: int = 0
    shadow_escalated_live_replied: int = 0
    live_escalated_shadow_replied: int = 0
    policy_violations: int = 0
    findings: list[ShadowFinding] = Field(default_factory=list, description="At most 20.")
    shadow_latency_ms_mean: float | None = None
    shadow_latency_ms_p95: float | None = None
    live_latency_ms_mean: float | None = None
    shadow_cost_per_answer: float | None = None
    live_cost_per_answer: float | None = None
    gate: ShadowGate
    verdict: ShadowVerdict
    reasons: list[str] = Field(default_factory=list)


class ShadowReportRequest(_Doc):
    """Judge one shadow version on its answers since ``since`` (ISO time; None: all kept)."""

    endpoint: str = Field(min_length=3, pattern=r"^[^:]+:.+$", description="name:version")
    since: str | None = None
    gate: ShadowGate = Field(default_factory=ShadowGate)
    limit: int = Field(default=2000, ge=1, le=20000, description="Most recent answers judged.")
