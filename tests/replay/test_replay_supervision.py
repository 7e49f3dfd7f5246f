"""Recorded ``SupervisionPhaseWorkflow`` histories replay on today's code (no server needed).

A failure means a change to the phase workflow would break phase workflows already running
(they live for months): guard the change with ``workflow.patched`` instead. The histories come
from ``tests/workflows/test_supervision_phase.py`` run with
``WARMLINE_RECORD_SUPERVISION_HISTORIES=tests/replay/histories_supervision``: promotion with
sign-off, a lapsed and a refused proposal (with a rejected signal), a demotion, a model reset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from models.supervision_phase import (
    supervision_phase_workflow_id,
)
from tests.replay.replayer import warmline_replayer
from workflows.supervision_phase import SupervisionPhaseWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories_supervision").glob("*.json"))


def test_supervision_histories_are_present() -> None:
    assert len(HISTORIES) >= 4


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_supervision_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(supervision_phase_workflow_id(path.stem), path.read_text())
    await warmline_replayer([SupervisionPhaseWorkflow]).replay_workflow(history)
