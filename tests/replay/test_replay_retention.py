"""Recorded ``RetentionWorkflow`` histories replay on today's code (no server needed).

A failure means a change to the workflow would break a purge that is running: guard it with
``workflow.patched``. Refresh with ``WARMLINE_RECORD_RETENTION_HISTORIES=
tests/replay/histories_retention pytest tests/integration/test_retention.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.retention import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories_retention").glob("*.json"))


def test_a_retention_history_is_present_and_in_clear() -> None:
    assert HISTORIES
    for path in HISTORIES:
        events = json.loads(path.read_text())["events"]
        started = events[0]["workflowExecutionStartedEventAttributes"]
        assert started["workflowType"]["name"] == "RetentionWorkflow"
        assert "YmluYXJ5L2VuY3J5cHRlZA" not in path.read_text()  # base64 of binary/encrypted


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_retention_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
