"""The staffing plan as routing sees it: each queue's planned agents from now on, cached.

Routing reads human availability on every interaction; the plan changes a few times a day. So
the worker keeps the upcoming intervals in memory and refreshes them every ``ttl_seconds`` in a
thread, and the ACD client attaches them to each queue's availability (``AcdClient``), which
goes into the triage snapshot recorded in history: replay sees the plan routing saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

from models.routing import PlannedStaffing
from store.staffing_plan import PlanStore
from warmline.intervals import interval_start

LOOKAHEAD = timedelta(hours=2)


class PlanCache:
    def __init__(
        self, plans: PlanStore, interval_minutes: int = 15, ttl_seconds: float = 30.0
    ) -> None:
        self._plans = plans
        self._minutes = interval_minutes
        self._ttl = ttl_seconds
        self._at = float("-inf")
        self._upcoming: dict[str, list[PlannedStaffing]] = {}
        self._lock = asyncio.Lock()

    def _read(self) -> dict[str, list[PlannedStaffing]]:
        now = datetime.now(UTC)
        start = datetime.fromtimestamp(interval_start(now.timestamp(), self._minutes), UTC)
        upcoming: dict[str, list[PlannedStaffing]] = {}
        for row in self._plans.between(start, now + LOOKAHEAD):
            upcoming.setdefault(row.queue, []).append(
                PlannedStaffing(
                    interval_start=row.interval_start.isoformat(), planned_agents=row.planned_agents
                )
            )
        return upcoming

    async def upcoming(self) -> dict[str, list[PlannedStaffing]]:
        """Queue -> planned intervals from the current one on (empty without a plan)."""
        if time.monotonic() - self._at < self._ttl:
            return self._upcoming
        async with self._lock:
            if time.monotonic() - self._at >= self._ttl:
                # The store is down: route on the last plan seen.
                with contextlib.suppress(Exception):
                    self._upcoming = await asyncio.to_thread(self._read)
                self._at = time.monotonic()
        return self._upcoming

    def invalidate(self) -> None:
        self._at = float("-inf")
