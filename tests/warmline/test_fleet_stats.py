"""Fleet statistics against reference values (computed once with scipy; scipy is optional)."""

from __future__ import annotations

import math
import random

import pytest

from warmline import distributions as dist
from warmline import fleet_stats as fs
from warmline.fleet_stats import Summary


def test_distributions_match_reference_values() -> None:
    assert dist.normal_sf(2.0) == pytest.approx(0.022750131948179195, rel=1e-12)
    assert dist.normal_ppf(0.975) == pytest.approx(1.959963984540054, rel=1e-12)
    assert dist.normal_ppf(1e-10) == pytest.approx(-6.361340902404056, rel=1e-10)
    assert dist.student_t_sf(2.1, 7.5) == pytest.approx(0.035618535729039044, rel=1e-10)
    assert dist.student_t_sf(-1.3, 12) == pytest.approx(0.8909914144582429, rel=1e-10)
    assert dist.student_t_ppf(0.975, 4.3) == pytest.approx(2.70169489828223, rel=1e-9)
    assert dist.chi2_sf(15, 4) == pytest.approx(0.004701217146256585, rel=1e-10)
    assert dist.chi2_sf(80, 30) == pytest.approx(1.9756232434910563e-06, rel=1e-9)
    assert dist.binomial_sf(12, 100, 0.05) == pytest.approx(0.004274182466365919, rel=1e-10)
    assert dist.binomial_sf(0, 5, 0.05) == 1.0
    assert dist.binomial_sf(6, 5, 0.05) == 0.0


def test_distributions_agree_with_scipy_across_their_range() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(4)
    for _ in range(200):
        x, df = rng.uniform(-6, 6), rng.uniform(1, 200)
        assert dist.student_t_sf(x, df) == pytest.approx(stats.t.sf(x, df), rel=1e-8, abs=1e-14)
        q = rng.uniform(0.001, 60)
        k = rng.randint(1, 40)
        assert dist.chi2_sf(q, k) == pytest.approx(stats.chi2.sf(q, k), rel=1e-8, abs=1e-14)
        p = rng.uniform(1e-6, 1 - 1e-6)
        assert dist.normal_ppf(p) == pytest.approx(stats.norm.ppf(p), rel=1e-9, abs=1e-12)


def test_two_proportion_ztest_pooled_without_margin() -> None:
    result = fs.two_proportion_ztest(30, 100, 20, 100, continuity=False)
    assert result is not None
    pooled_se = math.sqrt(0.25 * 0.75 * (2 / 100))
    assert result.estimate == pytest.approx(0.10)
    assert result.statistic == pytest.approx(0.10 / pooled_se)
    assert result.p_value == pytest.approx(dist.normal_sf(0.10 / pooled_se))
    assert result.ci_low < 0.10 < result.ci_high
    corrected = fs.two_proportion_ztest(30, 100, 20, 100)
    assert corrected is not None
    assert corrected.statistic == pytest.approx((0.10 - 0.5 * (2 / 100)) / pooled_se)


def test_continuity_correction_keeps_tiny_samples_honest() -> None:
    # Production contains 14 of 18; the canary escalated its first 2. Fisher's exact one-sided
    # p is C(6,2)/C(20,2) = 0.079: weak evidence, whatever a naive z-test says.
    naive = fs.two_proportion_ztest(14, 18, 0, 2, continuity=False)
    corrected = fs.two_proportion_ztest(14, 18, 0, 2)
    assert naive is not None and corrected is not None
    assert naive.p_value < 0.02
    assert corrected.p_value == pytest.approx(15 / 190, abs=0.01)
    # With hundreds per arm the correction hardly matters.
    big = fs.two_proportion_ztest(780, 1000, 700, 1000)
    big_naive = fs.two_proportion_ztest(780, 1000, 700, 1000, continuity=False)
    assert big is not None and big_naive is not None
    assert big.statistic == pytest.approx(big_naive.statistic, rel=0.03)


def test_two_proportion_ztest_margin_and_degenerate_arms() -> None:
    assert fs.two_proportion_ztest(0, 0, 3, 10) is None
    degenerate = fs.two_proportion_ztest(10, 10, 0, 5, margin=0.02)
    assert degenerate is not None and 0.0 < degenerate.p_value < 0.01
    # Identical rates are not evidence of a difference beyond a margin.
    same = fs.two_proportion_ztest(40, 50, 40, 50, margin=0.02)
    assert same is not None and same.p_value >= 0.5
    # Both all-successes: no variance at all, no evidence.
    flat = fs.two_proportion_ztest(5, 5, 5, 5)
    assert flat is not None and flat.p_value == 1.0


def test_welch_ttest_matches_reference() -> None:
    first = fs.summarize([3.1, 2.9, 3.5, 4.0, 3.3, 3.8])
    second = fs.summarize([2.0, 2.5, 2.2, 2.9, 2.4, 2.6, 2.1])
    result = fs.welch_ttest(first, second)
    assert result is not None
    assert result.statistic == pytest.approx(5.044757089068452, rel=1e-9)
    assert result.p_value == pytest.approx(0.00032536834298392656, rel=1e-7)
    assert result.ci_low < result.estimate < result.ci_high
    assert fs.welch_ttest(Summary(n=1, mean=3.0), second) is None
    # A margin larger than the difference turns the evidence around.
    loose = fs.welch_ttest(first, second, margin=2.0)
    assert loose is not None and loose.p_value > 0.99


