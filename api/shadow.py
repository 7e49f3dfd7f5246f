"""Shadow reports through the API (``warmline fleet shadow-report``): a shadow version's stored
answers judged against production's. Fleet readers may read them: a report holds scores, counts
and rule names, never customer text.

The encoder is loaded on the first report a process serves and kept (one per store).
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from models.access import Permission
from models.shadow import ShadowGate, ShadowReport, ShadowReportRequest
from runtime.shadow_report import ShadowReporter
from store.repository import Store

router = APIRouter(prefix="/v1/fleet", tags=["fleet"])
_reporters: weakref.WeakKeyDictionary[Store, ShadowReporter] = weakref.WeakKeyDictionary()


def reporter_for(store: Store) -> ShadowReporter:
    found = _reporters.get(store)
    if found is None:
        found = _reporters[store] = ShadowReporter(store)
    return found


@router.get("/shadow-report", dependencies=[requires(Permission.FLEET_READ)])
async def shadow_report(
    services: Services,
    endpoint: str = Query(description="name:version of the shadow version."),
    since_hours: float | None = Query(default=None, gt=0, description="Default: all kept."),
    min_answers: int = Query(default=ShadowGate().min_answers, ge=1),
) -> ShadowReport:
    if ":" not in endpoint.strip(":"):
        raise ApiError(422, f"endpoint must be name:version, got {endpoint!r}")
    since = (datetime.now(UTC) - timedelta(hours=since_hours)).isoformat() if since_hours else None
    request = ShadowReportRequest(
        endpoint=endpoint, since=since, gate=ShadowGate(min_answers=min_answers)
    )
    return await asyncio.to_thread(reporter_for(services.store).report, request)
