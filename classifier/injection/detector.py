"""The prompt-injection detector: a calibrated classifier on the bundled encoder, plus rules.

Every customer message is scored before it reaches an AI. The score is the larger of the
classifier's calibrated probability that the message is an injection attempt and 1.0 when a
precise rule matches (``warmline.injection``); ``flagged`` is score >= the threshold chosen on
validation data for a false-positive budget on benign contact-center messages. What a flag
then does (hold, hand over, refuse) is the safety policy's decision, not the detector's.

Model directory (``default_model/``): an intent-model directory with the labels ``benign``
and ``injection`` (``classifier.artifact`` layout, head on the bundled MiniLM), plus
``detector.json`` holding the threshold and how it was chosen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch

from classifier.model import IntentModel, clean_text
from models.safety import InjectionScore
from warmline.injection import rule_hits

INJECTION = "injection"
BENIGN = "benign"
DETECTOR_FILE = "detector.json"
DEFAULT_THRESHOLD = 0.5


def default_detector_dir() -> Path:
    return Path(__file__).resolve().parent / "default_model"


class InjectionDetector:
    """Scores customer messages; thread-safe like the intent model it wraps."""

    def __init__(self, model: IntentModel, threshold: float) -> None:
        if INJECTION not in model.label_map:
            raise ValueError(f"{model.path}: no '{INJECTION}' label in {model.label_map}")
        self.model = model
        self.threshold = threshold
        self.index = model.label_map.index(INJECTION)
        self.version = model.version.replace("intent-", "injection-", 1)

    @classmethod
    def load(
        cls, path: str | Path | None = None, precision: str | None = None
    ) -> InjectionDetector:
        path = Path(path or default_detector_dir())
        model = IntentModel.load(path, precision)
        config_file = path / DETECTOR_FILE
        threshold = DEFAULT_THRESHOLD
        if config_file.is_file():
            threshold = float(json.loads(config_file.read_text(encoding="utf-8"))["threshold"])
        return cls(model, threshold)

    def model_scores(self, texts: Sequence[str]) -> list[float]:
        """Calibrated P(injection) per text (0.0 for a text with no readable content)."""
        logits, has = self.model.logits(texts)
        temperature = self.model.calibration.temperature
        probs = torch.softmax(logits / temperature, dim=-1)[:, self.index]
        return [float(p) if ok else 0.0 for p, ok in zip(probs, has, strict=True)]

    def _one_score(self, text: str) -> float:
        """One message on the unpadded single-utterance path (the latency that matters)."""
        scorer = self.model.scorer
        ids = scorer.tokenizer.encode_one(clean_text(text))
        if not scorer.tokenizer.has_content(ids):
            return 0.0
        with torch.inference_mode():
            logits = scorer.logits_one(ids) / self.model.calibration.temperature
        return float(torch.softmax(logits, dim=-1)[self.index])

    def _verdict(self, text: str, model_score: float | None) -> InjectionScore:
        rules = [hit.rule for hit in rule_hits(text)]
        score = 1.0 if rules else (model_score or 0.0)
        return InjectionScore(
            flagged=score >= self.threshold,
            score=round(score, 6),
            model_score=None if model_score is None else round(model_score, 6),
            rules=rules,
            threshold=self.threshold,
            detector_version=self.version,
        )

    def score_batch(self, texts: Sequence[str]) -> list[InjectionScore]:
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"score_batch() item {index} is {type(text).__name__}, not str")
        texts = list(texts)
        return [self._verdict(t, s) for t, s in zip(texts, self.model_scores(texts), strict=True)]

    def score(self, text: str) -> InjectionScore:
        if not isinstance(text, str):
            raise TypeError(f"score() takes str, got {type(text).__name__}")
        if rule_hits(text):  # a precise rule decides; the encoder pass is not needed
            return self._verdict(text, None)
        return self._verdict(text, self._one_score(text))


@lru_cache(maxsize=2)
def _load_cached(path: str) -> InjectionDetector:
    return InjectionDetector.load(path)


def load_shared_detector(path: str | Path | None = None) -> InjectionDetector:
    """One detector per directory per process."""
    return _load_cached(str(Path(path or default_detector_dir()).resolve()))
