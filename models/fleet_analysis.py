"""Contracts of fleet analysis: per-version metrics, analysis templates, verdicts, A/B reports.

The analysis is data, not code paths (Argo's ``AnalysisTemplate``): which metric, how much
worse the canary may be, whether a breach is a guardrail, how many soft failures are tolerated.
Results are one of successful / failed / inconclusive, and every number that led to them is
kept so history, audit trail and the ``status`` query show the same evidence.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

LATENCY_BUCKET_EDGES_MS: tuple[float, ...] = (
    0.0,
    25.0,
    50.0,
    75.0,
    100.0,
    150.0,
    200.0,
    300.0,
    400.0,
    500.0,
    750.0,
    1000.0,
    1500.0,
    2000.0,
    3000.0,
    5000.0,
    7500.0,
    10000.0,
    20000.0,
)
"""Lower edges of the per-interaction AI latency histogram; the last bucket is open-ended.

A fixed histogram keeps an observation's size bounded however much traffic a version takes,
and still gives a p95 within one bucket."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleSummary(_Doc):
    """Count, mean and sample variance: all a Welch test needs, mergeable across versions."""

    n: int = Field(default=0, ge=0)
    mean: float = 0.0
    variance: float = Field(default=0.0, ge=0.0, description="Sample variance (n - 1).")


class VersionMetrics(_Doc):
    """What one AI version (or a merged baseline) did since a point in time, from the facts."""

    endpoint: str = Field(description="name:version, or several joined by '+' for a baseline.")
    interactions: int = Field(default=0, ge=0, description="Interactions routed to it.")
    contained: int = Field(default=0, ge=0, description="Of those, resolved without a human.")
    escalations: dict[str, int] = Field(
        default_factory=dict, description="Escalation trigger -> interactions."
    )
    handle_seconds: SampleSummary = Field(default_factory=SampleSummary)
    csat: SampleSummary = Field(default_factory=SampleSummary)
    cost_usd: SampleSummary = Field(default_factory=SampleSummary)
    ai_calls: int = Field(default=0, ge=0)
    ai_failures: int = Field(default=0, ge=0)
    latency_histogram: list[int] = Field(
        default_factory=lambda: [0] * len(LATENCY_BUCKET_EDGES_MS),
        description="Interactions per LATENCY_BUCKET_EDGES_MS bucket (mean AI latency).",
    )

    @property
    def containment_rate(self) -> float | None:
        return self.contained / self.interactions if self.interactions else None


class CanaryMetric(StrEnum):
    """The contact-center metrics a canary is judged on, beside infrastructure health."""

    CONTAINMENT_RATE = "containment_rate"
    ERROR_RATE = "error_rate"
    LATENCY_P95 = "latency_p95"
    CSAT = "csat"
    AVERAGE_HANDLE_TIME = "average_handle_time"
    COST_PER_INTERACTION = "cost_per_interaction"
    ESCALATION_REASONS = "escalation_reasons"


class AnalysisOutcome(StrEnum):
    """Argo's three results; inconclusive never promotes."""

    SUCCESSFUL = "successful"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


class MetricCheck(_Doc):
    """One metric of an analysis template and what counts as a breach."""

    metric: CanaryMetric
    tolerance: float = Field(
        default=0.0,
        ge=0.0,
        description="How much worse the canary may be before it counts: absolute points for "
        "rates (0.02 = 2 points), relative for means and p95 (0.1 = 10 %); unused for "
        "escalation reasons.",
    )
    guardrail: bool = Field(
        default=False, description="A significant breach rolls back whatever the failure limit."
    )
    required: bool = Field(
        default=False,
        description="Too little data makes the analysis inconclusive (holds the step); "
        "otherwise the check is reported and does not block.",
    )
    min_sample: int = Field(
        default=20, ge=1, description="Per arm; below it the check is inconclusive."
    )


def default_checks() -> list[MetricCheck]:
    """Guardrails on what customers feel first; soft checks on what WFM and finance feel."""
    return [
        MetricCheck(
            metric=CanaryMetric.CONTAINMENT_RATE, tolerance=0.02, guardrail=True, required=True
        ),
        MetricCheck(metric=CanaryMetric.ERROR_RATE, tolerance=0.01, guardrail=True, required=True),
        MetricCheck(metric=CanaryMetric.LATENCY_P95, tolerance=0.25, guardrail=True),
        MetricCheck(metric=CanaryMetric.CSAT, tolerance=0.05, min_sample=10),
        MetricCheck(metric=CanaryMetric.AVERAGE_HANDLE_TIME, tolerance=0.10),
        MetricCheck(metric=CanaryMetric.COST_PER_INTERACTION, tolerance=0.15),
        MetricCheck(metric=CanaryMetric.ESCALATION_REASONS, min_sample=10),
    ]


