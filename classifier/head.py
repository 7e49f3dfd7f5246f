"""Linear classification head on frozen, unit-length sentence embeddings.

Multinomial logistic regression fitted with L-BFGS in torch: on embeddings computed once, a few
hundred full-batch iterations take seconds even for 15,000 utterances, so the L2 strength is
chosen on the validation split from a short grid instead of guessed. Labels are weighted
inversely to their frequency: contact centers collect far more examples of some intents (and of
out-of-scope chatter) than of others, and an unweighted head would let the big ones swallow
unfamiliar phrasings of the small ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WEIGHT_DECAY_GRID = (1e-4, 3e-5, 1e-5, 3e-6)
MAX_ITER = 300


def fit_linear_head(
    x: torch.Tensor, y: torch.Tensor, n_labels: int, weight_decay: float, max_iter: int = MAX_ITER
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight [labels, dim] and bias minimising cross-entropy + weight_decay * |W|^2."""
    counts = torch.bincount(y, minlength=n_labels).float()
    balance = torch.where(counts > 0, counts.sum() / (n_labels * counts.clamp(min=1)), 0.0)
    weight = torch.zeros((n_labels, x.shape[1]), requires_grad=True)
    bias = torch.zeros(n_labels, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (
            F.cross_entropy(F.linear(x, weight, bias), y, weight=balance)
            + weight_decay * weight.pow(2).sum()
        )
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()


def select_linear_head(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    n_labels: int,
    grid: tuple[float, ...] = WEIGHT_DECAY_GRID,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Fit one head per L2 strength; keep the most accurate on validation (stronger on ties)."""
    best: tuple[float, torch.Tensor, torch.Tensor, float] | None = None
    for weight_decay in grid:
        weight, bias = fit_linear_head(x_train, y_train, n_labels, weight_decay)
        accuracy = float((F.linear(x_val, weight, bias).argmax(-1) == y_val).float().mean())
        if best is None or accuracy > best[0]:
            best = (accuracy, weight, bias, weight_decay)
    assert best is not None
    return best[1], best[2], best[3]
