"""Training on a CLINC150 subset, the artifact round trip, calibration, other model kinds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertModel

from classifier import IntentModel
from classifier.artifact import CALIBRATION_FILE, METRICS_FILE, model_version
from classifier.data import LabelledData
from classifier.encoder import bundled_encoder_path
from classifier.evaluation import evaluate
from classifier.finetune import FineTuneConfig, supervised_contrastive
from classifier.training import TrainOptions, train_model

from .conftest import SUBSET_INTENTS


def test_frozen_head_far_above_chance(
    clinc_model: IntentModel, clinc_subset: dict[str, LabelledData]
) -> None:
    figures = evaluate(clinc_model, clinc_subset["test"], latency_samples=20)
    chance = 1 / SUBSET_INTENTS
    assert figures["accuracy"] > max(0.8, 10 * chance)
    assert figures["oos_recall"] > 0.5
    assert figures["latency_p95_ms"] > 0


def test_calibration_reduces_or_keeps_ece(clinc_model_dir: Path) -> None:
    metrics = json.loads((clinc_model_dir / METRICS_FILE).read_text())
    assert metrics["validation"]["ece"] <= metrics["calibration"]["ece_uncalibrated"] + 1e-9
    assert metrics["calibration"]["temperature"] > 0


def test_round_trip_same_predictions_and_version(
    clinc_model: IntentModel,
    clinc_model_dir: Path,
    clinc_subset: dict[str, LabelledData],
    tmp_path: Path,
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(clinc_model_dir, copy)
    reloaded = IntentModel.load(copy)
    assert reloaded.version == clinc_model.version == model_version(clinc_model_dir)
    texts = clinc_subset["test"].texts[:40]
    assert reloaded.classify_batch(texts) == clinc_model.classify_batch(texts)
    # metrics.json is informative: rewriting it leaves the version alone...
    (copy / METRICS_FILE).write_text("{}")
    assert IntentModel.load(copy).version == clinc_model.version
    # ...while any change to the calibration is a new version.
    calibration = json.loads((copy / CALIBRATION_FILE).read_text())
    calibration["temperature"] *= 1.01
    (copy / CALIBRATION_FILE).write_text(json.dumps(calibration))
    assert IntentModel.load(copy).version != clinc_model.version


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer BERT with the MiniLM tokenizer: fast to fine-tune."""
    out = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
    AutoTokenizer.from_pretrained(bundled_encoder_path(), local_files_only=True).save_pretrained(
        out
    )
    return out


def test_fine_tune_saves_encoder_in_model_dir(tiny_bert: Path, tmp_path: Path) -> None:
    data = LabelledData(
        [
            "reset my password",
            "forgot my password",
            "password locked out",
            "refund my order",
            "i want my money back",
            "refund please",
            "what's the weather",
            "tell me a joke",
        ]
        * 3,
        ["password", "password", "password", "refund", "refund", "refund", "oos", "oos"] * 3,
    )
    options = TrainOptions(
        fine_tune=True,
        base_model=str(tiny_bert),
        finetune=FineTuneConfig(epochs=2, batch_size=8, frozen_layers=1),
    )
    result = train_model(data, tmp_path / "ft", options=options)
    assert (tmp_path / "ft" / "encoder" / "model.safetensors").is_file()
    assert result.metrics["train"]["frozen_layers"] == 1
    model = IntentModel.load(tmp_path / "ft")
    assert model.version == result.version
    assert model.labels == ["password", "refund"]
    assert model.classify("forgot my password").model_version == result.version


def test_fine_tune_with_contrastive_term(tiny_bert: Path, tmp_path: Path) -> None:
    data = LabelledData(
        ["reset my password", "forgot my password", "refund my order", "refund please"] * 3
        + ["what's the weather", "tell me a joke"],
        ["password", "password", "refund", "refund"] * 3 + ["oos", "oos"],
    )
    config = FineTuneConfig(epochs=2, batch_size=4, frozen_layers=1, contrastive_weight=0.3)
    options = TrainOptions(fine_tune=True, base_model=str(tiny_bert), finetune=config)
    result = train_model(data, tmp_path / "ft", options=options)
    assert result.metrics["train"]["finetune"]["contrastive_weight"] == 0.3
    assert IntentModel.load(tmp_path / "ft").classify("refund please").intent in [
        "password",
        "refund",
    ]


def test_supervised_contrastive_pulls_same_label_together() -> None:
    targets = torch.tensor([0, 0, 1, 1, 2, 2])
    apart = torch.eye(6)  # every row orthogonal to every other
    grouped = torch.nn.functional.normalize(torch.eye(6)[[0, 0, 2, 2, 4, 4]] + 0.01 * apart, dim=-1)
    assert supervised_contrastive(grouped, targets, 0.1, None) < supervised_contrastive(
        apart, targets, 0.1, None
    )
    # Label 2 as negatives only: its rows are no anchors; without positives the loss is zero.
    assert float(supervised_contrastive(apart, torch.tensor([0, 1, 2, 2, 3, 4]), 0.1, 2)) == 0.0


def test_sequence_classification_dir_is_accepted(tiny_bert: Path, tmp_path: Path) -> None:
    config = BertConfig.from_pretrained(tiny_bert)
    config.id2label = {0: "billing_inquiry", 1: "oos", 2: "refund_request"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(tmp_path)
    model = IntentModel.load(tmp_path)
    assert model.labels == ["billing_inquiry", "refund_request"]
    result = model.classify("why is my bill so high")
    assert result.intent in model.labels
    assert len(model.classify_batch(["a", "", "b"])) == 3
