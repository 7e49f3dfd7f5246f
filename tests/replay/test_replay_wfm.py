"""Recorded ``WfmIntervalRollupWorkflow`` histories replay on today's code (no server needed).

Refresh after a deliberate change with
``WARMLINE_RECORD_WFM_HISTORIES=1 pytest tests/integration/test_wfm_rollup.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.wfm import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories_wfm").glob("*.json"))


def test_the_rollup_workflow_has_histories() -> None:
    names = set()
    for path in HISTORIES:
        events = json.loads(path.read_text())["events"]
        names.add(events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])
    assert names == {"WfmIntervalRollupWorkflow"} and len(HISTORIES) >= 2


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_wfm_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
