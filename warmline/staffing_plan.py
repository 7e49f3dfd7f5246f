"""Schedule sync: the WFM platform's planned human capacity, checked, compared and re-forecast.

Pure. A plan arrives as rows (interval x queue: planned agents, optionally the forecast
human-bound volume and AHT), by API or CSV. It is validated whole before anything is stored:
one bad cell refuses the file, and every error names its row and column. Once stored it feeds
routing (``capacity_outlook``: is human capacity about to drop?), plan vs actual per interval,
and an intraday re-forecast of human-bound volume by the ratio of actual to planned so far.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from models.routing import HumanAvailability, ScheduleAwareness
from models.wfm import PlannedInterval, PlanVsActual, Reforecast
from warmline.erlang import agents_needed

PLAN_COLUMNS: Final = (
    "interval_start",
    "queue",
    "planned_agents",
    "planned_volume",
    "planned_aht_seconds",
)
REQUIRED_COLUMNS: Final = ("interval_start", "queue", "planned_agents")
MAX_ERRORS: Final = 20
REFORECAST_RATIO_BOUNDS: Final = (0.25, 4.0)
"""A morning at 10x plan is more likely a data problem than a forecast: the ratio is bounded."""


@dataclass(frozen=True)
class PlanProblem:
    row: int
    """1-based line of the file (the header is row 1); for JSON, the 1-based item."""
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


class PlanRejected(ValueError):
    """The plan was refused whole; ``problems`` name each bad row and column."""

    def __init__(self, problems: Sequence[PlanProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _aligned(moment: datetime, interval_minutes: int) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and moment.minute % interval_minutes == 0


def check_plan(rows: Sequence[PlannedInterval], interval_minutes: int, first_row: int = 1) -> None:
    """Whole-plan rules a single row cannot check: boundaries and duplicates."""
    if interval_minutes not in (15, 30, 60):
        raise PlanRejected([PlanProblem(0, "interval_minutes", "must be 15, 30 or 60")])
    problems: list[PlanProblem] = []
    seen: dict[tuple[str, datetime], int] = {}
    for offset, row in enumerate(rows):
        number = first_row + offset
        if row.interval_start.tzinfo is None:
            problems.append(PlanProblem(number, "interval_start", "needs a UTC offset or Z"))
        elif not _aligned(row.interval_start.astimezone(UTC), interval_minutes):
            problems.append(
                PlanProblem(
                    number,
                    "interval_start",
                    f"{row.interval_start.isoformat()} is not on a {interval_minutes}-minute "
                    "boundary",
                )
            )
        key = (row.queue, row.interval_start)
        if key in seen:
            problems.append(
                PlanProblem(number, "interval_start", f"duplicates row {seen[key]} for {row.queue}")
            )
        seen.setdefault(key, number)
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise PlanRejected(problems)


def _number(text: str, row: int, column: str, whole: bool, problems: list[PlanProblem]) -> float:
    try:
        value = float(text) if not whole else int(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        problems.append(PlanProblem(row, column, f"{text!r} is not {kind}"))
        return 0.0
    if not math.isfinite(value) or value < 0:
        problems.append(PlanProblem(row, column, f"{text!r} must be >= 0"))
    return value


def parse_plan_csv(text: str, interval_minutes: int) -> list[PlannedInterval]:
    """Rows of a plan CSV (header row required; ``PLAN_COLUMNS``, the last two optional)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PlanRejected([PlanProblem(1, "header", "the file is empty")])
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in PLAN_COLUMNS]
    if missing or unknown:
        what = [f"missing {', '.join(missing)}"] if missing else []
        what += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise PlanRejected([PlanProblem(1, "header", "; ".join(what))])
    problems: list[PlanProblem] = []
    rows: list[PlannedInterval] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                PlanProblem(number, "*", f"{len(cells)} fields, the header has {len(header)}")
            )
            continue
        values = dict(zip(header, (c.strip() for c in cells), strict=True))
        before = len(problems)
        try:
            start = datetime.fromisoformat(values["interval_start"].replace("Z", "+00:00"))
        except ValueError:
            problems.append(PlanProblem(number, "interval_start", "not an ISO 8601 time"))
            start = datetime.min.replace(tzinfo=UTC)
        if not values["queue"]:
            problems.append(PlanProblem(number, "queue", "empty"))
        agents = _number(values["planned_agents"], number, "planned_agents", True, problems)
        volume = aht = None
        if values.get("planned_volume"):
            volume = _number(values["planned_volume"], number, "planned_volume", False, problems)
        if values.get("planned_aht_seconds"):
            aht = _number(
                values["planned_aht_seconds"], number, "planned_aht_seconds", False, problems
            )
            if aht == 0:
                problems.append(PlanProblem(number, "planned_aht_seconds", "must be > 0"))
        if len(problems) == before:
            try:
                rows.append(
                    PlannedInterval(
                        interval_start=start,
                        queue=values["queue"],
                        planned_agents=int(agents),
                        planned_volume=volume,
                        planned_aht_seconds=aht,
                    )
                )
            except ValueError as exc:  # pydantic's bounds (agents, AHT, queue length)
                problems.append(PlanProblem(number, "*", str(exc).splitlines()[-1].strip()))
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise PlanRejected(problems)
    if not rows:
        raise PlanRejected([PlanProblem(2, "*", "no plan rows")])
    check_plan(rows, interval_minutes, first_row=2)
    return rows