class AnalysisTemplate(_Doc):
    """Which checks run at the end of every step, and how their results combine."""

    checks: list[MetricCheck] = Field(default_factory=default_checks, min_length=1)
    failure_limit: int = Field(
        default=0, ge=0, description="Failed non-guardrail checks tolerated in one analysis."
    )
    alpha: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="False-rollback budget over the whole rollout (Bonferroni over its steps): "
        "each guardrail runs at alpha / steps, because each guards a different harm and a "
        "missed regression costs customers; the soft checks share alpha / steps between them.",
    )

    @model_validator(mode="after")
    def _unique(self) -> AnalysisTemplate:
        metrics = [check.metric for check in self.checks]
        if len(metrics) != len(set(metrics)):
            raise ValueError("checks: each metric may appear once")
        return self

    def alpha_for(self, check: MetricCheck, looks: int) -> float:
        """The significance level of ``check`` at one of ``looks`` analyses."""
        if check.guardrail:
            return self.alpha / looks
        soft = sum(not c.guardrail for c in self.checks)
        return self.alpha / (looks * soft)


class MetricVerdict(_Doc):
    metric: CanaryMetric
    outcome: AnalysisOutcome
    guardrail: bool = False
    required: bool = False
    canary_value: float | None = None
    baseline_value: float | None = None
    delta: float | None = Field(default=None, description="canary - baseline.")
    p_value: float | None = Field(
        default=None, description="Of 'the canary is worse by more than the tolerance'."
    )
    alpha: float
    n_canary: int = 0
    n_baseline: int = 0
    reason: str


class AnalysisResult(_Doc):
    """One analysis of canary against baseline; the object history, audit and status share."""

    outcome: AnalysisOutcome
    at: str
    step_index: int
    canary: str
    baseline: str
    looks: int = Field(description="Analyses the rollout plans (its steps): alpha is shared.")
    verdicts: list[MetricVerdict]
    failed_guardrails: list[CanaryMetric] = Field(default_factory=list)
    failed_checks: list[CanaryMetric] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)

    def verdict(self, metric: CanaryMetric) -> MetricVerdict | None:
        return next((v for v in self.verdicts if v.metric is metric), None)


class CanaryObservation(_Doc):
    """One poll of a running canary: sample sizes for the step and the cumulative analysis."""

    at: str
    step_index: int
    step_canary_sample: int = Field(description="Canary interactions since the step began.")
    step_baseline_sample: int
    canary: VersionMetrics
    baseline: VersionMetrics
    analysis: AnalysisResult


class LiftEstimate(_Doc):
    """Variant against control on one metric, with confidence intervals."""

    metric: str
    control_value: float | None = None
    variant_value: float | None = None
    difference: float | None = Field(default=None, description="variant - control.")
    ci_low: float | None = None
    ci_high: float | None = None
    relative_lift: float | None = Field(default=None, description="variant / control - 1.")
    relative_ci_low: float | None = None
    relative_ci_high: float | None = None
    p_value: float | None = None
    significant: bool = False
    n_control: int = 0
    n_variant: int = 0


class ArmReport(_Doc):
    version: str
    share_percent: float
    interactions: int
    containment_rate: float | None = None
    average_handle_seconds: float | None = None
    csat: float | None = None
    cost_per_interaction: float | None = None


class ArmComparison(_Doc):
    variant: str
    containment: LiftEstimate
    average_handle_time: LiftEstimate
    csat: LiftEstimate
    sequential_likelihood_ratio: float | None = Field(
        default=None, description="mSPRT evidence on containment (sequential design)."
    )
    sequential_ci_low: float | None = None
    sequential_ci_high: float | None = None


class ABReport(_Doc):
    at: str
    design: str
    control: str
    arms: list[ArmReport]
    comparisons: list[ArmComparison]
    blended_containment: float | None = Field(
        default=None,
        description="Containment of the whole test population at the current split: the rate "
        "WFM should plan human staffing with while the test runs.",
    )
    blended_ci_low: float | None = None
    blended_ci_high: float | None = None
    concluded: bool = False
    winner: str | None = None
    reasons: list[str] = Field(default_factory=list)
