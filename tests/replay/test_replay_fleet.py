"""Recorded fleet workflow histories replay on today's code (no server needed).

A failure means a change to ``CanaryRolloutWorkflow``, ``ABTestWorkflow`` or
``RollbackWorkflow`` would break rollouts already running: version it with
``workflow.patched``. Refresh after a deliberate change with
``WARMLINE_RECORD_FLEET_HISTORIES=1 pytest tests/fleet``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from tests.replay.replayer import warmline_replayer
from workers.fleet import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories_fleet").glob("*.json"))
MAX_TOTAL_BYTES = 240_000


def test_each_fleet_workflow_type_has_a_history() -> None:
    types = set()
    for path in HISTORIES:
        events = json.loads(path.read_text())["events"]
        types.add(events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])
    assert types == {"CanaryRolloutWorkflow", "ABTestWorkflow", "RollbackWorkflow"}
    assert sum(path.stat().st_size for path in HISTORIES) < MAX_TOTAL_BYTES


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_fleet_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await warmline_replayer(WORKFLOWS).replay_workflow(history)
