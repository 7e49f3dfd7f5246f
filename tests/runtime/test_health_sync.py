"""Two workers sharing breakers through one store: decided once, adopted by all, audited.

Each "worker" is a ``FleetHealth`` with its own ``HealthSync`` on a shared SQLite store and a
shared hand-moved clock; syncs are driven one by one, so every interleaving is explicit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from models.health import FLEET_HEALTH_STREAM, WFM_EVENTS_STREAM, WfmCapacityEvent
from models.routing import RoutingConfig
from runtime.auto_rollback import AutoRollback
from runtime.fleet_health import FleetHealth
from runtime.health_sync import HealthSync, HealthSyncConfig, breaker_config_from_settings
from runtime.settings import Settings
from store.health import HealthStore, PendingRollback
from tests.audit_keys import open_test_store
from tests.polling import eventually
from warmline.auto_rollback import BreakerOpened
from warmline.breaker import BreakerConfig
from warmline.default_config import default_routing_config

BOT = ("care-bot", "2026.10")
CONFIG = BreakerConfig(
    consecutive_failures=5, minimum_calls=10, open_seconds=10.0, probe_lease_seconds=30.0
)
LOOPING = "I'm not sure. Could you rephrase?"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health_store(tmp_path: Path) -> Iterator[HealthStore]:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    repo = HealthStore(store)
    repo.init_schema()
    yield repo
    store.close()


class Worker:
    def __init__(
        self,
        name: str,
        store: HealthStore,
        clock: Clock,
        webhook: str | None = None,
        auto_rollback: AutoRollback | None = None,
    ) -> None:
        self.health = FleetHealth(CONFIG, clock=clock, worker_id=name)
        routing = default_routing_config("http://fleet")

        async def config() -> RoutingConfig:
            return routing

        self.sync = HealthSync(
            self.health,
            store,
            HealthSyncConfig(webhook_url=webhook),
            routing=config,
            auto_rollback=auto_rollback,
        )
        self.sync.start()

    def calls(self, success: bool, n: int = 1, kind: str = "server_error") -> None:
        for _ in range(n):
            ticket = self.health.try_acquire(*BOT)
            assert ticket is not None
            self.health.release(ticket, success, None if success else kind)

    def view(self) -> tuple[str, bool]:
        (found,) = [e for e in self.health.snapshot() if (e.name, e.version) == BOT]
        return found.breaker, found.available


@pytest.fixture
def workers(health_store: HealthStore, clock: Clock) -> tuple[Worker, Worker]:
    return Worker("w1", health_store, clock), Worker("w2", health_store, clock)


def kinds(store: HealthStore, stream: str) -> list[str]:
    return [
        f"{e.payload.get('from_state')}->{e.payload.get('to_state')}"
        for e in store.store.audit_trail(stream)
        if e.kind == "breaker_transition"
    ]


def wfm_events(store: HealthStore) -> list[WfmCapacityEvent]:
    return [
        WfmCapacityEvent.model_validate(e.payload)
        for e in store.store.audit_trail(WFM_EVENTS_STREAM)
    ]


async def open_breaker(w1: Worker, w2: Worker, clock: Clock) -> None:
    w1.calls(False, 3)
    await w1.sync.sync_once()
    w2.calls(False, 3)
    clock.now += 0.5
    await w2.sync.sync_once()
    await w1.sync.sync_once()


async def test_failures_seen_by_two_workers_open_the_breaker_once(
    workers: tuple[Worker, Worker], health_store: HealthStore, clock: Clock
) -> None:
    w1, w2 = workers
    w1.calls(True, 4)
    w1.calls(False, 3)
    await w1.sync.sync_once()
    assert health_store.breakers() == []  # 3 failures in a row: not yet
    w2.calls(False, 3)
    clock.now += 0.5
    result = await w2.sync.sync_once()
    assert result is not None and result.transitions == 1
    # w2 merged 3 + 3 trailing failures across the fleet: open, decided by w2, once.
    assert w2.view() == ("open", True) and w2.health.state(*BOT) == "open"
    assert w1.health.state(*BOT) == "closed"  # w1 has not synced yet
    await w1.sync.sync_once()
    assert w1.health.state(*BOT) == "open" and w1.health.try_acquire(*BOT) is None
    assert kinds(health_store, FLEET_HEALTH_STREAM) == ["closed->open"]
    (transition,) = health_store.store.audit_trail(FLEET_HEALTH_STREAM)
    assert transition.actor == "w2" and "6 consecutive failures" in transition.payload["reasons"]
    (event,) = wfm_events(health_store)
    assert (event.from_state, event.to_state, event.endpoint) == (
        "closed",
        "open",
        "care-bot:2026.10",
    )
    assert event.detection_latency_seconds == 0.5 and event.first_failure_at is not None


class Handoffs:
    """What a worker's sync hands its automatic rollback (Temporal is not needed to see it)."""

    def __init__(self) -> None:
        self.opened: list[tuple[list[BreakerOpened], float | None]] = []
        self.claimed: list[list[PendingRollback]] = []

    def submit(
        self,
        opened: Sequence[BreakerOpened],
        states: Mapping[tuple[str, str], str],
        claimed_until: float | None = None,
    ) -> Any:
        self.opened.append((list(opened), claimed_until))

    def submit_claimed(
        self, pending: Sequence[PendingRollback], states: Mapping[tuple[str, str], str]
    ) -> Any:
        self.claimed.append(list(pending))


