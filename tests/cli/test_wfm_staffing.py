"""``warmline wfm staffing --json``: the exact keys the issue names, from the Erlang C module."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app

KEYS = {
    "traffic_erlangs",
    "raw_agents",
    "scheduled_agents",
    "service_level",
    "p_wait",
    "asa_s",
    "occupancy",
}


def run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["wfm", "staffing", *args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == KEYS
    return body


def test_worked_example_with_occupancy_cap_and_shrinkage() -> None:
    body = run(
        "--arrivals",
        "100",
        "--interval-seconds",
        "1800",
        "--aht-seconds",
        "180",
        "--target-sl",
        "0.8",
        "--target-answer-seconds",
        "20",
        "--max-occupancy",
        "0.85",
        "--shrinkage",
        "0.3",
    )
    assert body["traffic_erlangs"] == 10.0
    assert body["raw_agents"] == 14 and body["scheduled_agents"] == 20
    assert body["service_level"] == 0.88835 and body["p_wait"] == 0.174132
    assert body["asa_s"] == 7.836 and body["occupancy"] == 0.714286


def test_exact_limits_survive_the_command_line() -> None:
    on_cap = run(
        "--arrivals",
        "153",
        "--interval-seconds",
        "1800",
        "--aht-seconds",
        "180",
        "--target-sl",
        "0",
        "--max-occupancy",
        "0.85",
        "--shrinkage",
        "0.3",
    )
    assert on_cap["raw_agents"] == 18 and on_cap["occupancy"] == 0.85
    assert on_cap["scheduled_agents"] == 26  # ceil(18 / 0.7) = ceil(25.71)
    given = run(
        "--arrivals",
        "100",
        "--interval-seconds",
        "1800",
        "--aht-seconds",
        "180",
        "--agents",
        "21",
        "--shrinkage",
        "0.3",
    )
    assert given["raw_agents"] == 21 and given["scheduled_agents"] == 30


def test_understaffed_head_count_prints_null_asa() -> None:
    body = run(
        "--arrivals", "100", "--interval-seconds", "1800", "--aht-seconds", "180", "--agents", "9"
    )
    assert body["asa_s"] is None and body["p_wait"] == 1.0


def test_bad_input_is_refused_with_the_reason() -> None:
    result = CliRunner().invoke(
        app,
        [
            "wfm",
            "staffing",
            "--arrivals",
            "10",
            "--interval-seconds",
            "0",
            "--aht-seconds",
            "180",
            "--json",
        ],
    )
    assert result.exit_code != 0
    assert "interval-seconds" in result.output
