"""Train, calibrate and save an intent model from labelled utterances.

One procedure for both modes, so a frozen-head model and a fine-tuned one are judged alike:

1. Hold out a validation split (the ``--val`` file, or a stratified share of the training file).
2. Frozen head: embed once with the pre-trained encoder, fit a logistic-regression head.
   Fine-tune: train encoder and head together (:mod:`classifier.finetune`) and save
   the encoder into the model directory, where inference loads it from.
3. Validation logits come from the *inference* path of the saved encoder, then temperature and
   out-of-scope threshold are fitted on them (:mod:`classifier.calibration`).
4. Write the directory (:mod:`classifier.artifact`) with validation figures, and test
   figures (including latency) when a test set is given.

Validation labels the training data lacks are treated as out-of-scope: for this model they are.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from classifier.artifact import (
    ENCODER_DIR,
    MODEL_FILE,
    ModelSpec,
    model_version,
    save_head,
    save_metrics,
)
from classifier.calibration import (
    DEFAULT_MAX_IN_SCOPE_LOSS,
    Calibration,
    decide,
    expected_calibration_error,
    fit_temperature,
    tune_oos_threshold,
)
from classifier.data import LabelledData, require_trainable, stratified_split
from classifier.encoder import BUNDLED_ENCODER, SentenceEncoder, resolve_encoder
from classifier.evaluation import Scored, evaluate, figures
from classifier.finetune import FineTuneConfig, fine_tune
from classifier.head import select_linear_head
from warmline.intents import OUT_OF_SCOPE

DEFAULT_VAL_FRACTION = 0.15


@dataclass(frozen=True)
class TrainOptions:
    fine_tune: bool = False
    base_model: str = BUNDLED_ENCODER
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)
    val_fraction: float = DEFAULT_VAL_FRACTION
    max_in_scope_loss: float = DEFAULT_MAX_IN_SCOPE_LOSS
    seed: int = 0
    progress: bool = False


@dataclass
class TrainResult:
    out_dir: Path
    version: str
    metrics: dict[str, Any]


StepCallback = Callable[[int, int, float], None]


def _targets(data: LabelledData, labels: list[str]) -> torch.Tensor:
    index = {label: i for i, label in enumerate(labels)}
    fallback = index.get(OUT_OF_SCOPE, -1)
    return torch.tensor([index.get(label, fallback) for label in data.labels], dtype=torch.long)


def _prepare_out_dir(out_dir: Path) -> None:
    """Refuse to overwrite anything but a model directory; drop a stale fine-tuned encoder."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MODEL_FILE).is_file():
        raise FileExistsError(f"{out_dir} exists and is not a model directory")
    if (out_dir / ENCODER_DIR).is_dir():
        shutil.rmtree(out_dir / ENCODER_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)


def _val_with_known_labels(val: LabelledData, labels: list[str]) -> tuple[LabelledData, int]:
    known = set(labels)
    unknown = sum(label not in known for label in val.labels)
    relabelled = [label if label in known else OUT_OF_SCOPE for label in val.labels]
    return LabelledData(list(val.texts), relabelled), unknown


def _calibrate(
    val_logits: torch.Tensor, val_targets: torch.Tensor, labels: list[str], max_loss: float
) -> tuple[Calibration, dict[str, Any]]:
    """Fit temperature, then score and threshold; also return figures for the record."""
    oos_index = labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in labels else None
    usable = val_targets >= 0  # -1: a label the model lacks, and no oos class to stand for it
    logits, targets = val_logits[usable], val_targets[usable]
    temperature = fit_temperature(logits, targets)
    in_scope = targets != (-1 if oos_index is None else oos_index)
    raw = decide(logits, Calibration(), oos_index)
    ece_raw = expected_calibration_error(raw.confidence[in_scope], (raw.top == targets)[in_scope])
    at_t = decide(logits, Calibration(temperature=temperature), oos_index)
    choice = tune_oos_threshold(at_t, targets, oos_index, max_loss)
    calibration = Calibration(temperature, choice.score, choice.threshold, max_loss)
    record = {
        "ece_uncalibrated": ece_raw,
        "val_oos_recall": choice.recall,
        "val_in_scope_flagged": choice.in_scope_loss,
    }
    return calibration, record


@dataclass
class _Trained:
    """A head, the encoder it sits on (as inference will load it) and validation embeddings."""

    weight: torch.Tensor
    bias: torch.Tensor
    encoder: SentenceEncoder
    encoder_ref: str
    x_val: torch.Tensor
    val_seconds: float
    details: dict[str, Any]


