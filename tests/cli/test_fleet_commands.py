"""``warmline fleet`` registry commands against a store in a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.canary import build_rollout
from cli.fleet import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARMLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WARMLINE_DATABASE_URL", raising=False)
    return tmp_path


def listing() -> dict[str, object]:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.output)
    return document


def test_register_weight_retire_and_list(data_dir: Path) -> None:
    args = ["--author", "rm@example.com", "--capability", "order_status=0.97"]
    result = runner.invoke(app, ["register", "care-bot", "2026.11", *args])
    assert result.exit_code == 0, result.output
    assert "registered care-bot:2026.11 as canary weight 0" in result.output
    result = runner.invoke(app, ["set-weight", "care-bot", "2026.11", "0.25", "--author", "rm"])
    assert result.exit_code == 0, result.output
    rows = {row["version"]: row for row in listing()["endpoints"]}  # type: ignore[attr-defined]
    assert rows["2026.11"]["share_percent"] == pytest.approx(20.0)
    result = runner.invoke(app, ["retire", "care-bot", "2026.10", "--author", "rm"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["retire", "care-bot", "2026.11", "--author", "rm"])
    assert result.exit_code == 2 and "carries all" in result.output
    assert listing()["config_version"] == 4


def test_unknown_versions_and_bad_options_are_refused(data_dir: Path) -> None:
    result = runner.invoke(app, ["set-weight", "care-bot", "9.9", "1", "--author", "rm"])
    assert result.exit_code == 2 and "not registered" in result.output
    result = runner.invoke(
        app, ["register", "care-bot", "2026.12", "--author", "rm", "--capability", "x"]
    )
    assert result.exit_code != 0 and "name=number" in result.output


def test_canary_start_options_become_a_rollout_plan() -> None:
    plan = build_rollout("1,5,25,50,100", 600, "10", 30, None)
    assert [s.weight_percent for s in plan.steps] == [1, 5, 25, 50, 100]
    assert {s.min_sample for s in plan.steps} == {10}
    with pytest.raises(typer.BadParameter):
        build_rollout("5,25", 600, "1,2,3", 30, None)
    with pytest.raises(ValueError, match="weights must increase"):
        build_rollout("25,5", 600, "1", 30, None)
