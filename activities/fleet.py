"""Side effects of the fleet workflows: registry changes, metrics, fleet audit, WFM events.

Every activity is idempotent by a key the workflow derives from its id and step: a registry
change saves one config version however often it is retried, an audit or WFM event is written
once. Reads (registry, metrics) are naturally repeatable. Bad requests (an unknown version, a
role that cannot take traffic) fail at once as non-retryable ``RegistryError``s naming what
is wrong, because retrying cannot fix them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.canary import ObserveCanary
from models.facts import AuditEvent
from models.fleet import (
    FLEET_AUDIT_STREAM,
    WFM_EVENT_STREAM,
    ApplyRegistryChange,
    EmitWFMEvent,
    FleetAuditEvent,
    ObserveABTest,
    ReadRegistry,
    RegistryChangeResult,
    RegistryView,
    RollbackInput,
    RollbackPlan,
    WFMEvent,
    endpoint_key,
)
from models.fleet_analysis import ABReport, CanaryObservation
from models.routing import RoutingConfig
from runtime.config_cache import RoutingConfigCache
from store.repository import Store
from store.tables import parse_utc
from store.wfm_events import WfmEventStore
from warmline.ab_analysis import ab_report
from warmline.canary_analysis import analyse
from warmline.fleet_metrics import merge_metrics
from warmline.registry import RegistryError, apply_changes, endpoint_shares, versions_of
from warmline.rollback_plan import plan_rollback

log = logging.getLogger("warmline.fleet")

REGISTRY_CHANGE_KIND = "registry_change"


def registry_error(exc: Exception) -> ApplicationError:
    """A change this registry cannot take: retrying would fail the same way."""
    return ApplicationError(str(exc), type="RegistryError", non_retryable=True)


class FleetActivities:
    """Activities of the ``fleet`` task queue over the store and the routing config cache."""

    def __init__(
        self,
        store: Store,
        configs: RoutingConfigCache,
        wfm_webhook_url: str | None = None,
        wfm_event_source: str = "warmline",
    ) -> None:
        self.store = store
        self.configs = configs
        self.wfm_webhook_url = wfm_webhook_url
        """Where WFM events go (settings only); with it each event also enters the outbox."""
        self.wfm_events = WfmEventStore(store, wfm_event_source)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.apply_registry_change,
            self.read_registry,
            self.plan_rollback,
            self.observe_canary,
            self.observe_ab_test,
            self.record_fleet_event,
            self.emit_wfm_event,
        ]

    @activity.defn
    async def apply_registry_change(self, request: ApplyRegistryChange) -> RegistryChangeResult:
        """One new routing config version and one ``fleet`` audit event per ``change_id``."""
        await self.configs.get()  # a fresh store gets its bootstrap config first

        def edit(config: RoutingConfig) -> tuple[RoutingConfig, list[str]]:
            return apply_changes(config, request.changes)

        try:
            config, applied, reasons = await asyncio.to_thread(
                self.store.apply_registry_edit,
                request.change_id,
                request.actor,
                edit,
                stream=FLEET_AUDIT_STREAM,
                kind=REGISTRY_CHANGE_KIND,
                payload={
                    "reason": request.reason,
                    "changes": [change.model_dump(mode="json") for change in request.changes],
                },
            )
        except RegistryError as exc:
            raise registry_error(exc) from exc
        # This process routes on the new version at once; other workers within their TTL.
        self.configs.invalidate()
        agents = list(dict.fromkeys(getattr(c, "agent", None) for c in request.changes))
        named = [agent for agent in agents if isinstance(agent, str)]
        return RegistryChangeResult(
            change_id=request.change_id,
            applied=applied,
            config_version=config.version,
            reasons=reasons,
            endpoints=[row for agent in named for row in endpoint_shares(config, agent)]
            if named
            else endpoint_shares(config),
        )

    @activity.defn
    async def read_registry(self, request: ReadRegistry) -> RegistryView:
        config = await asyncio.to_thread(self.store.active_routing_config)
        if config is None:
            config = await self.configs.get()
        if request.agent is not None and not versions_of(config, request.agent):
            raise registry_error(RegistryError(f"agent: {request.agent} is not registered"))
        return RegistryView(
            config_version=config.version, endpoints=endpoint_shares(config, request.agent)
        )

    @activity.defn
    async def plan_rollback(self, request: RollbackInput) -> RollbackPlan:
        """The shifts of a rollback, from the registry as it is now (recorded in history)."""
        config = await asyncio.to_thread(self.store.active_routing_config)
        if config is None:
            config = await self.configs.get()
        try:
            return plan_rollback(config, request)
        except RegistryError as exc:
            raise registry_error(exc) from exc

    @activity.defn
    async def observe_canary(self, request: ObserveCanary) -> CanaryObservation:
        """Canary and baseline metrics since the rollout began, analysed; step sample sizes."""
        canary = endpoint_key(request.agent, request.canary_version)
        baselines = [endpoint_key(request.agent, v) for v in request.baseline_versions]
        # Aggregated by the database: a few rows per poll however long the rollout has run.
        metrics, in_step = await asyncio.to_thread(
            self.store.observe_versions,
            [canary, *baselines],
            parse_utc(request.since),
            parse_utc(request.until),
            parse_utc(request.step_since),
        )
        canary_metrics = metrics[canary]
        baseline_metrics = merge_metrics([metrics[key] for key in baselines])
        return CanaryObservation(
            at=request.at,
            step_index=request.step_index,
            step_canary_sample=in_step[canary],
            step_baseline_sample=sum(in_step[key] for key in baselines),
            canary=canary_metrics,
            baseline=baseline_metrics,
            analysis=analyse(
                canary_metrics,
                baseline_metrics,
                request.template,
                request.looks,
                step_index=request.step_index,
                at=request.at,
            ),
        )

    @activity.defn
    async def observe_ab_test(self, request: ObserveABTest) -> ABReport:
        keys = {version: endpoint_key(request.agent, version) for version in request.split}
        by_key, _ = await asyncio.to_thread(
            self.store.observe_versions, list(keys.values()), parse_utc(request.since)
        )
        metrics = {version: by_key[key] for version, key in keys.items()}
        return ab_report(metrics, request.control, request.split, request.config, request.at)

    @activity.defn
    async def record_fleet_event(self, event: FleetAuditEvent) -> bool:
        """Decisions of fleet workflows on their audit stream, once per key."""
        audit = AuditEvent(
            stream=event.stream,
            seq=0,  # the store numbers shared streams
            kind=event.kind,
            at=event.at,
            actor=event.actor,
            payload=dict(event.payload),
        )
        return await asyncio.to_thread(self.store.record_fleet_event, audit, event.key)

    @activity.defn
    async def emit_wfm_event(self, request: EmitWFMEvent) -> WFMEvent:
        """Tell real-time WFM that AI capacity changed, with the volume now coming to humans.

        Stored on the ``wfm-events`` stream (which WFM integrations poll or export) and logged;
        the estimate is the interactions those AI versions took over the look-back window.
        """
        config = await self.configs.get()
        agents = request.agents or sorted({e.name for e in config.ai_endpoints})
        endpoints = [
            endpoint_key(e.name, e.version) for e in config.ai_endpoints if e.name in agents
        ]
        since = parse_utc(request.at) - timedelta(minutes=request.lookback_minutes)
        recent = await asyncio.to_thread(self.store.count_facts_for_endpoints, endpoints, since)
        event = WFMEvent(
            key=request.key,
            kind=request.kind,
            at=request.at,
            agents=agents,
            endpoints=endpoints,
            reason=request.reason,
            requested_by=request.requested_by,
            ai_interactions_per_minute=round(recent / request.lookback_minutes, 3),
            expected_duration_minutes=request.expected_duration_minutes,
            blended_containment=request.blended_containment,
        )
        audit = AuditEvent(
            stream=WFM_EVENT_STREAM,
            seq=0,
            kind=request.kind.value,
            at=request.at,
            actor=request.requested_by,
            payload=event.model_dump(mode="json"),
        )
        # The audit entry and the signed delivery commit together, once per key.
        written = await asyncio.to_thread(
            self.wfm_events.record_fleet_event, audit, request.key, self.wfm_webhook_url
        )
        if written:
            log.warning(
                "WFM event %s: agents %s, ~%.2f AI interactions/min now need humans (%s)",
                request.kind.value,
                ", ".join(agents),
                event.ai_interactions_per_minute,
                request.reason or "no reason given",
            )
        return event
