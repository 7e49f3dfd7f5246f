"""Evaluation figures for a model on labelled data, as ``warmline classifier evaluate`` prints.

Definitions (the same everywhere: CLI, metrics.json, benchmark):

* ``accuracy``: in-scope rows only; right when not flagged out-of-scope and the intent matches
  (so rejecting an in-scope utterance costs accuracy, as in the CLINC150 paper).
* ``macro_f1``: over the labels present in the data or the predictions, with flagged rows
  predicted as ``oos``.
* ``ece``: expected calibration error of ``confidence`` against "the intent is right" on
  in-scope rows (15 bins). ``ece_all`` adds out-of-scope rows, for which any intent is wrong.
* ``oos_precision`` / ``oos_recall``: of the out-of-scope flag, when the data has ``oos`` rows.
* ``latency_p50_ms`` / ``latency_p95_ms``: one ``classify()`` call, text to calibrated label.
* ``throughput_per_s``: utterances per second through ``classify_batch``-style batching.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from classifier.calibration import Decisions, decide, expected_calibration_error
from classifier.data import LabelledData
from classifier.model import IntentModel
from warmline.intents import OUT_OF_SCOPE

LATENCY_SAMPLES = 200
LATENCY_WARMUP = 10


@dataclass
class Scored:
    """Decisions for every row of a data set, with the labels they are judged against."""

    data: LabelledData
    decisions: Decisions
    has_content: list[bool]
    labels: list[str]
    seconds: float

    def predicted_intents(self) -> list[str]:
        return [self.labels[int(i)] for i in self.decisions.top]

    def flagged(self) -> list[bool]:
        return [
            bool(flag) or not ok
            for flag, ok in zip(self.decisions.out_of_scope.tolist(), self.has_content, strict=True)
        ]


def score(model: IntentModel, data: LabelledData) -> Scored:
    start = time.perf_counter()
    logits, has = model.logits(data.texts)
    seconds = time.perf_counter() - start
    decisions = decide(logits, model.calibration, model.oos_index)
    return Scored(data, decisions, has, model.label_map, seconds)


def _macro_f1(truth: list[str], predicted: list[str]) -> float:
    labels = sorted(set(truth) | set(predicted))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for t, p in zip(truth, predicted, strict=True):
        if t == p:
            tp[t] += 1
        else:
            fp[p] += 1
            fn[t] += 1
    scores = []
    for label in labels:
        denom = 2 * tp[label] + fp[label] + fn[label]
        scores.append(2 * tp[label] / denom if denom else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def figures(scored: Scored) -> dict[str, Any]:
    """Accuracy, macro-F1, ECE and out-of-scope precision/recall (definitions above)."""
    truth = scored.data.labels
    intents = scored.predicted_intents()
    flagged = scored.flagged()
    final = [OUT_OF_SCOPE if f else i for f, i in zip(flagged, intents, strict=True)]
    in_scope = [t != OUT_OF_SCOPE for t in truth]
    conf = scored.decisions.confidence.clone()
    conf[~torch.tensor(scored.has_content, dtype=torch.bool)] = 0.0
    right_intent = torch.tensor(
        [t == i and ok for t, i, ok in zip(truth, intents, scored.has_content, strict=True)]
    )
    mask = torch.tensor(in_scope, dtype=torch.bool)
    n_in = int(mask.sum())
    out: dict[str, Any] = {
        "n": len(truth),
        "n_in_scope": n_in,
        "n_oos": len(truth) - n_in,
        "accuracy": (
            sum(f == t for f, t, s in zip(final, truth, in_scope, strict=True) if s) / n_in
            if n_in
            else None
        ),
        "macro_f1": _macro_f1(truth, final),
        "ece": expected_calibration_error(conf[mask], right_intent[mask]) if n_in else None,
        "ece_all": expected_calibration_error(conf, right_intent),
        "flagged_rate": sum(flagged) / len(flagged) if flagged else 0.0,
    }
    n_oos = out["n_oos"]
    if n_oos:
        hits = sum(f and not s for f, s in zip(flagged, in_scope, strict=True))
        out["oos_recall"] = hits / n_oos
        out["oos_precision"] = hits / sum(flagged) if sum(flagged) else 0.0
    out["throughput_per_s"] = len(truth) / scored.seconds if scored.seconds > 0 else None
    return out


def single_latency(
    model: IntentModel, texts: list[str], samples: int = LATENCY_SAMPLES
) -> dict[str, float]:
    """p50/p95 of one ``classify()`` call, cycling through ``texts`` after a short warm-up."""
    if not texts:
        return {}
    for text in texts[:LATENCY_WARMUP]:
        model.classify(text)
    timings = []
    for k in range(samples):
        text = texts[k % len(texts)]
        start = time.perf_counter()
        model.classify(text)
        timings.append(time.perf_counter() - start)
    ms = np.array(timings) * 1000
    return {
        "latency_p50_ms": float(np.percentile(ms, 50)),
        "latency_p95_ms": float(np.percentile(ms, 95)),
        "latency_samples": float(samples),
    }


def evaluate(
    model: IntentModel, data: LabelledData, latency_samples: int = LATENCY_SAMPLES
) -> dict[str, Any]:
    """All figures for ``model`` on ``data`` (latency skipped when ``latency_samples`` is 0)."""
    result = figures(score(model, data))
    if latency_samples:
        result.update(single_latency(model, data.texts, latency_samples))
    result["model_version"] = model.version
    result["numeric_precision"] = model.precision
    return result
