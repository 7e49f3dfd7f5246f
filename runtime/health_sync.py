"""The per-worker health pump: flush windows, merge the fleet's, commit transitions, deliver.

Every ``flush_seconds`` (and at once when ``FleetHealth`` notices a transition is due) one
sync runs in a thread: this worker's windows are written, every fresh worker's windows and every
breaker row are read, each endpoint is decided on the merge (``runtime.health_merge``) and
changes are committed with a compare-and-set, then the fleet's view comes back into the
worker's memory, which ``snapshot()`` serves to routing without I/O. WFM capacity events commit
to the WFM outbox as CloudEvents with the transition; ``runtime.wfm_events`` delivers them,
signed, with the other WFM events. An opening this
worker's compare-and-set committed goes to ``runtime.auto_rollback`` (in the background),
which starts the ``RollbackWorkflow`` the policy calls for: once, fleet-wide. The opening also
commits an automatic rollback outbox row, claimed by this worker for
``rollback_lease_seconds``; every ``rollback_poll_seconds`` each worker with a Temporal client
claims rows whose lease lapsed (their opener died) or whose retry is due, so a crash between
the commit and the start delays a rollback by about a lease instead of losing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from models.health import (
    FLEET_HEALTH_STREAM,
    DegradationDecision,
    EndpointHealthReport,
    RoutingRestriction,
    epoch_to_utc,
)
from models.routing import RoutingConfig
from runtime.auto_rollback import AutoRollback
from runtime.fleet_health import (
    EndpointFlush,
    FleetHealth,
    SharedEndpoint,
    SyncRequest,
    SyncResult,
)
from runtime.health_merge import (
    MergeContext,
    decide_endpoint,
    fallbacks_from,
    profiles_from,
    to_breaker,
    windows_of,
)
from runtime.settings import Settings
from store.health import (
    BreakerChange,
    HealthStore,
    PendingRollback,
    SharedBreaker,
    WindowFlush,
)
from warmline.auto_rollback import BreakerOpened
from warmline.breaker import BreakerConfig, BreakerState, next_probe_at, routable
from warmline.degradation import DegradationConfig
from warmline.health import WindowAggregate, endpoint_metrics, merge
from warmline.wfm_signal import WfmParams

log = logging.getLogger("warmline.health")

MIN_SYNC_SPACING_SECONDS = 0.02
"""Wakes closer than this are folded into one sync (a burst of failures is one decision)."""
PRUNE_EVERY_SECONDS = 300.0


@dataclass(frozen=True)
class HealthSyncConfig:
    flush_seconds: float = 1.0
    stale_seconds: float = 5.0
    webhook_url: str | None = None
    event_source: str = "warmline"
    rollback_lease_seconds: float = 30.0
    """How long the worker handling an opening's rollback holds it before others may."""
    rollback_poll_seconds: float = 2.0
    """How often a worker looks for openings whose rollback nobody is handling."""
    wfm: WfmParams = field(default_factory=WfmParams)
    degradation: DegradationConfig = field(default_factory=DegradationConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthSyncConfig:
        return cls(
            flush_seconds=settings.health_flush_seconds,
            stale_seconds=settings.health_stale_seconds,
            webhook_url=settings.wfm_webhook_url,
            event_source=settings.wfm_event_source,
            rollback_lease_seconds=settings.auto_rollback_lease_seconds,
            rollback_poll_seconds=settings.auto_rollback_poll_seconds,
            wfm=WfmParams(
                interval_minutes=settings.wfm_interval_minutes,
                human_aht_seconds=settings.wfm_human_aht_seconds,
                target_service_level=settings.wfm_target_service_level,
                target_answer_seconds=settings.wfm_target_answer_seconds,
            ),
        )


def breaker_config_from_settings(settings: Settings) -> BreakerConfig:
    return BreakerConfig(
        open_seconds=settings.breaker_open_seconds,
        window_seconds=settings.breaker_window_seconds,
        minimum_calls=settings.breaker_minimum_calls,
        failure_rate_threshold=settings.breaker_failure_rate,
        consecutive_failures=settings.breaker_consecutive_failures,
    )


class _CommittedDecision:
    """``decide_endpoint`` for ``update_breaker``, keeping the change of its last call.

    The store re-runs the decision after a compare-and-set conflict, so the last change is the
    one committed: its openings are this worker's to act on, and no other worker's. Each
    opening's automatic rollback outbox row goes into the same change, claimed by this worker
    until ``claimed_until`` when it will hand the opening over itself (``claimed_by`` None:
    no Temporal client here, any worker with one claims the row at once).
    """

    def __init__(
        self,
        key: tuple[str, str],
        ctx: MergeContext,
        claimed_by: str | None = None,
        claimed_until: float = 0.0,
    ) -> None:
        self.key = key
        self.ctx = ctx
        self.claimed_by = claimed_by
        self.claimed_until = claimed_until
        self.change: BreakerChange | None = None

    def __call__(self, current: SharedBreaker | None) -> BreakerChange | None:
        self.change = decide_endpoint(current, self.key, self.ctx)
        if self.change is not None:
            self.change.rollbacks = [
                PendingRollback(
                    o.agent,
                    o.version,
                    o.from_state,
                    o.revision,
                    o.reasons,
                    self.claimed_by,
                    self.claimed_until,
                )
                for o in self.openings()
            ]
        return self.change

    def openings(self) -> list[BreakerOpened]:
        if self.change is None:
            return []
        return [
            BreakerOpened(
                agent=self.key[0],
                version=self.key[1],
                from_state=str(e.payload["from_state"]),
                revision=int(e.payload["revision"]),
                reasons=tuple(e.payload.get("reasons", ())),
            )
            for e in self.change.events
            if e.kind == "breaker_transition" and e.payload["to_state"] == BreakerState.OPEN
        ]


class BreakerGauge(Protocol):
    """What the sync publishes to Prometheus (``runtime.metrics.WarmlineMetrics``)."""

    def set_breaker_state(self, agent: str, version: str, state: str) -> None: ...

    def set_ai_capacity(self, agent: str, version: str, sessions: int) -> None: ...


class HealthSync:
    def __init__(
        self,
        health: FleetHealth,
        store: HealthStore,
        config: HealthSyncConfig | None = None,
        routing: Callable[[], Awaitable[RoutingConfig]] | None = None,
        metrics: BreakerGauge | None = None,
        auto_rollback: AutoRollback | None = None,
    ) -> None:
        self.health = health
        self._auto_rollback = auto_rollback
        self._metrics = metrics
        self.store = store
        self.config = config or HealthSyncConfig()
        self._routing = routing
        self._wake = asyncio.Event()
        self._last_prune = 0.0
        self._states: dict[tuple[str, str], str] = {}
        """The fleet's breaker states after the last sync (what taken-over openings use)."""
        self.syncs = 0
        self.failures = 0

    # -- wiring ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Make the store the authority for ``health`` (transitions wait for a sync)."""
        self.health.share(self.wake, self.reset_store)

    def wake(self) -> None:
        self._wake.set()

    def reset_store(self) -> None:
        self.store.reset_all(
            self.health.clock(), self.health.worker_id, "reset by operator", FLEET_HEALTH_STREAM
        )

    async def run(self) -> None:
        """Sync forever (until cancelled); a failing store is logged and retried next tick."""
        self.start()
        loop = asyncio.get_running_loop()
        next_takeover = loop.time()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.flush_seconds)
                self._wake.clear()
                started = loop.time()
                await self.sync_once()
                if self._auto_rollback is not None and started >= next_takeover:
                    next_takeover = started + self.config.rollback_poll_seconds
                    await self.take_over_rollbacks()
                spent = loop.time() - started
                if spent < MIN_SYNC_SPACING_SECONDS:
                    await asyncio.sleep(MIN_SYNC_SPACING_SECONDS - spent)
        finally:
            self.health.unshare()
            if self._auto_rollback is not None:
                await self._auto_rollback.drain()

    # -- one sync ----------------------------------------------------------------------------------
    async def sync_once(self) -> SyncResult | None:
        request = self.health.sync_request()
        routing = None
        if self._routing is not None:
            try:
                routing = await self._routing()
            except Exception:  # routing config unreachable: decide without profiles
                log.exception("health sync: routing config unavailable")
        try:
            result = await asyncio.to_thread(self.sync_blocking, request, routing)
        except Exception:
            self.failures += 1
            log.exception("health sync failed; windows are kept for the next one")
            self.health.sync_failed(request)
            return None
        self.syncs += 1
        self.health.apply_sync(result)
        self._states = {(e.name, e.version): e.breaker.state.value for e in result.endpoints}
        if result.opened and self._auto_rollback is not None:
            # Only this worker committed these openings: it alone decides their rollback, at
            # once; their outbox rows (claimed by it) are the safety net should it die first.
            claimed_until = request.now + self.config.rollback_lease_seconds
            self._auto_rollback.submit(result.opened, self._states, claimed_until)
        if self._metrics is not None:  # the dashboards' breaker and utilisation panels
            for e in result.endpoints:
                self._metrics.set_breaker_state(e.name, e.version, e.breaker.state.value)
            for endpoint in routing.ai_endpoints if routing is not None else ():
                self._metrics.set_ai_capacity(
                    endpoint.name, endpoint.version, endpoint.max_concurrent
                )
        return result

    def sync_blocking(self, request: SyncRequest, routing: RoutingConfig | None) -> SyncResult:
        """Flush, merge, decide, commit; returns the fleet's view for ``apply_sync``."""
        now = request.now
        rows = {(b.name, b.version): b for b in self.store.breakers()}

        def revision(e: EndpointFlush) -> int:
            if e.synced:
                return e.revision
            row = rows.get((e.name, e.version))
            return row.revision if row else 0

        self.store.flush_windows(
            [
                WindowFlush(
                    request.worker_id,
                    e.name,
                    e.version,
                    revision(e),
                    e.aggregate.to_json(),
                    e.active_sessions,
                    now,
                )
                for e in request.endpoints
            ]
        )
        windows = self.store.windows(now - self.config.stale_seconds)
        keys = set(rows) | {(w.name, w.version) for w in windows}
        human: list[tuple[float, float | None]] = []

        def human_load() -> tuple[float, float | None]:
            if not human:  # at most one query per sync, and only when an event needs it
                interval = timedelta(minutes=self.config.wfm.interval_minutes)
                human.append(self.store.human_load(datetime.fromtimestamp(now, UTC), interval))
            return human[0]

        ctx = MergeContext(
            worker_id=request.worker_id,
            now=now,
            config=self.health.config,
            windows=windows,
            probes=request.probes,
            profiles=profiles_from(routing),
            fallbacks=fallbacks_from(routing),
            states={key: row.state for key, row in rows.items()},
            degradation=self.config.degradation,
            wfm=self.config.wfm,
            webhook_url=self.config.webhook_url,
            event_source=self.config.event_source,
            human_load=human_load,
        )
        transitions = 0
        opened: list[BreakerOpened] = []
        for key in sorted(keys):
            # A dry run on the row as read: most syncs change nothing and take no write lock.
            if decide_endpoint(rows.get(key), key, ctx) is None:
                continue
            decide = _CommittedDecision(key, ctx, *self._rollback_claim(request))
            written = self.store.update_breaker(key[0], key[1], decide)
            if written is not None:
                transitions += written.revision != (rows[key].revision if key in rows else 0)
                rows[key] = written
                opened += decide.openings()
        if now - self._last_prune > PRUNE_EVERY_SECONDS:
            self._last_prune = now
            self.store.prune_windows(now - max(3600.0, 10 * self.config.stale_seconds))
        shared = [self._shared(key, rows, windows, request.worker_id) for key in sorted(keys)]
        return SyncResult(request.generation, shared, transitions, opened)

    def _rollback_claim(self, request: SyncRequest) -> tuple[str | None, float]:
        """Who holds the outbox row of an opening this sync commits, and until when."""
        if self._auto_rollback is None:
            return None, 0.0
        return request.worker_id, request.now + self.config.rollback_lease_seconds

    async def take_over_rollbacks(self) -> int:
        """Claim openings whose rollback nobody handles (their worker died before deciding,
        or an attempt failed and is due) and decide them in the background; how many."""
        if self._auto_rollback is None:
            return 0
        try:
            pending = await asyncio.to_thread(
                self.store.claim_rollbacks,
                self.health.worker_id,
                self.health.clock(),
                self.config.rollback_lease_seconds,
            )
        except Exception:  # the store is down: the rows wait for the next poll
            log.exception("health sync: automatic rollback outbox unavailable")
            return 0
        if pending:
            self._auto_rollback.submit_claimed(pending, self._states)
        return len(pending)

    @staticmethod
    def _shared(
        key: tuple[str, str],
        rows: dict[tuple[str, str], SharedBreaker],
        windows: list[WindowFlush],
        worker_id: str,
    ) -> SharedEndpoint:
        breaker_row = rows.get(key) or SharedBreaker(*key)
        at_revision = windows_of(windows, key, breaker_row.revision)
        others = [w for w in at_revision if w.worker_id != worker_id]
        all_rows = [w for w in windows if (w.name, w.version) == key]
        remote: WindowAggregate = merge(WindowAggregate.from_json(w.aggregate) for w in others)
        degradation = (
            DegradationDecision.model_validate(breaker_row.degradation)
            if breaker_row.degradation
            else None
        )
        return SharedEndpoint(
            name=key[0],
            version=key[1],
            revision=breaker_row.revision,
            breaker=to_breaker(breaker_row),
            remote=remote,
            remote_active=sum(w.active_sessions for w in all_rows if w.worker_id != worker_id),
            workers=max(1, len({w.worker_id for w in all_rows})),
            degradation=degradation,
            updated_at=breaker_row.updated_at.timestamp() if breaker_row.updated_at else None,
        )


