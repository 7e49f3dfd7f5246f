"""Every fleet workflow history this session recorded replays on today's code.

Runs last (file name) so the other fleet tests have left their workflows. With
``WARMLINE_RECORD_FLEET_HISTORIES=1`` the session also saves them to
``tests/replay/histories_fleet`` (see ``tests/replay/test_replay_fleet.py``).
"""

from __future__ import annotations

import pytest

from tests.fleet.conftest import FleetStack
from tests.replay.replayer import warmline_replayer
from workers.fleet import WORKFLOWS

pytestmark = pytest.mark.integration


async def test_every_recorded_fleet_history_replays(fleet_session: FleetStack) -> None:
    histories = await fleet_session.histories()
    if not histories:
        pytest.skip("run with the other fleet tests: they record the histories")
    replayer = warmline_replayer(WORKFLOWS)
    for name, history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{name}: {result.replay_failure}"