def test_summaries_merge_exactly() -> None:
    rng = random.Random(1)
    values = [rng.gauss(300, 60) for _ in range(500)]
    whole = fs.summarize(values)
    merged = fs.merge_summaries([fs.summarize(values[:123]), fs.summarize(values[123:])])
    assert merged.n == whole.n
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12)
    assert merged.variance == pytest.approx(whole.variance, rel=1e-10)
    assert fs.merge_summaries([Summary(), whole]) == whole


def test_chi_square_homogeneity() -> None:
    result = fs.chi_square_homogeneity({"a": 20, "b": 10, "c": 5}, {"a": 8, "b": 15, "c": 12})
    assert result is not None and result.valid and result.df == 2
    assert result.statistic == pytest.approx(9.025210084033613, rel=1e-10)
    assert result.p_value == pytest.approx(0.01096984601166056, rel=1e-8)
    assert fs.chi_square_homogeneity({}, {"a": 3}) is None
    single = fs.chi_square_homogeneity({"a": 3}, {"a": 9})
    assert single is not None and single.p_value == 1.0
    sparse = fs.chi_square_homogeneity({"a": 1, "b": 0}, {"a": 0, "b": 1})
    assert sparse is not None and not sparse.valid


def test_histogram_quantile_and_p95_exceedance() -> None:
    edges = (0.0, 100.0, 200.0, 400.0, 800.0)
    assert fs.histogram_quantile([0, 0, 0, 0, 0], edges, 0.95) is None
    assert fs.histogram_quantile([10, 0, 0, 0, 0], edges, 0.5) == pytest.approx(50.0)
    assert fs.histogram_quantile([0, 0, 0, 0, 4], edges, 0.95) == 800.0
    baseline = [900, 80, 20, 0, 0]  # p95 inside the 100-200 ms bucket
    same = fs.p95_exceedance_test([90, 8, 2, 0, 0], baseline, edges, tolerance=0.25)
    assert same is not None and same.exceeding == 0 and same.p_value == 1.0
    slow = fs.p95_exceedance_test([40, 20, 10, 20, 10], baseline, edges, tolerance=0.25)
    assert slow is not None and slow.canary_p95 > slow.baseline_p95
    assert slow.exceeding == 30 and slow.p_value < 1e-9


def test_msprt_rejects_a_real_difference_and_not_noise() -> None:
    strong = fs.msprt_two_proportions(20, 100, 80, 100, tau2=0.0025, alpha=0.05)
    assert strong is not None and strong.reject and strong.likelihood_ratio >= 20
    assert strong.ci_high < 0 < 0.8 - 0.2
    noise = fs.msprt_two_proportions(41, 60, 40, 60, tau2=0.0025, alpha=0.05)
    assert noise is not None and not noise.reject
    assert noise.ci_low < noise.estimate < noise.ci_high
    # The always-valid interval is wider than a fixed-sample one at the same data.
    fixed = fs.two_proportion_ztest(41, 60, 40, 60)
    assert fixed is not None
    assert noise.ci_high - noise.ci_low > fixed.ci_high - fixed.ci_low


def test_msprt_false_positive_rate_stays_under_alpha_with_continuous_peeking() -> None:
    rng = random.Random(7)
    rejected = 0
    runs = 200
    for _ in range(runs):
        xa = xb = 0
        for n in range(1, 301):
            xa += rng.random() < 0.7
            xb += rng.random() < 0.7
            result = fs.msprt_two_proportions(xa, n, xb, n, tau2=0.0025, alpha=0.05)
            if n >= 20 and result is not None and result.reject:
                rejected += 1
                break
    assert rejected / runs <= 0.05


def test_lift_interval_sample_size_and_blended_rate() -> None:
    lift = fs.ratio_interval(0.8, 0.02, 0.7, 0.02)
    assert lift is not None
    relative, low, high = lift
    assert relative == pytest.approx(0.8 / 0.7 - 1)
    assert low < relative < high
    assert fs.ratio_interval(0.0, 0.1, 0.5, 0.1) is None
    # Classic example: 70% -> 75% at alpha 0.05, power 0.8 needs about 1250 per arm.
    assert 1200 <= fs.required_sample_size(0.70, 0.05) <= 1300
    blended = fs.blended_rate([(80.0, 70, 100), (20.0, 40, 100)])
    assert blended is not None
    assert blended.rate == pytest.approx(0.8 * 0.7 + 0.2 * 0.4)
    assert blended.ci_low < blended.rate < blended.ci_high
    assert fs.blended_rate([(50.0, 0, 0)]) is None
    renormalised = fs.blended_rate([(50.0, 30, 40), (50.0, 0, 0)])
    assert renormalised is not None and renormalised.rate == pytest.approx(0.75)
