"""Canary analysis: run an ``AnalysisTemplate`` over canary and baseline metrics.

Each check asks one question, "is the canary worse than the baseline by more than the
tolerance?", with a test that accounts for sample size (two-proportion z for rates, Welch's t
for means, chi-square for the escalation-reason mix, a binomial exceedance test for p95
latency). A check fails only on significant evidence; too little data is inconclusive, never a
pass in disguise. The result carries every number and a sentence per check.
"""

from __future__ import annotations

from collections.abc import Callable

from models.fleet_analysis import (
    LATENCY_BUCKET_EDGES_MS,
    AnalysisOutcome,
    AnalysisResult,
    AnalysisTemplate,
    CanaryMetric,
    MetricCheck,
    MetricVerdict,
    SampleSummary,
    VersionMetrics,
)
from warmline.fleet_metrics import as_summary, containment_counts, error_counts, rate
from warmline.fleet_stats import (
    chi_square_homogeneity,
    p95_exceedance_test,
    two_proportion_ztest,
    welch_ttest,
)

Evaluator = Callable[[MetricCheck, VersionMetrics, VersionMetrics, float], MetricVerdict]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _verdict(
    check: MetricCheck,
    alpha: float,
    *,
    canary: float | None,
    baseline: float | None,
    n_canary: int,
    n_baseline: int,
    p_value: float | None,
    what: str,
) -> MetricVerdict:
    """Common shape: inconclusive below min sample or without a test, failed when p < alpha."""
    name = check.metric.value
    values = f"canary {_fmt(canary)} (n={n_canary}) vs baseline {_fmt(baseline)} (n={n_baseline})"
    if min(n_canary, n_baseline) < check.min_sample or p_value is None:
        outcome = AnalysisOutcome.INCONCLUSIVE
        reason = f"{name}: {values}; too little data (min {check.min_sample} per arm)"
    elif p_value < alpha:
        outcome = AnalysisOutcome.FAILED
        reason = f"{name}: {values}; {what} (p={p_value:.3g} < {alpha:.3g})"
    else:
        outcome = AnalysisOutcome.SUCCESSFUL
        reason = f"{name}: {values}; not significantly {what} (p={p_value:.3g})"
    delta = canary - baseline if canary is not None and baseline is not None else None
    return MetricVerdict(
        metric=check.metric,
        outcome=outcome,
        guardrail=check.guardrail,
        required=check.required,
        canary_value=canary,
        baseline_value=baseline,
        delta=delta,
        p_value=p_value,
        alpha=alpha,
        n_canary=n_canary,
        n_baseline=n_baseline,
        reason=reason,
    )


def _rate_check(
    counts: Callable[[VersionMetrics], tuple[int, int]], higher_is_better: bool
) -> Evaluator:
    """Two-proportion z on a rate; the tolerance is in absolute points."""

    def evaluate(
        check: MetricCheck, canary: VersionMetrics, baseline: VersionMetrics, alpha: float
    ) -> MetricVerdict:
        c, b = counts(canary), counts(baseline)
        # The arm expected to be larger when the canary is worse goes first.
        worse, better = (b, c) if higher_is_better else (c, b)
        test = two_proportion_ztest(*worse, *better, margin=check.tolerance)
        direction = "lower" if higher_is_better else "higher"
        return _verdict(
            check,
            alpha,
            canary=rate(c),
            baseline=rate(b),
            n_canary=canary.interactions,
            n_baseline=baseline.interactions,
            p_value=test.p_value if test else None,
            what=f"{direction} by more than {check.tolerance:g}",
        )

    return evaluate


def _mean_check(
    pick: Callable[[VersionMetrics], SampleSummary], higher_is_better: bool
) -> Evaluator:
    """Welch's t on a mean; the tolerance is relative to the baseline's mean."""

    def evaluate(
        check: MetricCheck, canary: VersionMetrics, baseline: VersionMetrics, alpha: float
    ) -> MetricVerdict:
        c, b = pick(canary), pick(baseline)
        margin = check.tolerance * abs(b.mean)
        # The sample expected to be larger when the canary is worse goes first.
        worse, better = (b, c) if higher_is_better else (c, b)
        test = welch_ttest(as_summary(worse), as_summary(better), margin=margin)
        direction = "lower" if higher_is_better else "higher"
        return _verdict(
            check,
            alpha,
            canary=c.mean if c.n else None,
            baseline=b.mean if b.n else None,
            n_canary=c.n,
            n_baseline=b.n,
            p_value=test.p_value if test else None,
            what=f"{direction} by more than {check.tolerance:.0%}",
        )

    return evaluate