def _embed_timed(
    encoder: SentenceEncoder, texts: list[str], progress: bool
) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    return encoder.embed(texts, progress=progress), time.perf_counter() - start


def _frozen_head(
    train: LabelledData, val: LabelledData, labels: list[str], options: TrainOptions
) -> _Trained:
    encoder = SentenceEncoder(resolve_encoder(options.base_model))
    x_train = encoder.embed(train.texts, progress=options.progress)
    x_val, seconds = _embed_timed(encoder, val.texts, options.progress)
    y_train, y_val = _targets(train, labels), _targets(val, labels)
    known = y_val >= 0
    weight, bias, weight_decay = select_linear_head(
        x_train, y_train, x_val[known], y_val[known], len(labels)
    )
    details = {"mode": "frozen-head", "weight_decay": weight_decay}
    return _Trained(weight, bias, encoder, options.base_model, x_val, seconds, details)


def _fine_tuned(
    train: LabelledData,
    val: LabelledData,
    labels: list[str],
    options: TrainOptions,
    out_dir: Path,
    on_step: StepCallback | None,
) -> _Trained:
    tuned = fine_tune(
        resolve_encoder(options.base_model),
        train.texts,
        _targets(train, labels),
        len(labels),
        options.finetune,
        on_step,
        labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in labels else None,
    )
    tuned.model.save_pretrained(str(out_dir / ENCODER_DIR), safe_serialization=True)
    tuned.tokenizer.save(out_dir / ENCODER_DIR)
    details = {
        "mode": "fine-tune",
        "finetune": asdict(options.finetune),
        "steps": tuned.steps,
        "frozen_layers": tuned.frozen_layers,
        "fine_tune_seconds": round(tuned.seconds, 1),
    }
    weight, bias = tuned.weight, tuned.bias
    del tuned
    # Validation goes through the saved encoder on the inference path, exactly as served.
    encoder = SentenceEncoder(out_dir / ENCODER_DIR)
    x_val, seconds = _embed_timed(encoder, val.texts, options.progress)
    return _Trained(weight, bias, encoder, ENCODER_DIR, x_val, seconds, details)


def train_model(
    train: LabelledData,
    out_dir: str | Path,
    val: LabelledData | None = None,
    test: LabelledData | None = None,
    options: TrainOptions = TrainOptions(),
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train, calibrate and write a model directory; see the module docstring."""
    out_dir = Path(out_dir)
    require_trainable(train, "training data")
    started = time.perf_counter()
    val_source = "file"
    if val is None:
        train, val = stratified_split(train, options.val_fraction, options.seed)
        val_source = f"stratified {options.val_fraction:.0%} of training data"
    labels = train.intents + ([OUT_OF_SCOPE] if train.has_oos else [])
    val, unknown = _val_with_known_labels(val, labels)
    _prepare_out_dir(out_dir)
    torch.manual_seed(options.seed)
    if options.fine_tune:
        trained = _fine_tuned(train, val, labels, options, out_dir, on_step)
    else:
        trained = _frozen_head(train, val, labels, options)

    val_logits = torch.nn.functional.linear(trained.x_val, trained.weight, trained.bias)
    y_val = _targets(val, labels)
    calibration, record = _calibrate(val_logits, y_val, labels, options.max_in_scope_loss)
    spec = ModelSpec(
        kind="embedding-head",
        labels=labels,
        oos_label=OUT_OF_SCOPE if train.has_oos else None,
        calibration=calibration,
        encoder_ref=trained.encoder_ref,
    )
    save_head(out_dir, spec, trained.weight, trained.bias)
    version = model_version(out_dir, spec)
    tokenizer = trained.encoder.tokenizer
    has_content = [tokenizer.has_content(s) for s in tokenizer.encode(val.texts)]
    decisions = decide(val_logits, calibration, spec.oos_index)
    scored = Scored(val, decisions, has_content, labels, trained.val_seconds)
    metrics: dict[str, Any] = {
        "version": version,
        "base_model": options.base_model,
        "labels": len(labels),
        "train": {
            "examples": len(train),
            "oos_examples": train.labels.count(OUT_OF_SCOPE),
            "seconds": round(time.perf_counter() - started, 1),
            **trained.details,
        },
        "calibration": {**calibration.to_json(), **record},
        "validation": {"source": val_source, "unknown_labels_as_oos": unknown, **figures(scored)},
    }
    del trained
    if test is not None:
        from classifier.model import IntentModel

        metrics["test"] = evaluate(IntentModel.load(out_dir), test)
    save_metrics(out_dir, metrics)
    return TrainResult(out_dir=out_dir, version=version, metrics=metrics)
