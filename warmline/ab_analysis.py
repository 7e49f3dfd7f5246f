"""A/B test reports: lift with confidence intervals per variant, and when the test may stop.

Unlike a canary (does the new version break anything?), an A/B test asks which version is
better, so every comparison is two-sided and reports the size of the difference, not only a
verdict. Two designs: *fixed* (a pre-registered sample per arm; look once at the end) and
*sequential* (mSPRT on containment, valid at every look, capped by the same sample size).
The blended containment of the running population is what WFM staffs for meanwhile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from models.fleet import ABDesign, ABTestConfig
from models.fleet_analysis import (
    ABReport,
    ArmComparison,
    ArmReport,
    LiftEstimate,
    SampleSummary,
    VersionMetrics,
)
from warmline.fleet_metrics import as_summary, containment_counts
from warmline.fleet_stats import (
    TwoSampleResult,
    blended_rate,
    msprt_two_proportions,
    ratio_interval,
    two_proportion_ztest,
    welch_ttest,
)


def _two_sided(one_sided: float) -> float:
    return min(1.0, 2 * min(one_sided, 1 - one_sided))


def _lift(
    estimate: LiftEstimate,
    test: TwoSampleResult,
    variant: tuple[float, float],
    control: tuple[float, float],
    alpha: float,
) -> LiftEstimate:
    """``estimate`` with the test's difference and CI, the relative lift (from each arm's
    value and standard error) and the two-sided p-value."""
    relative = ratio_interval(*variant, *control, confidence=1 - alpha)
    p_value = _two_sided(test.p_value)
    return estimate.model_copy(
        update={
            "difference": test.estimate,
            "ci_low": test.ci_low,
            "ci_high": test.ci_high,
            "relative_lift": relative[0] if relative else None,
            "relative_ci_low": relative[1] if relative else None,
            "relative_ci_high": relative[2] if relative else None,
            "p_value": p_value,
            "significant": p_value < alpha,
        }
    )


def _rate_and_error(contained: int, interactions: int) -> tuple[float, float]:
    rate = contained / interactions
    return rate, math.sqrt(rate * (1 - rate) / interactions)


def containment_lift(
    variant: VersionMetrics, control: VersionMetrics, alpha: float
) -> LiftEstimate:
    estimate = LiftEstimate(
        metric="containment_rate",
        control_value=control.containment_rate,
        variant_value=variant.containment_rate,
        n_control=control.interactions,
        n_variant=variant.interactions,
    )
    v, c = containment_counts(variant), containment_counts(control)
    test = two_proportion_ztest(*v, *c, confidence=1 - alpha)
    if test is None:
        return estimate
    return _lift(estimate, test, _rate_and_error(*v), _rate_and_error(*c), alpha)


def mean_lift(
    metric: str, variant: SampleSummary, control: SampleSummary, alpha: float
) -> LiftEstimate:
    estimate = LiftEstimate(
        metric=metric,
        control_value=control.mean if control.n else None,
        variant_value=variant.mean if variant.n else None,
        n_control=control.n,
        n_variant=variant.n,
    )
    test = welch_ttest(as_summary(variant), as_summary(control), confidence=1 - alpha)
    if test is None:
        return estimate
    return _lift(
        estimate,
        test,
        (variant.mean, math.sqrt(variant.variance / variant.n)),
        (control.mean, math.sqrt(control.variance / control.n)),
        alpha,
    )


def _compare(
    version: str,
    variant: VersionMetrics,
    control: VersionMetrics,
    config: ABTestConfig,
    alpha: float,
) -> ArmComparison:
    comparison = ArmComparison(
        variant=version,
        containment=containment_lift(variant, control, alpha),
        average_handle_time=mean_lift(
            "average_handle_time", variant.handle_seconds, control.handle_seconds, alpha
        ),
        csat=mean_lift("csat", variant.csat, control.csat, alpha),
    )
    if config.design is ABDesign.SEQUENTIAL:
        sequential = msprt_two_proportions(
            *containment_counts(variant),
            *containment_counts(control),
            tau2=config.mixture_variance,
            alpha=alpha,
        )
        if sequential is not None:
            comparison.sequential_likelihood_ratio = sequential.likelihood_ratio
            comparison.sequential_ci_low = sequential.ci_low
            comparison.sequential_ci_high = sequential.ci_high
            # In the sequential design the always-valid test is the one that decides.
            comparison.containment.significant = sequential.reject
    return comparison


def _verdict(
    report: ABReport, config: ABTestConfig, smallest_arm: int
) -> tuple[bool, str | None, list[str]]:
    """Whether the test may stop now, the winner on containment (if any) and why."""
    significant = [c for c in report.comparisons if c.containment.significant]
    full = smallest_arm >= config.sample_size_per_arm
    if config.design is ABDesign.SEQUENTIAL:
        early = bool(significant) and smallest_arm >= config.min_sample_per_arm
        if not (early or full):
            return False, None, [f"collecting: smallest arm {smallest_arm} interactions"]
    elif not full:
        return False, None, [f"collecting: {smallest_arm}/{config.sample_size_per_arm} per arm"]
    better = [c for c in significant if (c.containment.difference or 0.0) > 0]
    if better:
        best = max(better, key=lambda c: c.containment.difference or 0.0)
        winner = best.variant
    elif significant and len(significant) == len(report.comparisons):
        winner = report.control  # every variant is significantly worse
    else:
        winner = None
    reasons = [
        f"{c.variant} vs {report.control}: containment {_pct(c.containment.difference)} "
        f"[{_pct(c.containment.ci_low)}, {_pct(c.containment.ci_high)}]"
        f"{' significant' if c.containment.significant else ''}"
        for c in report.comparisons
    ]
    reasons.insert(0, f"winner {winner}" if winner else "no significant difference in containment")
    return True, winner, reasons


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pts"


def ab_report(
    metrics: Mapping[str, VersionMetrics],
    control: str,
    split: Mapping[str, float],
    config: ABTestConfig,
    at: str,
) -> ABReport:
    """Compare every arm with the control (Bonferroni over variants) and decide stopping.

    ``metrics`` and ``split`` are keyed by version; ``control`` is a version.
    """
    variants = [version for version in split if version != control]
    alpha = config.alpha / max(1, len(variants))
    base = metrics[control]
    arms = [
        ArmReport(
            version=version,
            share_percent=split[version],
            interactions=metrics[version].interactions,
            containment_rate=metrics[version].containment_rate,
            average_handle_seconds=metrics[version].handle_seconds.mean
            if metrics[version].handle_seconds.n
            else None,
            csat=metrics[version].csat.mean if metrics[version].csat.n else None,
            cost_per_interaction=metrics[version].cost_usd.mean
            if metrics[version].cost_usd.n
            else None,
        )
        for version in split
    ]
    blended = blended_rate(
        [(split[v], metrics[v].contained, metrics[v].interactions) for v in split]
    )
    report = ABReport(
        at=at,
        design=config.design.value,
        control=control,
        arms=arms,
        comparisons=[_compare(v, metrics[v], base, config, alpha) for v in variants],
        blended_containment=blended.rate if blended else None,
        blended_ci_low=blended.ci_low if blended else None,
        blended_ci_high=blended.ci_high if blended else None,
    )
    smallest = min(metrics[v].interactions for v in split)
    concluded, winner, reasons = _verdict(report, config, smallest)
    report.concluded, report.winner, report.reasons = concluded, winner, reasons
    return report