def _escalation_reasons(
    check: MetricCheck, canary: VersionMetrics, baseline: VersionMetrics, alpha: float
) -> MetricVerdict:
    n_canary, n_baseline = sum(canary.escalations.values()), sum(baseline.escalations.values())
    test = chi_square_homogeneity(canary.escalations, baseline.escalations)
    valid = test is not None and test.valid
    verdict = _verdict(
        check,
        alpha,
        canary=None,
        baseline=None,
        n_canary=n_canary,
        n_baseline=n_baseline,
        p_value=test.p_value if test is not None and valid else None,
        what="different in mix",
    )
    shares = ", ".join(
        f"{reason} {count / n_canary:.0%}" for reason, count in canary.escalations.items()
    )
    if shares:
        verdict.reason += f"; canary escalations: {shares}"
    if test is not None and not valid:
        verdict.reason += "; expected counts too small for chi-square"
    return verdict


def _latency_p95(
    check: MetricCheck, canary: VersionMetrics, baseline: VersionMetrics, alpha: float
) -> MetricVerdict:
    test = p95_exceedance_test(
        canary.latency_histogram,
        baseline.latency_histogram,
        LATENCY_BUCKET_EDGES_MS,
        check.tolerance,
    )
    return _verdict(
        check,
        alpha,
        canary=test.canary_p95 if test else None,
        baseline=test.baseline_p95 if test else None,
        n_canary=sum(canary.latency_histogram),
        n_baseline=sum(baseline.latency_histogram),
        p_value=test.p_value if test else None,
        what=f"slower at p95 by more than {check.tolerance:.0%}",
    )


EVALUATORS: dict[CanaryMetric, Evaluator] = {
    CanaryMetric.CONTAINMENT_RATE: _rate_check(containment_counts, higher_is_better=True),
    CanaryMetric.ERROR_RATE: _rate_check(error_counts, higher_is_better=False),
    CanaryMetric.LATENCY_P95: _latency_p95,
    CanaryMetric.CSAT: _mean_check(lambda m: m.csat, higher_is_better=True),
    CanaryMetric.AVERAGE_HANDLE_TIME: _mean_check(lambda m: m.handle_seconds, False),
    CanaryMetric.COST_PER_INTERACTION: _mean_check(lambda m: m.cost_usd, False),
    CanaryMetric.ESCALATION_REASONS: _escalation_reasons,
}


def analyse(
    canary: VersionMetrics,
    baseline: VersionMetrics,
    template: AnalysisTemplate,
    looks: int,
    *,
    step_index: int,
    at: str,
) -> AnalysisResult:
    """Evaluate every check and combine them as the template says.

    Failed: any guardrail failed, or more soft checks failed than ``failure_limit``.
    Inconclusive: otherwise, if a required check lacks data. Successful: the rest.
    """
    verdicts = [
        EVALUATORS[check.metric](check, canary, baseline, template.alpha_for(check, looks))
        for check in template.checks
    ]
    failed = [v for v in verdicts if v.outcome is AnalysisOutcome.FAILED]
    failed_guardrails = [v.metric for v in failed if v.guardrail]
    failed_soft = [v.metric for v in failed if not v.guardrail]
    # The sentences that carry the decision; every verdict keeps its own in ``verdicts``.
    reasons = [v.reason for v in verdicts if v.required or v.outcome is AnalysisOutcome.FAILED]
    if failed_guardrails:
        outcome = AnalysisOutcome.FAILED
        names = ", ".join(m.value for m in failed_guardrails)
        reasons.insert(0, f"guardrail breached: {names}")
    elif len(failed_soft) > template.failure_limit:
        outcome = AnalysisOutcome.FAILED
        names = ", ".join(m.value for m in failed_soft)
        reasons.insert(
            0, f"{len(failed_soft)} checks failed ({names}) > limit {template.failure_limit}"
        )
    elif any(v.required and v.outcome is AnalysisOutcome.INCONCLUSIVE for v in verdicts):
        outcome = AnalysisOutcome.INCONCLUSIVE
        names = ", ".join(
            v.metric.value
            for v in verdicts
            if v.required and v.outcome is AnalysisOutcome.INCONCLUSIVE
        )
        reasons.insert(0, f"inconclusive: not enough data for {names}")
    else:
        outcome = AnalysisOutcome.SUCCESSFUL
        reasons.insert(0, "no check shows the canary significantly worse")
    return AnalysisResult(
        outcome=outcome,
        at=at,
        step_index=step_index,
        canary=canary.endpoint,
        baseline=baseline.endpoint,
        looks=looks,
        verdicts=verdicts,
        failed_guardrails=failed_guardrails,
        failed_checks=[v.metric for v in failed],
        reasons=reasons,
    )
