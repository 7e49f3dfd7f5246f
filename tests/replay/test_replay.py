"""Recorded InteractionWorkflow histories replay on today's code (no server needed).

A failure here means a workflow change would break interactions already running in
production: version it with ``workflow.patched`` instead. Histories were recorded from the
integration scenarios (contained, escalations, patterns, channel switch, continue-as-new,
callback, invalid input) with ``WARMLINE_RECORD_HISTORIES``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.interaction import InteractionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_present() -> None:
    assert len(HISTORIES) >= 5


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem.split(".")[0], path.read_text())
    replayer = Replayer(workflows=[InteractionWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
