"""Calibration, out-of-scope tuning and threshold suggestions on synthetic numbers."""

from __future__ import annotations

import pytest
import torch

from classifier.calibration import (
    Calibration,
    decide,
    expected_calibration_error,
    fit_temperature,
    tune_oos_threshold,
)
from classifier.thresholds import lowest_cutoff
from models.routing import ThresholdRule


def _overconfident(
    n: int = 4000, labels: int = 5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits whose softmax at T=1 is right only as often as softmax at T=3 says."""
    gen = torch.Generator().manual_seed(0)
    base = torch.randn((n, labels), generator=gen) * 2
    targets = torch.multinomial(torch.softmax(base, -1), 1, generator=gen).squeeze(1)
    return base * 3.0, targets


def test_temperature_recovers_overconfidence_and_lowers_ece() -> None:
    logits, targets = _overconfident()
    t = fit_temperature(logits, targets)
    assert 2.5 < t < 3.5
    raw = decide(logits, Calibration(), None)
    fitted = decide(logits, Calibration(temperature=t), None)
    before = expected_calibration_error(raw.confidence, raw.top == targets)
    after = expected_calibration_error(fitted.confidence, fitted.top == targets)
    assert after < before
    assert after < 0.03
    assert torch.equal(raw.top, fitted.top), "temperature never changes the ranking"


def test_oos_class_winning_flags_out_of_scope() -> None:
    logits = torch.tensor([[0.0, 1.0, 5.0], [3.0, 0.0, 1.0]])  # label 2 is oos
    d = decide(logits, Calibration(), oos_index=2)
    assert d.out_of_scope.tolist() == [True, False]
    assert d.top.tolist() == [1, 0], "top stays an in-scope intent"


def test_threshold_stays_within_in_scope_budget() -> None:
    gen = torch.Generator().manual_seed(1)
    n_in, n_oos = 1000, 100
    in_logits = torch.randn((n_in, 4), generator=gen) + torch.eye(4)[torch.arange(n_in) % 4] * 4
    oos_logits = torch.randn((n_oos, 4), generator=gen)
    logits = torch.cat([in_logits, oos_logits])
    targets = torch.cat([torch.arange(n_in) % 4, torch.full((n_oos,), -1)])
    d = decide(logits, Calibration(), None)
    is_oos = targets < 0
    for budget in (0.0, 0.01, 0.05):
        choice = tune_oos_threshold(d, targets, None, budget)
        assert choice.score == "msp"  # no oos label: confidence spends the whole budget
        assert choice.in_scope_loss <= budget
    # With out-of-scope rows marked as such, recall is what the threshold maximises.
    labelled = torch.cat([targets[:n_in], torch.full((n_oos,), 4)])
    padded = torch.cat([logits, torch.full((n_in + n_oos, 1), -50.0)], dim=1)
    d5 = decide(padded, Calibration(), oos_index=4)
    choice = tune_oos_threshold(d5, labelled, 4, 0.02)
    assert choice.threshold is not None and choice.recall > 0.3
    flagged = decide(
        padded, Calibration(oos_score=choice.score, oos_threshold=choice.threshold), 4
    ).out_of_scope
    right = (d5.top == labelled) & ~is_oos
    assert (flagged & right).sum() <= 0.02 * n_in


def test_calibration_json_round_trip() -> None:
    c = Calibration(
        temperature=0.7, oos_score="energy", oos_threshold=-3.5, max_in_scope_loss=0.003
    )
    assert Calibration.from_json(c.to_json()) == c
    with pytest.raises(ValueError):
        Calibration(oos_score="nope")


def test_lowest_cutoff_meets_precision() -> None:
    pairs = [(0.99, True), (0.95, True), (0.9, True), (0.8, False), (0.7, True), (0.6, False)]
    c, precision, count = lowest_cutoff(pairs, 0.75) or (None, None, None)
    assert c == 0.7 and precision == 0.8 and count == 5
    assert lowest_cutoff(pairs, 1.0) == (0.9, 1.0, 3)
    assert lowest_cutoff([(0.5, False)], 0.9) is None
    ThresholdRule(intent="x", ai_min=0.9, monitored_min=0.7)  # the shape suggestions produce