def fleet_reports(
    store: HealthStore,
    now: float,
    config: BreakerConfig | None = None,
    stale_seconds: float = 5.0,
    routing: RoutingConfig | None = None,
) -> list[EndpointHealthReport]:
    """The fleet's health as the store holds it (CLI, demo, bench): any process can read it."""
    config = config or BreakerConfig()
    rows = {(b.name, b.version): b for b in store.breakers()}
    windows = store.windows(now - stale_seconds)
    profiles = profiles_from(routing)
    reports = []
    for key in sorted(set(rows) | {(w.name, w.version) for w in windows}):
        row = rows.get(key) or SharedBreaker(*key)
        here = windows_of(windows, key, row.revision)
        merged = merge(WindowAggregate.from_json(w.aggregate) for w in here)
        active = sum(w.active_sessions for w in windows if (w.name, w.version) == key)
        profile = profiles.get(key)
        breaker = to_breaker(row)
        degradation = (
            DegradationDecision.model_validate(row.degradation) if row.degradation else None
        )
        reports.append(
            EndpointHealthReport(
                endpoint=f"{key[0]}:{key[1]}",
                name=key[0],
                version=key[1],
                breaker=row.state,
                revision=row.revision,
                since=epoch_to_utc(row.since) if key in rows else None,
                next_probe_at=epoch_to_utc(next_probe_at(breaker)),
                probe_owner=row.probe_owner,
                routable=routable(breaker, now, claim_required=True)
                or breaker.state is BreakerState.HALF_OPEN,
                reasons=list(row.reasons),
                metrics=endpoint_metrics(
                    merged,
                    now,
                    config.window_seconds,
                    active,
                    profile.max_sessions if profile else None,
                ),
                degradation=degradation,
                restriction=degradation.restriction if degradation else RoutingRestriction(),
                workers=len({w.worker_id for w in here}),
                updated_at=row.updated_at,
            )
        )
    return reports
