"""Side effects of ``RoutingCalibrationWorkflow``: read the outcomes, store the proposal.

One activity on purpose: reading the facts and the active config, calibrating (pure,
``warmline.calibration``) and storing the proposal belong together, and the proposal is keyed
by the run, so a retry after a lost acknowledgement stores nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity

from models.calibration import CalibrationRequest, CalibrationRunResult
from store.learning import LearningStore
from store.repository import Store
from warmline.calibration import calibrate


class LearningActivities:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._learning = LearningStore(store)

    def all(self) -> list[Callable[..., Any]]:
        return [self.propose_routing_calibration]

    def _propose(self, request: CalibrationRequest) -> CalibrationRunResult:
        config = self._store.active_routing_config()
        if config is None:
            return CalibrationRunResult(interactions=0, changes=["no routing config stored yet"])
        now = datetime.fromisoformat(request.now)
        since = now - timedelta(days=request.target.lookback_days)
        samples = self._learning.outcome_samples(
            since, now=now, repeat_window=timedelta(hours=request.target.repeat_window_hours)
        )
        result = calibrate(config, samples, request.target)
        if not result.changed:
            return CalibrationRunResult(interactions=result.interactions)
        proposal = self._learning.save_proposal(request.key, result)
        return CalibrationRunResult(
            proposal_id=proposal.id, interactions=result.interactions, changes=result.changes
        )

    @activity.defn
    async def propose_routing_calibration(
        self, request: CalibrationRequest
    ) -> CalibrationRunResult:
        """Calibrate the active config on the facts of the lookback window; store a proposal
        when anything would change."""
        return await asyncio.to_thread(self._propose, request)
