"""Liveness, readiness, Prometheus metrics and the WFM summary.

``/healthz`` and ``/readyz`` answer without a credential (orchestrators probe them); they say
nothing about the data. ``/metrics`` needs ``metrics_read``: in the compose stack Prometheus
scrapes the API's separate metrics port on the internal network instead (like the workers').
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from models.access import Permission

router = APIRouter()


@router.get("/healthz", tags=["system"])
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["system"])
async def ready(services: Services) -> dict[str, str]:
    """Readiness: the store answers (Temporal is connected on first use)."""

    def ping() -> None:
        with services.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.to_thread(ping)
    except SQLAlchemyError as exc:
        raise ApiError(503, f"store unreachable: {type(exc).__name__}") from None
    return {"status": "ready"}


@router.get("/metrics", tags=["system"], dependencies=[requires(Permission.METRICS_READ)])
async def metrics() -> Response:
    """This process's Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/supervision/volume", tags=["wfm"], dependencies=[requires(Permission.WFM_READ)])
async def supervision_volume(
    services: Services,
    hours: float = Query(default=24.0, gt=0, le=24 * 366, description="Window ending now"),
    intent: str | None = None,
) -> dict[str, Any]:
    """Supervision queue volume and the supervisors it implies."""
    until = datetime.now(UTC)
    volume = await asyncio.to_thread(
        services.store.supervision_volume, until - timedelta(hours=hours), until, intent
    )
    return volume.model_dump(mode="json")
