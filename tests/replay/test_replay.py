"""Recorded InteractionWorkflow histories replay on today's code (no server needed).

A failure here means a workflow change would break interactions already running in
production: version it (README, "Versioning workflow changes") instead. Histories were recorded
from the integration scenarios (contained, escalations, patterns, channel switch, reviews,
spillover, continue-as-new, callback, invalid input, reply checks, regulatory duties: the
right to a human, callback consent yes and no) with ``WARMLINE_RECORD_HISTORIES``. Those
numbered from 3000 were recorded under the lifecycle's baseline marker (one marker for every
change, ``warmline.lifecycle.changes``); the others ask each change on its own, as runs before
it did, and must keep replaying through that path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from workers.replay import warmline_replayer
from workflows.interaction import InteractionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_present() -> None:
    assert len(HISTORIES) >= 5
    baseline = [p for p in HISTORIES if int(p.stem.split(".")[1]) >= 3000]
    assert baseline and len(baseline) < len(HISTORIES), "both marker paths are recorded"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem.split(".")[0], path.read_text())
    await warmline_replayer([InteractionWorkflow]).replay_workflow(history)
