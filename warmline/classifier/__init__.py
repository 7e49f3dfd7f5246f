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

from functools import lru_cache
from pathlib import Path

from warmline.classifier.model import IntentModel

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
