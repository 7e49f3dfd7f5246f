"""Routing config versions: read them, store a new one (authored by the caller's identity).

Every save is a new version whose author is the authenticated principal, with an entry on the
``routing-config`` audit stream in the same transaction; workers pick it up within seconds.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from models.access import Permission, Principal
from models.routing import RoutingConfig

router = APIRouter(prefix="/v1/routing-config", tags=["routing"])


@router.get("", dependencies=[requires(Permission.ROUTING_READ)])
async def active_config(services: Services) -> dict[str, Any]:
    """The active routing config (the highest version)."""
    config = await asyncio.to_thread(services.store.active_routing_config)
    if config is None:
        raise ApiError(404, "no routing config stored yet (workers store the default on first use)")
    return config.model_dump(mode="json")


@router.get("/versions", dependencies=[requires(Permission.ROUTING_READ)])
async def versions(services: Services) -> list[dict[str, Any]]:
    """Every version with its author and time, oldest first."""
    rows = await asyncio.to_thread(services.store.list_routing_configs)
    return [{"version": v, "author": a, "created_at": t} for v, a, t in rows]


@router.get("/versions/{version}", dependencies=[requires(Permission.ROUTING_READ)])
async def version(version: int, services: Services) -> dict[str, Any]:
    config = await asyncio.to_thread(services.store.get_routing_config, version)
    if config is None:
        raise ApiError(404, f"no routing config version {version}")
    return config.model_dump(mode="json")


@router.post("", status_code=201)
async def save(
    config: RoutingConfig,
    services: Services,
    principal: Annotated[Principal, requires(Permission.ROUTING_CHANGE)],
) -> dict[str, Any]:
    """Store ``config`` as the next version, authored by the caller."""
    saved = await asyncio.to_thread(services.store.save_routing_config, config, principal.subject)
    return {"version": saved.version, "author": saved.author}
