"""Statistics for canary analysis and A/B tests, in pure Python.

Why pure Python and not scipy: these functions run inside activities whose results are
recorded, but also in tests and the CLI; textbook formulas (distributions in
``warmline.distributions``) keep the domain core free of heavy imports and make every test
readable where it is used. The test suite checks them against reference values.

Conventions: ``p_value`` is of the one-sided alternative "the first sample exceeds the second
by more than ``margin``" unless a function says otherwise; ``None`` means the test cannot be
computed from the data given (too little, or no variance where one is needed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from warmline.distributions import (
    binomial_sf,
    chi2_sf,
    normal_ppf,
    normal_sf,
    student_t_ppf,
    student_t_sf,
)

# -- summaries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """n, mean and sample variance of a metric (what Welch's test consumes)."""

    n: int = 0
    mean: float = 0.0
    variance: float = 0.0


def summarize(values: Iterable[float]) -> Summary:
    """Welford's one-pass mean and variance (stable for long, large-valued series)."""
    n, mean, m2 = 0, 0.0, 0.0
    for value in values:
        n += 1
        delta = value - mean
        mean += delta / n
        m2 += delta * (value - mean)
    return Summary(n=n, mean=mean, variance=m2 / (n - 1) if n > 1 else 0.0)


def merge_summaries(parts: Sequence[Summary]) -> Summary:
    """Combine summaries of disjoint samples (Chan et al.), e.g. two production versions."""
    n, mean, m2 = 0, 0.0, 0.0
    for part in parts:
        if part.n == 0:
            continue
        total = n + part.n
        delta = part.mean - mean
        m2 += part.variance * (part.n - 1) + delta * delta * n * part.n / total
        mean += delta * part.n / total
        n = total
    return Summary(n=n, mean=mean, variance=m2 / (n - 1) if n > 1 else 0.0)


# -- tests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoSampleResult:
    """A two-sample comparison: first minus second, its test statistic and a two-sided CI."""

    estimate: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float


def two_proportion_ztest(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    margin: float = 0.0,
    confidence: float = 0.95,
    continuity: bool = True,
) -> TwoSampleResult | None:
    """Is p1 - p2 > margin? One-sided two-proportion z-test with a two-sided CI.

    The test uses the pooled (null) standard error with Yates' continuity correction, which
    keeps a handful of canary interactions from looking like strong evidence: two escalations
    in a row against 78 % containment give p ~ 0.08 (Fisher's exact test says 0.079), where the
    uncorrected statistic would claim 0.01. The correction fades as samples grow. The CI is
    Agresti-Caffo's (one success and one failure added to each arm), honest for small arms.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    estimate = x1 / n1 - x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se_test = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    a1, a2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    se_ci = math.sqrt(a1 * (1 - a1) / (n1 + 2) + a2 * (1 - a2) / (n2 + 2))
    z_ci = normal_ppf(0.5 + confidence / 2)
    excess = estimate - margin
    if continuity:
        # Shrink towards no effect, never past it.
        correction = 0.5 * (1 / n1 + 1 / n2)
        excess = max(0.0, excess - correction) if excess > 0 else min(0.0, excess + correction)
    if se_test == 0.0:
        # Both arms all-successes or all-failures: no evidence of any difference.
        statistic, p_value = 0.0, 1.0 if excess <= 0 else 0.0
    else:
        statistic = excess / se_test
        p_value = normal_sf(statistic)
    return TwoSampleResult(
        estimate, statistic, p_value, estimate - z_ci * se_ci, estimate + z_ci * se_ci
    )


def welch_ttest(
    first: Summary, second: Summary, margin: float = 0.0, confidence: float = 0.95
) -> TwoSampleResult | None:
    """Is mean1 - mean2 > margin? Welch's t-test (unequal variances) from summaries."""
    if first.n < 2 or second.n < 2:
        return None
    v1, v2 = first.variance / first.n, second.variance / second.n
    estimate = first.mean - second.mean
    se = math.sqrt(v1 + v2)
    if se == 0.0:
        p_value = 1.0 if estimate <= margin else 0.0
        return TwoSampleResult(estimate, 0.0, p_value, estimate, estimate)
    df = (v1 + v2) ** 2 / (v1 * v1 / (first.n - 1) + v2 * v2 / (second.n - 1))
    statistic = (estimate - margin) / se
    half = student_t_ppf(0.5 + confidence / 2, df) * se
    return TwoSampleResult(
        estimate, statistic, student_t_sf(statistic, df), estimate - half, estimate + half
    )


@dataclass(frozen=True)
class ChiSquareResult:
    statistic: float
    df: int
    p_value: float
    valid: bool
    """False when expected counts are too small for the chi-square approximation."""


def chi_square_homogeneity(
    first: Mapping[str, int], second: Mapping[str, int]
) -> ChiSquareResult | None:
    """Do two samples share one categorical distribution (e.g. escalation reasons)?

    Cochran's rule decides ``valid``: every expected count >= 1 and at most 20 % below 5.
    """
    categories = sorted(c for c in set(first) | set(second) if first.get(c, 0) + second.get(c, 0))
    n1 = sum(first.get(c, 0) for c in categories)
    n2 = sum(second.get(c, 0) for c in categories)
    if n1 == 0 or n2 == 0:
        return None
    if len(categories) < 2:
        return ChiSquareResult(0.0, 0, 1.0, True)
    total = n1 + n2
    statistic, small, valid = 0.0, 0, True
    for category in categories:
        column = first.get(category, 0) + second.get(category, 0)
        for observed, row in ((first.get(category, 0), n1), (second.get(category, 0), n2)):
            expected = row * column / total
            valid = valid and expected >= 1.0
            small += expected < 5.0
            statistic += (observed - expected) ** 2 / expected
    df = len(categories) - 1
    valid = valid and small <= 0.2 * 2 * len(categories)
    return ChiSquareResult(statistic, df, chi2_sf(statistic, df), valid)


def histogram_quantile(histogram: Sequence[int], edges: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile from a histogram, interpolated within its bucket.

    ``edges`` are lower bucket edges; the open last bucket reports its lower edge.
    """
    total = sum(histogram)
    if total == 0:
        return None
    target = q * total
    cumulative = 0
    for index, count in enumerate(histogram):
        if count and cumulative + count >= target:
            low = edges[index]
            if index + 1 >= len(edges):
                return low
            fraction = (target - cumulative) / count
            return low + fraction * (edges[index + 1] - low)
        cumulative += count
    return edges[len(histogram) - 1]


@dataclass(frozen=True)
class ExceedanceResult:
    baseline_p95: float
    canary_p95: float
    threshold: float
    exceeding: int
    n: int
    p_value: float


def p95_exceedance_test(
    canary: Sequence[int], baseline: Sequence[int], edges: Sequence[float], tolerance: float
) -> ExceedanceResult | None:
    """Is the canary's p95 latency above the baseline's by more than ``tolerance`` (relative)?

    If it were not, at most 5 % of canary interactions would exceed baseline_p95 x (1 + tol).
    The count that does is tested against Binomial(n, 0.05), so a handful of slow calls in a
    small sample is not a breach but a consistent shift in a large one is. Buckets straddling
    the threshold do not count as exceeding (conservative). The baseline's own estimation error
    is ignored: it usually has far more traffic than the canary.
    """
    baseline_p95 = histogram_quantile(baseline, edges, 0.95)
    canary_p95 = histogram_quantile(canary, edges, 0.95)
    n = sum(canary)
    if baseline_p95 is None or canary_p95 is None or n == 0:
        return None
    threshold = baseline_p95 * (1.0 + tolerance)
    exceeding = sum(count for edge, count in zip(edges, canary, strict=False) if edge >= threshold)
    return ExceedanceResult(
        baseline_p95, canary_p95, threshold, exceeding, n, binomial_sf(exceeding, n, 0.05)
    )


# -- A/B testing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SequentialResult:
    """Mixture SPRT on a difference of proportions: always-valid evidence and interval."""

    estimate: float
    likelihood_ratio: float
    reject: bool
    ci_low: float
    ci_high: float


def msprt_two_proportions(
    x_variant: int, n_variant: int, x_control: int, n_control: int, tau2: float, alpha: float
) -> SequentialResult | None:
    """Johari et al.'s mSPRT with a normal mixture N(0, tau2) over the difference.

    The test may be looked at after every interaction without inflating the false-positive
    rate: reject "no difference" once the mixture likelihood ratio reaches 1 / alpha. The
    interval is the set of differences the test would not reject, valid at any stopping time.
    """
    if n_variant <= 0 or n_control <= 0:
        return None
    a1 = (x_variant + 1) / (n_variant + 2)
    a2 = (x_control + 1) / (n_control + 2)
    variance = a1 * (1 - a1) / n_variant + a2 * (1 - a2) / n_control
    estimate = x_variant / n_variant - x_control / n_control
    ratio_log = 0.5 * math.log(variance / (variance + tau2)) + (
        tau2 * estimate * estimate / (2 * variance * (variance + tau2))
    )
    likelihood_ratio = math.exp(min(ratio_log, 700.0))
    half = math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (math.log((variance + tau2) / variance) - 2 * math.log(alpha))
    )
    return SequentialResult(
        estimate, likelihood_ratio, likelihood_ratio >= 1 / alpha, estimate - half, estimate + half
    )


def ratio_interval(
    variant: float,
    variant_se: float,
    control: float,
    control_se: float,
    confidence: float = 0.95,
) -> tuple[float, float, float] | None:
    """Relative lift variant / control - 1 with a delta-method CI on the log ratio."""
    if variant <= 0.0 or control <= 0.0:
        return None
    log_ratio = math.log(variant / control)
    se = math.sqrt((variant_se / variant) ** 2 + (control_se / control) ** 2)
    z = normal_ppf(0.5 + confidence / 2)
    return (
        math.exp(log_ratio) - 1.0,
        math.exp(log_ratio - z * se) - 1.0,
        math.exp(log_ratio + z * se) - 1.0,
    )


def required_sample_size(
    baseline_rate: float, minimum_effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Per-arm sample for a two-sided two-proportion test to detect ``minimum_effect``."""
    p1 = baseline_rate
    p2 = min(1.0 - 1e-9, max(1e-9, baseline_rate + minimum_effect))
    mean = (p1 + p2) / 2
    z_alpha = normal_ppf(1 - alpha / 2)
    z_power = normal_ppf(power)
    numerator = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil((numerator / minimum_effect) ** 2)


@dataclass(frozen=True)
class BlendedRate:
    rate: float
    ci_low: float
    ci_high: float


def blended_rate(
    arms: Sequence[tuple[float, int, int]], confidence: float = 0.95
) -> BlendedRate | None:
    """Traffic-weighted rate over arms given as (share, successes, n).

    For WFM during an A/B test: the containment of the whole population at the current split,
    which is what the human staffing plan must cover. Arms without data are left out and the
    remaining shares renormalised.
    """
    observed = [(share, x, n) for share, x, n in arms if n > 0 and share > 0]
    weight = sum(share for share, _, _ in observed)
    if not observed or weight <= 0:
        return None
    rate = sum(share / weight * x / n for share, x, n in observed)
    variance = sum((share / weight) ** 2 * (x / n) * (1 - x / n) / n for share, x, n in observed)
    half = normal_ppf(0.5 + confidence / 2) * math.sqrt(variance)
    return BlendedRate(rate, max(0.0, rate - half), min(1.0, rate + half))