async def test_an_opening_commits_its_rollback_so_another_worker_takes_over_if_its_opener_dies(
    health_store: HealthStore, clock: Clock
) -> None:
    h1, h2 = Handoffs(), Handoffs()
    w1 = Worker("w1", health_store, clock, auto_rollback=cast(AutoRollback, h1))
    w2 = Worker("w2", health_store, clock, auto_rollback=cast(AutoRollback, h2))
    await open_breaker(w1, w2, clock)  # w2's compare-and-set commits the opening
    lease = w2.sync.config.rollback_lease_seconds
    ((opened, claimed_until),) = h2.opened
    assert [(o.agent, o.version, o.from_state) for o in opened] == [(*BOT, "closed")]
    assert claimed_until == clock.now + lease and h1.opened == []
    (row,) = health_store.rollback_outbox()
    assert (row["opening"], row["claimed_by"], row["done"]) == (opened[0].key, "w2", False)
    assert row["claimed_until"] == claimed_until
    # w2 dies before deciding. While its lease runs, the row is its own.
    assert await w1.sync.take_over_rollbacks() == 0 and h1.claimed == []
    clock.now += lease + 0.1
    assert await w1.sync.take_over_rollbacks() == 1
    ((pending,),) = h1.claimed
    assert (pending.opening, pending.claimed_by) == (opened[0].key, "w1")
    assert await w2.sync.take_over_rollbacks() == 0  # w1 holds it now


async def test_a_worker_without_a_temporal_client_leaves_its_openings_to_the_others(
    health_store: HealthStore, clock: Clock
) -> None:
    w1, w2 = Worker("w1", health_store, clock), Worker("w2", health_store, clock)
    await open_breaker(w1, w2, clock)
    (row,) = health_store.rollback_outbox()
    assert (row["claimed_by"], row["claimed_until"]) == (None, 0.0)
    assert await w1.sync.take_over_rollbacks() == 0  # no client here either: not claimed
    handoffs = Handoffs()
    w3 = Worker("w3", health_store, clock, auto_rollback=cast(AutoRollback, handoffs))
    assert await w3.sync.take_over_rollbacks() == 1 and len(handoffs.claimed) == 1


async def test_a_worker_notices_a_due_transition_and_wakes_the_sync(
    workers: tuple[Worker, Worker],
) -> None:
    w1, _ = workers
    w1.calls(False, 4)
    assert not w1.sync._wake.is_set()
    w1.calls(False, 1)
    # Shared, the worker only notices; the store decides, within the next sync.
    assert w1.sync._wake.is_set() and w1.health.state(*BOT) == "closed"
    await w1.sync.sync_once()
    assert w1.health.state(*BOT) == "open"


async def test_only_the_claiming_worker_probes_and_its_success_closes(
    workers: tuple[Worker, Worker], health_store: HealthStore, clock: Clock
) -> None:
    w1, w2 = workers
    await open_breaker(w1, w2, clock)
    clock.now += CONFIG.open_seconds
    assert w1.view() == ("open", True), "no probe before a claim is committed"
    assert w1.health.try_acquire(*BOT) is None
    await w1.sync.sync_once()  # w1 claims the probe
    await w2.sync.sync_once()
    assert w1.view() == ("half_open", True) and w2.view() == ("half_open", False)
    assert w2.health.try_acquire(*BOT) is None
    probe = w1.health.try_acquire(*BOT)
    assert probe is not None and probe.probe and w1.health.try_acquire(*BOT) is None
    assert w1.view() == ("half_open", False)
    w1.health.release(probe, True)
    assert w1.health.state(*BOT) == "half_open"  # decided by the store, next sync
    clock.now += 0.2
    await w1.sync.sync_once()
    await w2.sync.sync_once()
    assert w1.view() == w2.view() == ("closed", True)
    assert kinds(health_store, FLEET_HEALTH_STREAM)[-3:] == [
        "closed->open",
        "open->half_open",
        "half_open->closed",
    ]
    restored = wfm_events(health_store)[-1]
    assert restored.kind == "capacity_restored"
    row = health_store.breaker(*BOT)
    assert row is not None and row.outage_history == [
        pytest.approx(10.0)
    ]  # until the probe came back


