"""Interval data as files a WFM product imports: a generic layout and two vendors' layouts.

Pure: interval records and a site time zone in, CSV text out (the caller opens the zone and
writes the file). Layouts:

``generic`` (Warmline's own, documented in README): one row per interval x queue x channel x
intent x pool with every measure the rollup keeps, the interval start in UTC and in the site's
local time.

``genesys-cloud``: Genesys Cloud WFM historical data import, as specified in the Genesys Cloud
Resource Center article "Prepare the historical data import .csv file" (help.mypurecloud.com,
read 2026): columns Interval Start UTC Date (ISO 8601 ``YYYY-MM-DDThh:mm:ssZ`` on a 15-minute
boundary, seconds 00), Queue, Media Type (voice, chat, email, callback or message), Skill Set
(optional), Language (optional), Offered, Interactions Handled, Total Handle Time (Seconds).

``verint-strategic-planner``: Verint WFO 15.2 Strategic Planner, "Format of the Import File"
(Verint WFO online library, V15_2/StrategicPlanner): no header, ``Work queue name, M-D-YYYY,
Volume, AHT`` with one row per work queue and day; the day is the site's local date.

The vendor layouts carry the human workload, which is what those tools staff: interactions of
the ``ai_assisted`` and ``human_only`` pools, with the human segment as handle time. AI-contained
volume, a separate forecast stream, is in the generic layout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Final

from models.wfm import IntervalRecord, SegmentTimes

HUMAN_POOLS: Final = frozenset({"ai_assisted", "human_only"})

GENESYS_MEDIA: Final = {"voice": "voice", "chat": "chat", "email": "email", "social": "message"}
"""Warmline channel -> Genesys Cloud media type."""

GENESYS_HEADER: Final = (
    "Interval Start UTC Date",
    "Queue",
    "Media Type",
    "Skill Set",
    "Language",
    "Offered",
    "Interactions Handled",
    "Total Handle Time (Seconds)",
)

_SEGMENT_NAMES: Final = ("ai", "queue_wait", "human", "after_transfer")


def _segment_header(name: str) -> list[str]:
    return [f"{name}_count", f"{name}_mean_s", f"{name}_p50_s", f"{name}_p90_s"]


GENERIC_HEADER: Final = (
    "interval_start_utc",
    "interval_start_local",
    "interval_minutes",
    "queue",
    "channel",
    "intent",
    "pool",
    "offered",
    "handled",
    "abandoned",
    "deflected",
    "callbacks",
    "contained",
    "escalated",
    *(column for name in _SEGMENT_NAMES for column in _segment_header(name)),
    "containment_rate",
    "csat_mean",
    "csat_count",
    "cost_usd",
)


class ExportError(ValueError):
    """The export cannot be written as asked (unknown layout, bad interval for the layout)."""


def _field(value: object) -> str:
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Iterable[object]) -> str:
    """One RFC 4180 line (CRLF-free: the WFM importers all take a plain newline)."""
    return ",".join(_field(v) for v in values) + "\n"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return ""
    rounded = round(value, digits)
    return f"{rounded:.{digits}f}".rstrip("0").rstrip(".") if rounded % 1 else str(int(rounded))


def _utc_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _segment(times: SegmentTimes) -> list[str]:
    return [
        str(times.count),
        _num(times.mean_seconds),
        _num(times.p50_seconds),
        _num(times.p90_seconds),
    ]


def generic(records: Sequence[IntervalRecord], zone: tzinfo) -> str:
    lines = [csv_line(GENERIC_HEADER)]
    for r in records:
        local = r.interval_start.astimezone(zone)
        lines.append(
            csv_line(
                [
                    _utc_iso(r.interval_start),
                    local.isoformat(timespec="seconds"),
                    r.interval_minutes,
                    r.queue,
                    r.channel,
                    r.intent,
                    r.pool,
                    r.offered,
                    r.handled,
                    r.abandoned,
                    r.deflected,
                    r.callbacks,
                    r.contained,
                    r.escalated,
                    *_segment(r.ai),
                    *_segment(r.queue_wait),
                    *_segment(r.human),
                    *_segment(r.after_transfer),
                    _num(r.containment_rate, 6),
                    _num(r.csat_mean, 4),
                    r.csat_count,
                    _num(r.cost_usd, 6),
                ]
            )
        )
    return "".join(lines)


@dataclass
class _Workload:
    offered: int = 0
    handled: int = 0
    human_seconds: float = 0.0
    human_samples: int = 0

    def add(self, record: IntervalRecord) -> None:
        self.offered += record.offered
        self.handled += record.handled
        self.human_seconds += record.human.sum_seconds
        self.human_samples += record.human.count


def _human_workload(
    records: Iterable[IntervalRecord], key: Callable[[IntervalRecord], tuple[str, ...]]
) -> dict[tuple[str, ...], _Workload]:
    """Human-pool volume and handle time per ``key`` (strings that sort in output order)."""
    grouped: dict[tuple[str, ...], _Workload] = defaultdict(_Workload)
    for record in records:
        if record.pool in HUMAN_POOLS:
            grouped[key(record)].add(record)
    return grouped


def genesys_cloud(records: Sequence[IntervalRecord], zone: tzinfo) -> str:
    """Interval starts stay UTC (the import requires it); ``zone`` is not used."""
    for r in records:
        if r.interval_start.minute % 15 or r.interval_start.second:
            raise ExportError(f"Genesys Cloud needs 15-minute boundaries, got {r.interval_start}")
    grouped = _human_workload(
        records,
        lambda r: (_utc_iso(r.interval_start), r.queue, GENESYS_MEDIA.get(r.channel, "message")),
    )
    lines = [csv_line(GENESYS_HEADER)]
    for (start, queue, media), load in sorted(grouped.items()):
        lines.append(
            csv_line(
                [
                    start,
                    queue,
                    media,
                    "",
                    "",
                    load.offered,
                    load.handled,
                    _num(load.human_seconds, 0),
                ]
            )
        )
    return "".join(lines)


def _us_date(day: date) -> str:
    return f"{day.month}-{day.day}-{day.year}"


def verint_strategic_planner(records: Sequence[IntervalRecord], zone: tzinfo) -> str:
    grouped = _human_workload(
        records, lambda r: (r.queue, r.interval_start.astimezone(zone).date().isoformat())
    )
    lines = []
    for (queue, day), load in sorted(grouped.items()):
        aht = load.human_seconds / load.human_samples if load.human_samples else 0.0
        lines.append(csv_line([queue, _us_date(date.fromisoformat(day)), load.offered, round(aht)]))
    return "".join(lines)


LAYOUTS: Final[dict[str, Callable[[Sequence[IntervalRecord], tzinfo], str]]] = {
    "generic": generic,
    "genesys-cloud": genesys_cloud,
    "verint-strategic-planner": verint_strategic_planner,
}


def render(layout: str, records: Sequence[IntervalRecord], zone: tzinfo) -> str:
    try:
        writer = LAYOUTS[layout]
    except KeyError:
        raise ExportError(f"unknown layout {layout!r}; choose one of {sorted(LAYOUTS)}") from None
    return writer(records, zone)
