"""``warmline classifier`` commands through Typer's runner, on a tiny CSV, with --json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.example_data import build_example_rows
from cli.classifier import app
from models.routing import ThresholdRule

INTENTS = ("password_reset", "refund_request", "store_hours", "lost_card", "oos")


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def tiny_csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("csv")
    splits = build_example_rows()
    out = {}
    for name, per_label in (("train", 16), ("test", 8)):
        rows: list[tuple[str, str]] = []
        for label in INTENTS:
            rows += [r for r in splits[name] if r[1] == label][:per_label]
        out[name] = _write(root / f"{name}.csv", rows)
    return out


@pytest.fixture(scope="module")
def trained(tiny_csvs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli_model") / "model"
    result = CliRunner().invoke(
        app, ["train", "--data", str(tiny_csvs["train"]), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["version"].startswith("intent-")
    assert metrics["labels"] == len(INTENTS)
    return out


def test_evaluate_json(trained: Path, tiny_csvs: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            str(trained),
            "--data",
            str(tiny_csvs["test"]),
            "--json",
            "--latency-samples",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in (
        "accuracy",
        "macro_f1",
        "ece",
        "oos_precision",
        "oos_recall",
        "latency_p50_ms",
        "latency_p95_ms",
    ):
        assert key in figures
    assert figures["accuracy"] > 0.6


def test_predict_json(trained: Path) -> None:
    result = CliRunner().invoke(
        app, ["predict", "--model", str(trained), "I lost my credit card", "--json"]
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["intent"] == "lost_card"
    assert set(row) == {"intent", "confidence", "out_of_scope", "model_version", "source"}


def test_suggest_thresholds_json(trained: Path, tiny_csvs: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app,
        [
            "suggest-thresholds",
            "--model",
            str(trained),
            "--data",
            str(tiny_csvs["test"]),
            "--precision",
            "0.9",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    proposal = json.loads(result.stdout)
    rules = [ThresholdRule.model_validate(r) for r in proposal["thresholds"]]
    assert rules and rules[0].intent == "*"
    assert all(r.monitored_min <= r.ai_min for r in rules)


def test_bad_csv_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("utterance,intent\nhello,greeting\n")
    result = CliRunner().invoke(app, ["train", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "text,label" in result.output


def test_make_example_data(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["make-example-data", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {"train.csv", "val.csv", "test.csv"}