async def test_a_failed_probe_reopens_for_twice_as_long(
    workers: tuple[Worker, Worker], clock: Clock
) -> None:
    w1, w2 = workers
    await open_breaker(w1, w2, clock)
    clock.now += CONFIG.open_seconds
    await w1.sync.sync_once()
    probe = w1.health.try_acquire(*BOT)
    assert probe is not None
    w1.health.release(probe, False, "timeout")
    await w1.sync.sync_once()
    (report,) = w1.health.reports()
    assert report.breaker == "open" and report.reasons == ["half-open probe failed"]
    assert report.next_probe_at is not None and report.since is not None
    assert (report.next_probe_at - report.since).total_seconds() == 2 * CONFIG.open_seconds


async def test_an_unused_claim_is_taken_over_and_the_old_probe_ignored(
    workers: tuple[Worker, Worker], clock: Clock
) -> None:
    w1, w2 = workers
    await open_breaker(w1, w2, clock)
    clock.now += CONFIG.open_seconds
    await w1.sync.sync_once()
    stale_probe = w1.health.try_acquire(*BOT)
    assert stale_probe is not None
    clock.now += CONFIG.probe_lease_seconds
    await w2.sync.sync_once()  # w1's claim ran out: w2 takes it
    await w1.sync.sync_once()
    assert w2.view() == ("half_open", True) and w1.view() == ("half_open", False)
    w1.health.release(stale_probe, True)  # w1's probe comes back late: not its to decide
    await w1.sync.sync_once()
    assert w1.health.state(*BOT) == "half_open"


async def test_looping_replies_degrade_the_endpoint_fleet_wide(
    workers: tuple[Worker, Worker], health_store: HealthStore, clock: Clock
) -> None:
    w1, w2 = workers
    for i in range(12):
        w1.calls(True)  # every call is a fast HTTP 200
        w1.health.record_reply(*BOT, LOOPING, "reply", 12, f"c{i % 4}")
    await w1.sync.sync_once()
    await w2.sync.sync_once()
    assert w1.health.state(*BOT) == w2.health.state(*BOT) == "degraded"
    restriction = w2.health.restriction(*BOT)
    assert restriction.allowed_intents and "password_reset" in restriction.allowed_intents
    assert restriction.min_confidence == 0.97
    trail = health_store.store.audit_trail(FLEET_HEALTH_STREAM)
    assert [e.kind for e in trail] == ["breaker_transition", "degradation_applied"]
    assert any("low-quality replies" in r for r in trail[0].payload["reasons"])
    (event,) = wfm_events(health_store)
    assert (event.from_state, event.to_state) == ("closed", "degraded")
    report = next(r for r in w2.health.reports() if r.name == BOT[0])
    assert report.degradation is not None and report.degradation.level == "degraded"


async def test_reset_closes_the_fleets_breakers_at_once(
    workers: tuple[Worker, Worker], health_store: HealthStore, clock: Clock
) -> None:
    w1, w2 = workers
    await open_breaker(w1, w2, clock)
    request = w1.health.sync_request()
    w1.health.reset()
    assert [b.state for b in health_store.breakers()] == ["closed"]
    # A sync that started before the reset must not bring the old state back.
    stale = w1.sync.sync_blocking(request, None)
    w1.health.apply_sync(stale)
    assert w1.health.snapshot() == []
    await w2.sync.sync_once()
    assert w2.health.state(*BOT) == "closed"


async def test_wfm_capacity_events_enter_the_outbox_as_cloudevents(
    health_store: HealthStore, clock: Clock
) -> None:
    """The transition commits its event for delivery (``runtime.wfm_webhooks`` sends it)."""
    w1 = Worker("w1", health_store, clock, webhook="http://wfm.test/hook")
    w1.calls(False, 5)
    await w1.sync.sync_once()
    (row,) = health_store.outbox()
    envelope = row["payload"]
    assert row["event_id"] == envelope["id"] == "care-bot:2026.10:r1:open"
    assert envelope["type"] == "com.warmline.wfm.capacity_changed"
    assert envelope["specversion"] == "1.0" and envelope["subject"] == "care-bot:2026.10"
    assert envelope["data"]["to_state"] == "open" and envelope["data"]["extra_agents_needed"] >= 0
    assert row["url"] == "http://wfm.test/hook" and not row["delivered"]


