"""The WFM polling API (FastAPI, OpenAPI at ``/v1/wfm/openapi.json``, docs at ``/v1/wfm/docs``).

``wfm_router(store, require_reader, require_planner)`` builds the routes; authentication is the
caller's dependency, so the same router serves any auth scheme. Every range is bounded (an
interval page covers at most 31 days and 1,000 rows, a 5-minute trend two days), every input is
validated with a 4xx naming what is wrong, and everything is read in SQL: no handler loads
fact rows.

Reads: intraday snapshot, interval pages, capacity status, plan vs actual with the intraday
re-forecast, containment trend (5-minute rolling, hourly, daily, weekly, monthly), the summary.
Writes (schedule sync, the planner credential): the staffing plan as JSON or CSV, applied whole
or refused whole with every bad row and column named.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from api.errors import error_response
from models.wfm import (
    CapacityStatus,
    ContainmentPoint,
    ContainmentTrend,
    EndpointCapacity,
    ErrorDetail,
    IntervalPage,
    IntradaySnapshot,
    PlanApplied,
    PlanPush,
    PlanVsActualReport,
)
from store.health import HealthStore
from store.intervals import IntervalStore, to_record
from store.repository import Store
from store.staffing_plan import PlanStore
from store.summary import DemoSummary, summarize
from store.wfm_events import WfmEventStore
from store.wfm_views import WfmViews
from warmline.staffing_plan import (
    PlanRejected,
    check_plan,
    parse_plan_csv,
    plan_vs_actual,
    reforecast,
)
from warmline.wfm_events import AlertConfig

MAX_RANGE = timedelta(days=31)
MAX_5M_RANGE = timedelta(days=2)
MAX_TREND_RANGE = timedelta(days=800)
MAX_PAGE = 1000
MAX_PLAN_BYTES = 5_000_000
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad range or parameter", "model": ErrorDetail},
    401: {"description": "Missing or wrong credential", "model": ErrorDetail},
    403: {"description": "The credential lacks the permission", "model": ErrorDetail},
    422: {"description": "Invalid request or refused plan", "model": ErrorDetail},
}
"""Every refusal has the API's one shape (``api.errors``); a refused plan's ``details`` name
each problem with ``loc`` = ["body", row, column]."""

Dependency = Callable[..., Any]
ISO_MOMENT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
"""Times in queries are ISO 8601 with an offset: epoch numbers and naive times are refused."""
Interval = Literal[15, 30, 60]
Granularity = Literal["5m", "hour", "day", "week", "month"]


def _bad(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def _moment(text: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _bad(f"{name}: {text!r} is not a valid time ({exc})") from exc


def _range(start_text: str, end_text: str, limit: timedelta) -> tuple[datetime, datetime]:
    start, end = _moment(start_text, "start"), _moment(end_text, "end")
    if end <= start:
        raise _bad("end must be after start")
    if end - start > limit:
        raise _bad(f"at most {limit.days} days per request")
    return start, end


def _rejection(exc: PlanRejected) -> JSONResponse:
    """Nothing of the plan was applied; every problem with its row and column."""
    detail = [
        {
            "loc": ["body", p.row, p.column],
            "msg": f"plan refused, nothing applied: {p}",
            "type": "plan_rejected",
        }
        for p in exc.problems
    ]
    return error_response(422, "plan refused, nothing applied", details=detail)


def wfm_router(
    store: Store,
    require_reader: Dependency,
    require_planner: Dependency,
    *,
    interval_minutes: int = 15,
    target_service_level: float = 0.8,
    target_answer_seconds: float = 20.0,
) -> APIRouter:
    """The WFM routes over ``store``; ``require_reader`` guards reads, ``require_planner`` the
    schedule push (each a FastAPI dependency that raises 401/403)."""
    intervals = IntervalStore(store.engine)
    intervals.init_schema()
    plans = PlanStore(store.engine)
    plans.init_schema()
    health = HealthStore(store)
    health.init_schema()
    events = WfmEventStore(store)
    views = WfmViews(store.engine)
    read = APIRouter(dependencies=[Depends(require_reader)], responses=ERRORS, tags=["wfm"])
    write = APIRouter(dependencies=[Depends(require_planner)], responses=ERRORS, tags=["schedule"])

    def capacity() -> CapacityStatus:
        endpoints = []
        for b in health.breakers():
            level = (b.degradation or {}).get("level")
            endpoints.append(
                EndpointCapacity(
                    endpoint=f"{b.name}:{b.version}",
                    breaker=b.state,
                    degradation=str(level) if level else None,
                    reasons=list(b.reasons),
                    updated_at=b.updated_at,
                )
            )
        opened = sum(e.breaker == "open" for e in endpoints)
        degraded = sum(
            e.breaker in ("degraded", "half_open") or bool(e.degradation) for e in endpoints
        )
        status = "available"
        if endpoints and opened == len(endpoints):
            status = "unavailable"
        elif opened or degraded:
            status = "degraded"
        return CapacityStatus(status=status, endpoints=endpoints, open=opened, degraded=degraded)

    @read.get("/summary", response_model=DemoSummary, summary="Volume, containment, handle times")
    async def summary(
        since: Annotated[
            str | None, Query(pattern=ISO_MOMENT, description="Facts started at or after.")
        ] = None,
    ) -> DemoSummary:
        stamp = _moment(since, "since").isoformat() if since else None
        return await asyncio.to_thread(summarize, store, stamp)

    @read.get("/intervals", response_model=IntervalPage, summary="Interval rows, paged")
    async def interval_page(
        start: Annotated[str, Query(pattern=ISO_MOMENT, description="Range start (ISO 8601).")],
        end: Annotated[
            str, Query(pattern=ISO_MOMENT, description="Range end, exclusive; at most 31 days.")
        ],
        interval: Annotated[Interval, Query(description="Interval length in minutes.")] = 15,
        queue: Annotated[str | None, Query(max_length=200)] = None,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
        page_token: Annotated[str | None, Query(max_length=20, pattern=r"^\d{1,12}$")] = None,
    ) -> IntervalPage:
        lo, hi = _range(start, end, MAX_RANGE)
        offset = int(page_token or 0)

        def page() -> IntervalPage:
            rows = intervals.rows(interval, lo, hi, queue=queue, offset=offset, limit=page_size + 1)
            more = len(rows) > page_size
            return IntervalPage(
                items=[to_record(r) for r in rows[:page_size]],
                next_page_token=str(offset + page_size) if more else None,
                total=intervals.count(interval, lo, hi),
            )

        return await asyncio.to_thread(page)

    @read.get("/capacity", response_model=CapacityStatus, summary="AI capacity status")
    async def capacity_status() -> CapacityStatus:
        return await asyncio.to_thread(capacity)

    @read.get("/containment", response_model=ContainmentTrend, summary="Containment trend")
    async def containment(
        granularity: Granularity,
        start: Annotated[str, Query(pattern=ISO_MOMENT, description="Range start.")],
        end: Annotated[
            str, Query(pattern=ISO_MOMENT, description="Range end (5m: at most 2 days).")
        ],
    ) -> ContainmentTrend:
        limit = MAX_5M_RANGE if granularity == "5m" else MAX_TREND_RANGE
        lo, hi = _range(start, end, limit)
        rows = await asyncio.to_thread(
            views.containment_trend, interval_minutes, granularity, lo, hi
        )
        return ContainmentTrend(
            granularity=granularity,
            points=[
                ContainmentPoint(
                    period_start=r.period_start,
                    ai_interactions=r.ai_interactions,
                    contained=r.contained,
                    containment_rate=(
                        round(r.contained / r.ai_interactions, 6) if r.ai_interactions else None
                    ),
                )
                for r in rows
            ],
        )

    def report(lo: datetime, hi: datetime, queue: str | None, now: datetime) -> PlanVsActualReport:
        plan = plans.between(lo, hi, queue)
        actual = views.human_actuals(interval_minutes, lo, hi, queue)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today_plan = plans.between(day, day + timedelta(days=1), queue)
        today_actual = views.human_actuals(interval_minutes, day, day + timedelta(days=1), queue)
        return PlanVsActualReport(
            intervals=plan_vs_actual(
                plan, actual, interval_minutes * 60, target_service_level, target_answer_seconds
            ),
            reforecast=reforecast(today_plan, today_actual, now),
        )

    @read.get("/plan-vs-actual", response_model=PlanVsActualReport, summary="Plan vs actual")
    async def plan_against_actual(
        start: Annotated[str, Query(pattern=ISO_MOMENT, description="Range start.")],
        end: Annotated[str, Query(pattern=ISO_MOMENT, description="Range end; at most 31 days.")],
        queue: Annotated[str | None, Query(max_length=200)] = None,
    ) -> PlanVsActualReport:
        lo, hi = _range(start, end, MAX_RANGE)
        return await asyncio.to_thread(report, lo, hi, queue, datetime.now(UTC))

    @read.get("/intraday", response_model=IntradaySnapshot, summary="Today so far (UTC day)")
    async def intraday() -> IntradaySnapshot:
        def snapshot() -> IntradaySnapshot:
            now = datetime.now(UTC)
            day = now.replace(hour=0, minute=0, second=0, microsecond=0)
            totals = views.totals(interval_minutes, day, now + timedelta(seconds=1))
            rolling = events.containment(now.timestamp(), AlertConfig())
            window = rolling.window
            length = interval_minutes * 60
            current = datetime.fromtimestamp(int(now.timestamp()) // length * length, UTC)
            return IntradaySnapshot(
                day_start=day,
                as_of=now,
                offered=totals.offered,
                handled=totals.handled,
                human_bound=totals.human_bound,
                ai_contained=totals.contained,
                ai_handed_off=totals.handed_off,
                containment_today=(
                    round(totals.contained / totals.ai_interactions, 6)
                    if totals.ai_interactions
                    else None
                ),
                containment_5m=round(window.part / window.whole, 6) if window.whole else None,
                capacity=capacity(),
                current_interval=report(
                    current, current + timedelta(seconds=length), None, now
                ).intervals,
            )

        return await asyncio.to_thread(snapshot)

    def apply(rows: list[Any], minutes: int, source: str) -> PlanApplied:
        return plans.apply(rows, minutes, source)

    @write.put(
        "/plan",
        response_model=PlanApplied,
        summary="Push planned human capacity (JSON)",
    )
    async def push_plan(push: Annotated[PlanPush, Body()]) -> Any:
        try:
            check_plan(push.intervals, push.interval_minutes)
        except PlanRejected as exc:
            return _rejection(exc)
        return await asyncio.to_thread(apply, push.intervals, push.interval_minutes, "api")

    @write.post(
        "/plan.csv",
        response_model=PlanApplied,
        summary="Push planned human capacity (CSV)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
        responses={413: {"description": "File too large", "model": ErrorDetail}},
    )
    async def push_plan_csv(
        request: Request, interval: Annotated[Interval, Query(description="Minutes.")] = 15
    ) -> Any:
        body = await request.body()
        if len(body) > MAX_PLAN_BYTES:
            raise HTTPException(status_code=413, detail=f"at most {MAX_PLAN_BYTES} bytes")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _bad(f"the file is not UTF-8: {exc.reason} at byte {exc.start}") from exc
        try:
            rows = await asyncio.to_thread(parse_plan_csv, text, interval)
        except PlanRejected as exc:
            return _rejection(exc)
        return await asyncio.to_thread(apply, rows, interval, "csv")

    router = APIRouter()
    router.include_router(read)
    router.include_router(write)
    return router
