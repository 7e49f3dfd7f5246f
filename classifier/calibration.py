"""Calibrated confidence and the out-of-scope decision, fitted on held-out data.

Why these choices:

* **Temperature scaling** (one scalar dividing the logits, fitted by minimising the negative
  log-likelihood on the held-out split) keeps the ranking of labels, so accuracy is unchanged,
  while making "confidence 0.9" mean right about nine times in ten. One parameter cannot overfit
  a few hundred validation utterances.
* **Confidence** is the calibrated probability of the top *in-scope* intent. When the model has
  an ``oos`` class, its probability mass counts against every intent, so confidence stays the
  probability that the returned intent is right.
* **Out of scope** when the ``oos`` class wins, or when an in-scope score falls below a
  threshold. Two scores are tried: ``msp``, the calibrated confidence itself, and ``energy``,
  ``T * logsumexp(logits / T)`` over the in-scope labels (Liu et al., 2020), which keeps the
  evidence that softmax normalises away and separates out-of-scope queries better after
  fine-tuning; a frozen head tends to favour ``msp``. Each threshold is tuned on validation
  under an explicit budget: at most ``max_in_scope_loss`` of the in-scope validation utterances
  that the model gets right may be flagged. Within the budget the threshold maximises
  out-of-scope recall on validation (lowest threshold on ties), and the score with the higher
  recall wins (``msp`` on ties). Without out-of-scope validation examples, ``msp`` spends the
  whole budget.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

ECE_BINS = 15
DEFAULT_MAX_IN_SCOPE_LOSS = 0.005


OOS_SCORES = ("msp", "energy")


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    oos_score: str = "msp"
    oos_threshold: float | None = None
    """Scores below this are out-of-scope; None: only the ``oos`` class decides."""
    max_in_scope_loss: float = DEFAULT_MAX_IN_SCOPE_LOSS

    def __post_init__(self) -> None:
        if self.oos_score not in OOS_SCORES:
            raise ValueError(f"oos_score must be one of {OOS_SCORES}, not {self.oos_score!r}")
        if not self.temperature > 0:
            raise ValueError("temperature must be positive")

    def to_json(self) -> dict[str, float | str | None]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        threshold = data.get("oos_threshold")
        return cls(
            temperature=float(data.get("temperature", 1.0)),
            oos_score=str(data.get("oos_score", "msp")),
            oos_threshold=None if threshold is None else float(threshold),
            max_in_scope_loss=float(data.get("max_in_scope_loss", DEFAULT_MAX_IN_SCOPE_LOSS)),
        )


@dataclass(frozen=True)
class Decisions:
    """Per utterance: top in-scope label index, its calibrated probability, out-of-scope flag."""

    top: torch.Tensor
    confidence: torch.Tensor
    out_of_scope: torch.Tensor
    oos_wins: torch.Tensor
    scores: dict[str, torch.Tensor]


def decide(logits: torch.Tensor, calibration: Calibration, oos_index: int | None) -> Decisions:
    """Apply temperature, pick the top in-scope intent and the out-of-scope decision."""
    t = calibration.temperature
    scaled = logits.float() / t
    probs = torch.softmax(scaled, dim=-1)
    if oos_index is None:
        confidence, top = probs.max(dim=-1)
        oos_wins = torch.zeros_like(confidence, dtype=torch.bool)
        in_scope_logits = scaled
    else:
        masked = probs.clone()
        masked[..., oos_index] = -1.0
        confidence, top = masked.max(dim=-1)
        oos_wins = probs[..., oos_index] > confidence
        keep = torch.ones(logits.shape[-1], dtype=torch.bool)
        keep[oos_index] = False
        in_scope_logits = scaled[..., keep]
    scores = {"msp": confidence, "energy": t * torch.logsumexp(in_scope_logits, dim=-1)}
    out_of_scope = oos_wins.clone()
    if calibration.oos_threshold is not None:
        out_of_scope |= scores[calibration.oos_score] < calibration.oos_threshold
    return Decisions(top, confidence, out_of_scope, oos_wins, scores)


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Temperature minimising validation NLL: coarse log-grid, then golden-section refinement."""
    logits = logits.float()

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), targets))

    grid = [i / 20 for i in range(-60, 61)]  # T from e^-3 to e^3
    best = min(grid, key=nll)
    lo, hi = best - 0.05, best + 0.05
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(30):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def expected_calibration_error(
    confidence: torch.Tensor, correct: torch.Tensor, bins: int = ECE_BINS
) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    if confidence.numel() == 0:
        return 0.0
    index = torch.clamp((confidence * bins).long(), max=bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            gap = confidence[in_bin].mean() - correct[in_bin].float().mean()
            total += float(in_bin.float().mean() * gap.abs())
    return total


@dataclass(frozen=True)
class ThresholdChoice:
    score: str
    threshold: float | None
    recall: float
    in_scope_loss: float


def _tune_one(
    score: torch.Tensor,
    decisions: Decisions,
    targets: torch.Tensor,
    is_oos: torch.Tensor,
    max_in_scope_loss: float,
    name: str,
) -> ThresholdChoice:
    n_in, n_oos = int((~is_oos).sum()), int(is_oos.sum())
    kept_right = (decisions.top == targets) & ~decisions.oos_wins & ~is_oos
    open_oos = is_oos & ~decisions.oos_wins
    # Sweep thresholds between consecutive observed scores, ascending: a row is flagged once
    # the threshold passes its score, so losses and hits are running counts in score order.
    order = torch.argsort(score)
    ordered = score[order]
    lost = torch.cumsum(kept_right[order].long(), 0)
    hits = torch.cumsum(open_oos[order].long(), 0)
    # Cut only after the last of equal scores: tied rows are flagged together or not at all.
    cut = torch.ones_like(ordered, dtype=torch.bool)
    cut[:-1] = ordered[1:] > ordered[:-1]
    ok = cut & (lost <= max_in_scope_loss * n_in)
    base_hits = int((is_oos & decisions.oos_wins).sum())
    if n_in == 0 or not bool(ok.any()):
        return ThresholdChoice(name, None, base_hits / n_oos if n_oos else 0.0, 0.0)
    candidates = torch.nonzero(ok).flatten()
    if n_oos:
        best_hits = int(hits[candidates].max())
        if best_hits == 0:
            return ThresholdChoice(name, None, base_hits / n_oos, 0.0)
        pick = int(candidates[hits[candidates] == best_hits][0])
    else:
        pick = int(candidates[-1])
    above = float(ordered[pick + 1]) if pick + 1 < len(ordered) else float(ordered[pick]) + 1e-6
    threshold = (float(ordered[pick]) + above) / 2
    recall = (base_hits + int(hits[pick])) / n_oos if n_oos else 0.0
    return ThresholdChoice(name, threshold, recall, int(lost[pick]) / n_in)


def tune_oos_threshold(
    decisions: Decisions,
    targets: torch.Tensor,
    oos_index: int | None,
    max_in_scope_loss: float = DEFAULT_MAX_IN_SCOPE_LOSS,
) -> ThresholdChoice:
    """Score and threshold under the in-scope budget described in the module docstring.

    ``decisions`` come from :func:`decide` without a threshold; ``targets`` holds label
    indices, rows equal to ``oos_index`` are out-of-scope.
    """
    if oos_index is None:
        is_oos = torch.zeros_like(targets, dtype=torch.bool)
    else:
        is_oos = targets == oos_index
    choices = [
        _tune_one(decisions.scores[name], decisions, targets, is_oos, max_in_scope_loss, name)
        for name in OOS_SCORES
    ]
    # max() keeps the first of equals, and OOS_SCORES lists msp first.
    return max(choices, key=lambda c: c.recall)