async def test_the_sync_loop_decides_an_outage_within_milliseconds(
    health_store: HealthStore,
) -> None:
    health = FleetHealth(CONFIG, worker_id="w1")
    sync = HealthSync(health, health_store, HealthSyncConfig(flush_seconds=5.0))
    task = asyncio.create_task(sync.run())
    try:
        await eventually(lambda: health.shared, "the sync to share the worker's health view")
        for _ in range(CONFIG.consecutive_failures):
            ticket = health.try_acquire(*BOT)
            assert ticket is not None
            health.release(ticket, False, "server_error")
        # Within a second: woken by the failures, not waiting for the 5 s tick.
        await eventually(lambda: health.state(*BOT) == "open", "the breaker to open", timeout=1.0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not health.shared


def test_settings_name_the_breaker_and_sync_thresholds() -> None:
    settings = Settings(
        breaker_open_seconds=3.0,
        breaker_consecutive_failures=4,
        health_flush_seconds=0.5,
        wfm_webhook_url="http://wfm/hook",
        wfm_interval_minutes=30,
        auto_rollback_lease_seconds=12.0,
        auto_rollback_poll_seconds=1.5,
    )
    config = breaker_config_from_settings(settings)
    assert (config.open_seconds, config.consecutive_failures) == (3.0, 4)
    sync = HealthSyncConfig.from_settings(settings)
    assert (sync.flush_seconds, sync.webhook_url, sync.wfm.interval_minutes) == (
        0.5,
        "http://wfm/hook",
        30,
    )
    assert (sync.rollback_lease_seconds, sync.rollback_poll_seconds) == (12.0, 1.5)


async def test_fleet_reports_and_the_cli_read_the_store(
    workers: tuple[Worker, Worker], health_store: HealthStore, clock: Clock, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli import health as health_cli
    from runtime.health_sync import fleet_reports

    w1, w2 = workers
    w1.calls(True, 3)
    await w1.sync.sync_once()
    await open_breaker(w1, w2, clock)
    (report,) = fleet_reports(health_store, clock.now, CONFIG, routing=None)
    assert (report.endpoint, report.breaker, report.revision) == ("care-bot:2026.10", "open", 1)
    assert report.next_probe_at is not None and not report.routable
    # The CLI reads the same store through WARMLINE_* settings.
    url = str(health_store.store.engine.url)
    env = {"WARMLINE_DATABASE_URL": url, "COLUMNS": "160"}
    status = CliRunner().invoke(health_cli.app, ["status"], env=env)
    assert status.exit_code == 0, status.output
    assert "care-bot:2026.10" in status.output and "open" in status.output
    assert "6 consecutive failures" in status.output
    events = CliRunner().invoke(health_cli.app, ["events", "--stream", "fleet-health"], env=env)
    assert "closed -> open" in events.output
    wfm = CliRunner().invoke(health_cli.app, ["events"], env=env)
    assert "more interactions per 15 min need a human" in wfm.output
    # Closing the breakers is an operator's action through the API, recorded as the caller.
    from models.access import Role
    from tests.identity import api_key, serve_api

    settings = Settings(data_dir=tmp_path)
    token = api_key(health_store.store, settings, "ops", Role.OPERATOR)
    async with serve_api(health_store.store, settings) as api_url:
        api_env = {"WARMLINE_API_URL": api_url, "WARMLINE_API_TOKEN": token}
        reset = await asyncio.to_thread(
            CliRunner().invoke, health_cli.app, ["reset", "--reason", "fixed"], env=api_env
        )
    assert reset.exit_code == 0 and "closed 1 breaker(s)" in reset.output
    assert [b.state for b in health_store.breakers()] == ["closed"]
    last = health_store.store.audit_trail(FLEET_HEALTH_STREAM)[-1]
    assert (last.kind, last.actor) == ("breaker_reset", "apikey:ops")


async def test_each_sync_publishes_the_breaker_gauge(
    health_store: HealthStore, clock: Clock
) -> None:
    seen: dict[tuple[str, str], str] = {}

    class Gauge:
        def set_breaker_state(self, agent: str, version: str, state: str) -> None:
            seen[(agent, version)] = state

        def set_ai_capacity(self, agent: str, version: str, sessions: int) -> None:
            pass

    health = FleetHealth(CONFIG, clock=clock, worker_id="w1")
    sync = HealthSync(health, health_store, metrics=Gauge())
    sync.start()
    for _ in range(CONFIG.consecutive_failures):
        ticket = health.try_acquire(*BOT)
        assert ticket is not None
        health.release(ticket, False, "server_error")
    await sync.sync_once()
    assert seen == {BOT: "open"}