# -- routing: is human capacity about to drop? ---------------------------------------------------
@dataclass(frozen=True)
class Outlook:
    low: bool
    reason: str
    lowest_agents: int | None = None


def capacity_outlook(availability: HumanAvailability | None, policy: ScheduleAwareness) -> Outlook:
    """Low when the plan, within the lookahead, drops below ``low_capacity_ratio`` of the
    agents staffed now (a break wave, a shift end) or to ``min_planned_agents`` or fewer."""
    if availability is None or not availability.plan or not policy.enabled:
        return Outlook(False, "no staffing plan for the queue")
    ahead = availability.plan[: max(1, policy.lookahead_intervals)]
    lowest = min(ahead, key=lambda p: (p.planned_agents, p.interval_start))
    staffed = availability.agents or ahead[0].planned_agents
    threshold = staffed * policy.low_capacity_ratio
    where = (
        f"queue {availability.queue}: planned agents {lowest.planned_agents} at "
        f"{lowest.interval_start}"
    )
    if lowest.planned_agents <= policy.min_planned_agents:
        return Outlook(True, f"{where} <= {policy.min_planned_agents}", lowest.planned_agents)
    if lowest.planned_agents < threshold:
        return Outlook(
            True,
            f"{where} < {policy.low_capacity_ratio:g} x {staffed} staffed now",
            lowest.planned_agents,
        )
    return Outlook(False, f"{where}; no drop ahead", lowest.planned_agents)


# -- plan vs actual, and the intraday re-forecast -----------------------------------------------
@dataclass(frozen=True)
class Actual:
    interval_start: datetime
    queue: str
    volume: int
    human_seconds: float
    human_samples: int


def plan_vs_actual(
    plan: Iterable[PlannedInterval],
    actuals: Iterable[Actual],
    interval_seconds: int,
    target_service_level: float,
    target_answer_seconds: float,
) -> list[PlanVsActual]:
    planned = {(p.interval_start.astimezone(UTC), p.queue): p for p in plan}
    happened = {(a.interval_start.astimezone(UTC), a.queue): a for a in actuals}
    out = []
    for key in sorted(set(planned) | set(happened)):
        p, a = planned.get(key), happened.get(key)
        volume = a.volume if a else 0
        aht = a.human_seconds / a.human_samples if a and a.human_samples else None
        if aht is None and p is not None:
            aht = p.planned_aht_seconds
        required = None
        if volume and aht:
            required = agents_needed(
                volume, aht, interval_seconds, target_service_level, target_answer_seconds
            )
        out.append(
            PlanVsActual(
                interval_start=key[0],
                queue=key[1],
                planned_agents=p.planned_agents if p else None,
                planned_volume=p.planned_volume if p else None,
                actual_volume=volume,
                actual_aht_seconds=round(aht, 3) if aht is not None else None,
                required_agents=required,
                staffing_variance=(
                    p.planned_agents - required if p is not None and required is not None else None
                ),
                volume_variance=(
                    round(volume - p.planned_volume, 3)
                    if p is not None and p.planned_volume is not None
                    else None
                ),
            )
        )
    return out


def reforecast(
    plan: Iterable[PlannedInterval], actuals: Iterable[Actual], now: datetime
) -> list[Reforecast]:
    """Future intervals' planned human-bound volume scaled by each queue's actual / planned so
    far today (intervals that ended before ``now``), bounded to ``REFORECAST_RATIO_BOUNDS``."""
    plan = list(plan)
    actual_by_key = {(a.interval_start.astimezone(UTC), a.queue): a.volume for a in actuals}
    so_far: dict[str, tuple[float, float]] = {}
    for p in plan:
        start = p.interval_start.astimezone(UTC)
        if start >= now or p.planned_volume is None:
            continue
        got, expected = so_far.get(p.queue, (0.0, 0.0))
        so_far[p.queue] = (
            got + actual_by_key.get((start, p.queue), 0),
            expected + p.planned_volume,
        )
    low, high = REFORECAST_RATIO_BOUNDS
    out = []
    for p in sorted(plan, key=lambda p: (p.interval_start, p.queue)):
        if p.interval_start.astimezone(UTC) < now or p.planned_volume is None:
            continue
        got, expected = so_far.get(p.queue, (0.0, 0.0))
        reasons = []
        if expected <= 0:
            ratio = 1.0
            reasons.append("no planned volume has elapsed yet today: plan kept")
        else:
            raw = got / expected
            ratio = min(high, max(low, raw))
            reasons.append(f"actual {got:g} vs planned {expected:g} so far today: x{raw:.3f}")
            if ratio != raw:
                reasons.append(f"ratio bounded to {ratio:g}")
        out.append(
            Reforecast(
                interval_start=p.interval_start.astimezone(UTC),
                queue=p.queue,
                planned_volume=p.planned_volume,
                reforecast_volume=round(p.planned_volume * ratio, 3),
                ratio=round(ratio, 6),
                reasons=reasons,
            )
        )
    return out
