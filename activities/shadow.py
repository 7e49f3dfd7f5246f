"""The shadow report as an activity: what ``CanaryRolloutWorkflow`` asks before its first step
when its rollout requires a passing shadow report.

Reads only (the stored answers and facts) and scores with the process's encoder, so a retry is
harmless; the report it returns is recorded in the rollout's history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from models.shadow import ShadowReport, ShadowReportRequest
from runtime.shadow_report import ShadowReporter


class ShadowActivities:
    def __init__(self, reporter: ShadowReporter) -> None:
        self._reporter = reporter

    def all(self) -> list[Callable[..., Any]]:
        return [self.shadow_report]

    @activity.defn
    async def shadow_report(self, request: ShadowReportRequest) -> ShadowReport:
        return await asyncio.to_thread(self._reporter.report, request)
