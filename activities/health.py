"""Activities of the ``fleet-health`` task queue: the fleet's health for long-running workflows.

Canary analysis, rollback or queue metering workflows that need endpoint health call
``fleet_health_reports`` as a regular activity: the answer is recorded in their history, so
they stay deterministic, and it is the merged, fleet-wide view this worker holds in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from models.health import EndpointHealthReport
from runtime.fleet_health import FleetHealth


class HealthActivities:
    def __init__(self, health: FleetHealth) -> None:
        self.health = health

    @activity.defn(name="fleet_health_reports")
    async def fleet_health_reports(self) -> list[EndpointHealthReport]:
        return self.health.reports()

    def all(self) -> list[Callable[..., Any]]:
        return [self.fleet_health_reports]
