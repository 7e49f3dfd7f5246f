"""Recorded ``RoutingCalibrationWorkflow`` histories replay on today's code (no server needed).

A failure means a change to the workflow would break a calibration run in flight: guard it
with ``workflow.patched``. Refresh with ``WARMLINE_RECORD_LEARNING_HISTORIES=
tests/replay/histories_learning pytest tests/integration/test_calibration.py -k schedule``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from workers.learning import WORKFLOWS
from workers.replay import replay_histories

HISTORIES = sorted((Path(__file__).parent / "histories_learning").glob("*.json"))


def test_a_calibration_history_is_present_and_in_clear() -> None:
    assert HISTORIES
    for path in HISTORIES:
        events = json.loads(path.read_text())["events"]
        started = events[0]["workflowExecutionStartedEventAttributes"]
        assert started["workflowType"]["name"] == "RoutingCalibrationWorkflow"
        assert "YmluYXJ5L2VuY3J5cHRlZA" not in path.read_text()  # base64 of binary/encrypted


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_calibration_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    outcome = await replay_histories([(path.name, history)], workflows=WORKFLOWS)
    assert not outcome.failures, outcome.failures
    assert outcome.replayed == {"RoutingCalibrationWorkflow": 1}
