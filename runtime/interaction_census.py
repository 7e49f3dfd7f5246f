"""Open interactions by lifecycle state, counted from Temporal visibility for the dashboards.

A count per state every ``every_seconds`` (one visibility query each, no history read) sets the
``interactions_active`` gauge. Every WFM worker may run it; the dashboards take the ``max``
across instances, so replicas do not add up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from temporalio.client import Client

from models.interaction import INTERACTION_WORKFLOW, InteractionState
from models.search_attributes import INTERACTION_STATE

log = logging.getLogger("warmline.wfm")

OPEN_STATES = tuple(s for s in InteractionState if s is not InteractionState.CLOSED)


class ActiveGauge(Protocol):
    def set_active_interactions(self, state: str, count: int) -> None: ...


async def count_open(client: Client) -> dict[str, int]:
    counts = {}
    for state in OPEN_STATES:
        query = (
            f"WorkflowType = '{INTERACTION_WORKFLOW}' AND ExecutionStatus = 'Running' "
            f"AND {INTERACTION_STATE.name} = '{state.value}'"
        )
        counts[state.value] = (await client.count_workflows(query)).count
    return counts


async def run_census(client: Client, gauge: ActiveGauge, every_seconds: float = 15.0) -> None:
    while True:
        try:
            for state, count in (await count_open(client)).items():
                gauge.set_active_interactions(state, count)
        except Exception:  # visibility unavailable now: the gauge keeps its last value
            log.warning("could not count open interactions", exc_info=True)
        await asyncio.sleep(every_seconds)
