"""One utterance, tokens to decision, as one TorchScript call (the worker's per-turn path).

Why: the encoder is already one traced call (``lean_bert.TracedLean``), but pooling, the head
and the calibrated decision (``calibration.decide``) were another dozen eager tensor operations,
and each gives the GIL back and must take it again. In a worker the classifier's thread waits at
each of them while the event loop holds the GIL, and a later customer turn waits for that
classification (``bench/classifier/contention`` prints both paths alone and beside a busy Python
thread: in one run p95 144 ms with the eager decision, 83 ms in one call). The graph is recorded
per loaded model (its calibration and out-of-scope class are constants in it), checked against
the eager path before use, and not used if tracing or that check fails.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from classifier.calibration import Calibration, decide
from classifier.encoder import mean_pool, one_thread
from classifier.lean_bert import TracedLean
from classifier.tracing import trace

logger = logging.getLogger(__name__)

_CHECK_IDS = ([101, 2054, 2003, 1996, 3570, 1997, 2026, 2344, 102], [101, 7592, 102])
"""Token sequences of other lengths than the one traced, for the check against the eager path."""


class _Decide(nn.Module):
    def __init__(
        self,
        forward: Any,
        weight: torch.Tensor,
        bias: torch.Tensor,
        calibration: Calibration,
        oos_index: int | None,
    ) -> None:
        super().__init__()
        self.encode = forward
        self.weight, self.bias = weight, bias
        self.calibration, self.oos_index = calibration, oos_index

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        logits = F.linear(mean_pool(self.encode(ids, None), None), self.weight, self.bias)
        d = decide(logits, self.calibration, self.oos_index)
        return torch.stack([d.top.float(), d.confidence, d.out_of_scope.float()], dim=-1)


class OnePass:
    """``(top, confidence, out_of_scope)`` of one unpadded token sequence."""

    def __init__(
        self,
        fast: TracedLean,
        weight: torch.Tensor,
        bias: torch.Tensor,
        calibration: Calibration,
        oos_index: int | None,
    ) -> None:
        self._eager = _Decide(fast.lean, weight, bias, calibration, oos_index)
        probe = torch.full((1, 7), 1000, dtype=torch.long)
        self._graph = trace(self._eager, (probe,))
        self._check()

    def __call__(self, ids: list[int]) -> tuple[int, float, bool]:
        with torch.inference_mode(), one_thread():
            top, confidence, out_of_scope = self._graph(torch.tensor([ids]))[0].tolist()
        return int(top), confidence, out_of_scope > 0.5

    def _check(self) -> None:
        with torch.inference_mode():
            for ids in _CHECK_IDS:
                got = self._graph(torch.tensor([ids]))[0]
                want = self._eager(torch.tensor([ids]))[0]
                if not (got[0] == want[0] and got[2] == want[2]) or abs(got[1] - want[1]) > 1e-4:
                    raise RuntimeError(f"traced decision {got.tolist()} != eager {want.tolist()}")


def one_pass(
    encoder_fast: object,
    weight: torch.Tensor,
    bias: torch.Tensor,
    calibration: Calibration,
    oos_index: int | None,
) -> OnePass | None:
    """The one-call path, or None (the eager decision is used) when the encoder is not traced
    or the graph does not reproduce the eager decision."""
    if not isinstance(encoder_fast, TracedLean):
        return None
    try:
        return OnePass(encoder_fast, weight, bias, calibration, oos_index)
    except Exception as exc:  # tracing is best effort: the eager path stays correct
        logger.warning("intent decision not traced (%s): eager path kept", exc)
        return None
