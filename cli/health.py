"""``warmline health``: the fleet's breakers, windows, degradation and WFM events, from the store.

``status`` and ``events`` read what every worker flushes, so they work from any machine that
can reach the store, with or without workers running on it. ``reset`` closes every breaker
(after maintenance) through the API, audited as the caller's identity.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from models.health import FLEET_HEALTH_STREAM, WFM_EVENTS_STREAM, EndpointHealthReport
from runtime.audit_keys import open_store
from runtime.health_sync import breaker_config_from_settings, fleet_reports
from runtime.settings import Settings, load_settings
from store.health import HealthStore

app = typer.Typer(
    help="AI fleet health: circuit breakers, health windows, degradation, WFM events.",
    no_args_is_help=True,
)
console = Console()

STATE_STYLE = {"closed": "green", "degraded": "yellow", "half_open": "cyan", "open": "bold red"}


def _health_store(settings: Settings) -> HealthStore:
    store = HealthStore(open_store(settings))
    store.init_schema()
    return store


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    seconds = (now - when).total_seconds()
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f}m ago"


def breaker_table(reports: list[EndpointHealthReport], title: str = "AI endpoint health") -> Table:
    """One row per endpoint version: breaker, infrastructure and quality windows, degradation."""
    now = datetime.now(UTC)
    table = Table(title=title, expand=False)
    # Short headers: the table must fit an 80-column terminal next to the event list.
    for column in (
        "endpoint", "breaker", "since", "calls", "err", "p95ms", "cps", "util",
        "lowq", "loops", "contain", "degr.", "wk",
    ):  # fmt: skip
        left = column in ("endpoint", "breaker")
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    for r in reports:
        m = r.metrics
        style = STATE_STYLE.get(r.breaker, "")
        level = r.degradation.level.value if r.degradation else "normal"
        table.add_row(
            r.endpoint,
            f"[{style}]{r.breaker}[/{style}]" if style else r.breaker,
            _ago(r.since, now),
            str(m.calls),
            _pct(m.error_rate),
            _num(m.latency_p95_ms),
            _num(m.throughput_per_second, 2),
            _pct(m.utilisation),
            _pct(m.low_quality_rate),
            _pct(m.loop_rate),
            _pct(m.containment_rate),
            level,
            str(r.workers),
        )
    return table


def reasons_table(reports: list[EndpointHealthReport]) -> Table:
    table = Table(title="Why", show_header=True, expand=False)
    table.add_column("endpoint")
    table.add_column("breaker reasons / restriction")
    for r in reports:
        if r.breaker == "closed" and not r.degradation:
            continue
        parts = list(r.reasons)
        if r.restriction.allowed_intents is not None:
            parts.append(f"AI intents: {', '.join(r.restriction.allowed_intents) or 'none'}")
        if r.restriction.min_confidence is not None:
            parts.append(f"min confidence {r.restriction.min_confidence:g}")
        if r.restriction.max_sessions is not None:
            parts.append(f"session cap {r.restriction.max_sessions}")
        if r.next_probe_at is not None:
            parts.append(f"probe at {r.next_probe_at:%H:%M:%S}")
        table.add_row(r.endpoint, "; ".join(parts))
    return table


def wfm_table(events: list[dict[str, Any]], limit: int = 8) -> Table:
    table = Table(title="WFM capacity events", expand=False)
    for column in ("detected", "endpoint", "change", "+volume/interval", "+agents", "latency"):
        table.add_column(column, justify="right" if column.startswith("+") else "left")
    for e in events[-limit:]:
        latency = e.get("detection_latency_seconds")
        table.add_row(
            str(e.get("detected_at", ""))[11:19],
            str(e.get("endpoint")),
            f"{e.get('from_state')} -> {e.get('to_state')}",
            _num(e.get("extra_human_volume_per_interval"), 1),
            str(e.get("extra_agents_needed")),
            "-" if latency is None else f"{latency:.2f}s",
        )
    return table


def _view(store: HealthStore, settings: Settings) -> Group:
    reports = fleet_reports(
        store, time.time(), breaker_config_from_settings(settings), settings.health_stale_seconds
    )
    events = [e.payload for e in store.store.audit_trail(WFM_EVENTS_STREAM)]
    return Group(breaker_table(reports), reasons_table(reports), wfm_table(events))


@app.command("status")
def status(
    watch: Annotated[bool, typer.Option(help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
) -> None:
    """Breaker states and the fleet-wide windows every worker flushed, with WFM events."""
    settings = load_settings()
    store = _health_store(settings)
    if not watch:
        console.print(_view(store, settings))
        return
    try:
        with Live(_view(store, settings), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(_view(store, settings))
    except KeyboardInterrupt:
        pass


@app.command("events")
def events(
    stream: Annotated[str, typer.Option(help="wfm-events or fleet-health.")] = WFM_EVENTS_STREAM,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """The audited health events, newest last."""
    store = _health_store(load_settings())
    for event in store.store.audit_trail(stream)[-limit:]:
        p = event.payload
        if event.kind == "wfm_capacity_event":
            console.print(f"{event.at}  {p.get('what_changed')}")
        elif event.kind == "breaker_transition":
            why = "; ".join(p.get("reasons", []))
            console.print(
                f"{event.at}  {p['endpoint']} {p['from_state']} -> {p['to_state']}: {why}"
            )
        else:
            console.print(f"{event.at}  {event.kind} {p.get('endpoint', '')} {p.get('level', '')}")


@app.command("reset")
def reset(
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "maintenance done",
) -> None:
    """Close every breaker and forget every window (workers adopt it within a second)."""
    from cli.api_client import call

    body = {"reason": reason}
    closed = call(lambda api: api.post("/v1/fleet/health/reset", body))
    console.print(f"closed {closed['closed']} breaker(s); audited in {FLEET_HEALTH_STREAM}")
