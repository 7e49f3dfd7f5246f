"""``warmline wfm``: staffing math, interval exports, the WFM event outbox and schedule sync.

Everything here is what a WFM analyst runs by hand; the same numbers are served by the API
(``api/wfm.py``) and delivered as events. Commands that read the store open it from
``WARMLINE_DATABASE_URL`` like every other ``warmline`` command.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console

from runtime.audit_keys import open_store
from runtime.settings import Settings, load_settings
from store.health import HealthStore
from store.intervals import IntervalStore, to_record
from warmline.erlang import staffing as size_staffing
from warmline.wfm_export import LAYOUTS, ExportError, render

MAX_EXPORT_DAYS = 366

app = typer.Typer(
    help="WFM integration: staffing, interval exports, events, schedule sync.",
    no_args_is_help=True,
)
console = Console()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@app.command("staffing")
def staffing(
    arrivals: Annotated[float, typer.Option(min=0, help="Contacts offered in the interval.")],
    interval_seconds: Annotated[float, typer.Option(min=1, help="Interval length in seconds.")],
    aht_seconds: Annotated[float, typer.Option(min=0, help="Average handle time in seconds.")],
    target_sl: Annotated[
        float, typer.Option(min=0, max=0.999999, help="Service level target, e.g. 0.8.")
    ] = 0.8,
    target_answer_seconds: Annotated[
        float, typer.Option(min=0, help="Answer-within threshold of the service level.")
    ] = 20.0,
    max_occupancy: Annotated[
        float | None, typer.Option(min=0.01, max=1.0, help="Occupancy cap, e.g. 0.85.")
    ] = None,
    shrinkage: Annotated[
        float, typer.Option(min=0, max=0.999999, help="Share of scheduled time not productive.")
    ] = 0.0,
    target_asa_seconds: Annotated[
        float | None, typer.Option(min=0, help="Also hold the average speed of answer at this.")
    ] = None,
    agents: Annotated[
        int | None, typer.Option(min=0, help="Report the metrics at this productive count.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Erlang C staffing for one interval: productive (raw) and scheduled agents, service
    level, probability of waiting, ASA and occupancy."""
    try:
        result = size_staffing(
            arrivals=arrivals,
            interval_seconds=interval_seconds,
            aht_seconds=aht_seconds,
            target_sl=target_sl,
            target_answer_seconds=target_answer_seconds,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
            target_asa_seconds=target_asa_seconds,
            agents=agents,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    body = asdict(result) | {
        "traffic_erlangs": round(result.traffic_erlangs, 6),
        "service_level": round(result.service_level, 6),
        "p_wait": round(result.p_wait, 6),
        "asa_s": _round(result.asa_s, 3),
        "occupancy": round(result.occupancy, 6),
    }
    if as_json:
        print(json.dumps(body))
        return
    asa = "unbounded (understaffed)" if body["asa_s"] is None else f"{body['asa_s']:.1f} s"
    console.print(
        f"{body['traffic_erlangs']:g} Erlangs: {result.raw_agents} productive agents, "
        f"{result.scheduled_agents} scheduled; service level {result.service_level:.1%}, "
        f"P(wait) {result.p_wait:.1%}, ASA {asa}, occupancy {result.occupancy:.1%}"
    )


def site_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"unknown time zone {name!r}") from exc


