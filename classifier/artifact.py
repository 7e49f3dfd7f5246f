"""The versioned model directory: what a trained intent model is on disk.

Layout (``FORMAT`` 1)::

    model.json          format, kind, encoder reference, pooling, max_length
    labels.json         label map: labels in head order, which one is out-of-scope
    head.safetensors    classification head: weight [labels, dim], bias [labels]
    calibration.json    temperature, out-of-scope threshold, the budget it was tuned with
    metrics.json        validation (and test) figures; informative, not part of the version
    encoder/            fine-tuned encoder and tokenizer (absent when the encoder is referenced)

The version is ``intent-`` plus the first 12 hex digits of a SHA-256 over the files that decide
predictions (everything above but ``metrics.json``) and, for a referenced encoder, over that
encoder's files. Re-evaluating a model therefore never changes its version, while any change to
weights, labels or calibration does. A directory holding a plain
``AutoModelForSequenceClassification`` (no ``model.json``) is accepted as well: its label map
comes from ``config.id2label``, its calibration from an optional ``calibration.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from classifier.calibration import Calibration
from classifier.encoder import BUNDLED_ENCODER, MAX_LENGTH, resolve_encoder
from warmline.intents import OUT_OF_SCOPE

FORMAT = 1
KIND_HEAD = "embedding-head"
KIND_SEQUENCE = "sequence-classification"
MODEL_FILE = "model.json"
LABELS_FILE = "labels.json"
HEAD_FILE = "head.safetensors"
CALIBRATION_FILE = "calibration.json"
METRICS_FILE = "metrics.json"
ENCODER_DIR = "encoder"
VERSION_PREFIX = "intent-"
_NOT_VERSIONED = {METRICS_FILE, "README.md"}


@dataclass
class ModelSpec:
    """Everything in a model directory except tensors of a bundled encoder."""

    kind: str
    labels: list[str]
    oos_label: str | None
    calibration: Calibration
    encoder_ref: str = BUNDLED_ENCODER
    max_length: int = MAX_LENGTH

    @property
    def oos_index(self) -> int | None:
        return self.labels.index(self.oos_label) if self.oos_label in self.labels else None


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save_head(
    out_dir: Path,
    spec: ModelSpec,
    weight: torch.Tensor,
    bias: torch.Tensor,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Write an embedding-head model directory (the encoder, if fine-tuned, is saved apart)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(
        out_dir / MODEL_FILE,
        {
            "format": FORMAT,
            "kind": KIND_HEAD,
            "encoder": spec.encoder_ref,
            "pooling": "mean",
            "normalize": True,
            "max_length": spec.max_length,
        },
    )
    _write_json(out_dir / LABELS_FILE, {"labels": spec.labels, "oos_label": spec.oos_label})
    tensors = {"weight": weight.detach().float().contiguous(), "bias": bias.detach().float()}
    save_file(tensors, str(out_dir / HEAD_FILE), metadata={"format": str(FORMAT)})
    (out_dir / HEAD_FILE).chmod(0o644)  # safetensors writes owner-only; the model is shared
    save_calibration(out_dir, spec.calibration)
    if metrics is not None:
        save_metrics(out_dir, metrics)


def save_calibration(out_dir: Path, calibration: Calibration) -> None:
    _write_json(out_dir / CALIBRATION_FILE, calibration.to_json())


def save_metrics(out_dir: Path, metrics: dict[str, Any]) -> None:
    _write_json(out_dir / METRICS_FILE, metrics)


def read_metrics(model_dir: Path) -> dict[str, Any]:
    path = model_dir / METRICS_FILE
    return dict(_read_json(path)) if path.is_file() else {}


def read_spec(model_dir: Path) -> ModelSpec:
    """The spec of a Warmline model dir, or of a bare sequence-classification dir."""
    calibration_path = model_dir / CALIBRATION_FILE
    calibration = (
        Calibration.from_json(_read_json(calibration_path))
        if calibration_path.is_file()
        else Calibration()
    )
    model_file = model_dir / MODEL_FILE
    if model_file.is_file():
        meta = _read_json(model_file)
        if meta.get("format") != FORMAT or meta.get("kind") != KIND_HEAD:
            raise ValueError(f"{model_dir}: unsupported model format {meta!r}")
        label_map = _read_json(model_dir / LABELS_FILE)
        return ModelSpec(
            kind=KIND_HEAD,
            labels=list(label_map["labels"]),
            oos_label=label_map.get("oos_label"),
            calibration=calibration,
            encoder_ref=str(meta["encoder"]),
            max_length=int(meta.get("max_length", MAX_LENGTH)),
        )
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{model_dir}: neither {MODEL_FILE} nor config.json found")
    config = _read_json(config_path)
    id2label = config.get("id2label") or {}
    labels = [str(id2label[k]) for k in sorted(id2label, key=int)]
    if not labels:
        raise ValueError(f"{model_dir}: config.json has no id2label")
    return ModelSpec(
        kind=KIND_SEQUENCE,
        labels=labels,
        oos_label=OUT_OF_SCOPE if OUT_OF_SCOPE in labels else None,
        calibration=calibration,
        encoder_ref=str(model_dir),
        max_length=MAX_LENGTH,
    )


def load_head(model_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = load_file(str(model_dir / HEAD_FILE))
    return tensors["weight"], tensors["bias"]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=32)
def _cached_digest(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime so the 90 MB bundled encoder is hashed once per process.
    return _file_digest(Path(path))


def _tree_digest(root: Path, skip: set[str]) -> list[str]:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in skip or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        stat = path.stat()
        lines.append(f"{rel}\0{_cached_digest(str(path), stat.st_size, stat.st_mtime_ns)}")
    return lines


def content_version(prefix: str, model_dir: Path, encoder_dir: Path | None) -> str:
    """``prefix`` + 12 hex digits over a model directory (bar metrics and README) and the
    encoder it references: what any Warmline model reports as its version."""
    lines = _tree_digest(model_dir, _NOT_VERSIONED)
    if encoder_dir is not None:
        lines += [f"encoder:{line}" for line in _tree_digest(encoder_dir, {"README.md"})]
    return prefix + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:12]


def model_version(model_dir: Path, spec: ModelSpec | None = None) -> str:
    """Content hash of everything that decides predictions (see the module docstring)."""
    spec = spec or read_spec(model_dir)
    encoder_dir = None
    if spec.kind == KIND_HEAD:
        resolved = resolve_encoder(spec.encoder_ref, model_dir).resolve()
        if not resolved.is_relative_to(model_dir.resolve()):
            # A referenced encoder (bundled or elsewhere) is part of the model: hash it too.
            encoder_dir = resolved
    return content_version(VERSION_PREFIX, model_dir, encoder_dir)
