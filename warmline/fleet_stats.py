"""Statistics for canary analysis and A/B tests, in pure Python.

Why pure Python and not scipy: these functions run inside activities whose results are
recorded, but also in tests and the CLI; a few hundred lines of textbook numerics keep the
domain core free of heavy imports and make every formula readable where it is used. The test
suite checks them against scipy.

Conventions: ``p_value`` is of the one-sided alternative "the first sample exceeds the second
by more than ``margin``" unless a function says otherwise; ``None`` means the test cannot be
computed from the data given (too little, or no variance where one is needed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_EPS = 1e-300
_MAX_ITERATIONS = 300


# -- distributions ---------------------------------------------------------------------------


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_sf(x: float) -> float:
    """P(Z > x), accurate in the far tail (no 1 - cdf cancellation)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def normal_ppf(p: float) -> float:
    """Inverse of ``normal_cdf`` (Acklam's approximation, polished by one Newton step)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    if p < low or p > 1 - low:
        q = math.sqrt(-2 * math.log(p if p < low else 1 - p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
        x = x if p < low else -x
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    error = normal_cdf(x) - p
    return x - error * math.sqrt(2 * math.pi) * math.exp(x * x / 2)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's method for the continued fraction of the incomplete beta function."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _EPS else _EPS)
    result = d
    for m in range(1, _MAX_ITERATIONS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _EPS else _EPS)
            c = 1.0 + numerator / c
            c = c if abs(c) > _EPS else _EPS
            delta = c * d
            result *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the CDF of Beta(a, b) at x."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` (possibly fractional) degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def student_t_ppf(p: float, df: float) -> float:
    """Inverse CDF of Student's t by bisection (only used for confidence intervals)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if p < 0.5:
        return -student_t_ppf(1.0 - p, df)
    low, high = 0.0, 1.0
    while student_t_sf(high, df) > 1.0 - p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if student_t_sf(mid, df) > 1.0 - p:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def _gamma_series(a: float, x: float) -> float:
    total = term = 1.0 / a
    ap = a
    for _ in range(_MAX_ITERATIONS * 3):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_continued_fraction(a: float, x: float) -> float:
    b = x + 1.0 - a
    c = 1.0 / _EPS
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITERATIONS * 3):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _EPS else _EPS)
        c = b + an / c
        c = c if abs(c) > _EPS else _EPS
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a chi-square with ``df`` degrees of freedom (upper regularized gamma)."""
    if x <= 0.0:
        return 1.0
    a, half = df / 2.0, x / 2.0
    if half < a + 1.0:
        return 1.0 - _gamma_series(a, half)
    return _gamma_continued_fraction(a, half)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space so large n stays exact enough."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    total = 0.0
    for i in range(k, n + 1):
        total += math.exp(
            base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        )
    return min(1.0, total)


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
