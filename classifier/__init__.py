"""Intent classifier: a local transformer encoder, a trained head, calibrated confidence.

The inference API the classify activity uses::

    model = IntentModel.load(settings.classifier_model_dir or default_model_dir())  # once
    model.classify("I forgot my password")  # -> models.routing.Classification

``IntentModel.load`` reads a versioned model directory (see :mod:`.artifact`); ``.version`` is
its content hash, reported in every classification. Training, evaluation and threshold
suggestions live in submodules and the ``warmline classifier`` CLI. Models load from local
paths only; no model hub is contacted.
"""

from __future__ import annotations

import os

# Before torch loads its OpenMP runtime: idle OpenMP threads spin only briefly, then sleep. On
# a host whose cores are shared with other busy processes, a thread spinning for long keeps its
# partner (which holds the work) off the CPU: one classification took 100-700 ms instead of
# ~20 ms under load with the runtime's default spin. Sleeping at once (a zero spin) costs the
# opposite: a forward pass is some sixty short parallel regions, and waking the partner for
# each doubled single-utterance latency on an idle host (3.4 -> 7 ms p50 measured here). A spin
# of 10,000 iterations (tens of microseconds) bridges the gaps inside one pass and lets the
# threads sleep between passes; under full load it measured no worse than a zero spin.
# Operators can still set either variable themselves; neither has effect once torch is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from functools import lru_cache
from pathlib import Path

from classifier.model import IntentModel

__all__ = ["IntentModel", "default_model_dir", "load_shared"]


def default_model_dir() -> Path:
    """The bundled default model (head, label map, calibration; encoder referenced as bundled)."""
    return Path(__file__).resolve().parent / "default_model"


@lru_cache(maxsize=4)
def _load_cached(path: str) -> IntentModel:
    return IntentModel.load(path)


def load_shared(path: str | Path | None = None) -> IntentModel:
    """One ``IntentModel`` per directory per process (workers call this from every activity)."""
    return _load_cached(str(Path(path or default_model_dir()).resolve()))