def parse_bound(text: str, zone: ZoneInfo, option: str) -> datetime:
    """A date (local midnight at the site) or an ISO-8601 time (naive: site local)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), clock(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: {text!r} is not a date or ISO time") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


@app.command("export")
def export(
    start: Annotated[str, typer.Option("--from", help="First day (site date) or ISO time.")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (site date) or ISO time.")],
    layout: Annotated[str, typer.Option(help=f"One of: {', '.join(LAYOUTS)}.")] = "generic",
    timezone: Annotated[
        str | None, typer.Option(help="Site time zone (default WARMLINE_WFM_SITE_TIMEZONE).")
    ] = None,
    interval_minutes: Annotated[
        int | None, typer.Option(help="15, 30 or 60 (default WARMLINE_WFM_INTERVAL_MINUTES).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="File to write; default standard output.")
    ] = None,
    rollup: Annotated[bool, typer.Option(help="Roll new facts into intervals first.")] = True,
) -> None:
    """Write interval data in a WFM import layout (see README, "WFM integration")."""
    settings = load_settings()
    zone = site_zone(timezone or settings.wfm_site_timezone)
    minutes = interval_minutes or settings.wfm_interval_minutes
    lo, hi = parse_bound(start, zone, "--from"), parse_bound(end, zone, "--to")
    if hi <= lo:
        raise typer.BadParameter("--to must be after --from")
    if hi - lo > timedelta(days=MAX_EXPORT_DAYS):
        raise typer.BadParameter(f"at most {MAX_EXPORT_DAYS} days per export")
    if layout not in LAYOUTS:
        raise typer.BadParameter(f"unknown layout {layout!r}; choose one of {sorted(LAYOUTS)}")
    store = open_store(settings)
    intervals = IntervalStore(store.engine)
    intervals.init_schema()
    started = time.perf_counter()
    try:
        if rollup:
            intervals.rollup(minutes)
        records = [to_record(row) for row in intervals.rows(minutes, lo, hi)]
        text = render(layout, records, zone)
    except ExportError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        store.close()
    if out is None:
        print(text, end="")
        return
    out.write_text(text, encoding="utf-8")
    console.print(
        f"wrote {len(records)} interval row(s) as {layout} to {out} "
        f"in {time.perf_counter() - started:.2f} s"
    )


events_app = typer.Typer(help="The WFM event outbox: delivered, pending, dead letter.")
app.add_typer(events_app, name="events")


def _outbox(settings: Settings) -> HealthStore:
    outbox = HealthStore(open_store(settings))
    outbox.init_schema()
    return outbox


@events_app.command("list")
def events_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only the dead letter.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """WFM events in the outbox with their delivery state."""
    rows = _outbox(load_settings()).outbox(dead_only=dead, limit=limit)
    for row in rows:
        if as_json:
            print(json.dumps(row, default=str))
            continue
        state = "dead" if row["dead"] else "delivered" if row["delivered"] else "pending"
        payload = row["payload"]
        kind = str(payload.get("type", "")).rsplit(".", 1)[-1]
        error = f"  last error: {row['last_error']}" if row["last_error"] else ""
        console.print(
            f"{row['created_at'][:19]}  {state:9}  {row['attempts']:>2} attempt(s)  "
            f"{kind:22} {row['event_id']}{error}"
        )
    if not rows and not as_json:
        console.print("no events" + (" in the dead letter" if dead else ""))


@events_app.command("retry")
def events_retry(
    event_ids: Annotated[list[str] | None, typer.Argument(help="Dead-lettered event ids.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead event.")] = False,
) -> None:
    """Send dead-lettered events again (workers deliver them within a poll)."""
    if not event_ids and not all_dead:
        raise typer.BadParameter("name event ids or pass --all-dead")
    count = _outbox(load_settings()).outbox_retry(None if all_dead else event_ids)
    console.print(f"{count} event(s) back in the outbox")


@app.command("deliver")
def deliver(
    worker_id: Annotated[
        str | None, typer.Option(help="Name of this deliverer (default host:pid).")
    ] = None,
) -> None:
    """Run the WFM event pump alone (detectors and signed delivery) until stopped."""
    import asyncio
    import os
    import socket

    from runtime.wfm_events import PumpConfig, WfmEventPump

    settings = load_settings()
    store = open_store(settings)
    name = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    pump = WfmEventPump(store, PumpConfig.from_settings(settings), name)
    try:
        asyncio.run(pump.run())
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
