"""The model registry through the API: list versions, register one, change weights and roles,
and close every breaker after maintenance.

Each change is one new routing config version authored by the caller and one event on the
``fleet`` audit stream, in one transaction (``Store.apply_registry_edit``); a change the registry
cannot take (unknown version, retiring the last live one) is refused with 409 and the reason.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter

from api.auth import requires
from api.errors import ApiError
from api.services import ApiServices, Services
from models.access import Permission, Principal
from models.commands import RegisterVersion, RegistryEdit
from models.fleet import (
    FLEET_AUDIT_STREAM,
    OperatorNote,
    RegisterEndpoint,
    RegistryChangeResult,
    RegistryView,
)
from models.health import FLEET_HEALTH_STREAM
from models.routing import RoutingConfig
from store.health import HealthStore
from warmline.default_config import default_routing_config, fleet_endpoint_url
from warmline.registration import registration
from warmline.registry import RegistryError, apply_changes, endpoint_shares

router = APIRouter(prefix="/v1/fleet", tags=["fleet"])

Edit = Callable[[RoutingConfig], tuple[RoutingConfig, list[str]]]


def active_config(services: ApiServices) -> RoutingConfig:
    """The active routing config; a fresh store gets the default first, as workers do."""
    config = services.store.active_routing_config()
    if config is None:
        default = default_routing_config(services.settings.ai_fleet_url)
        config = services.store.save_routing_config(default, "bootstrap")
    return config


async def _apply(
    services: ApiServices,
    principal: Principal,
    edit: Edit,
    payload: dict[str, Any],
    agents: Sequence[str],
) -> RegistryChangeResult:
    change_id = f"api:{uuid.uuid4()}"

    def write() -> tuple[RoutingConfig, bool, list[str]]:
        active_config(services)
        return services.store.apply_registry_edit(
            change_id,
            principal.subject,
            edit,
            stream=FLEET_AUDIT_STREAM,
            kind="registry_change",
            payload=payload,
        )

    try:
        config, applied, reasons = await asyncio.to_thread(write)
    except RegistryError as exc:
        raise ApiError(409, f"refused: {exc}") from None
    shown = [row for agent in dict.fromkeys(agents) for row in endpoint_shares(config, agent)]
    return RegistryChangeResult(
        change_id=change_id,
        applied=applied,
        config_version=config.version,
        reasons=reasons,
        endpoints=shown,
    )


@router.get("/registry", dependencies=[requires(Permission.ROUTING_READ)])
async def registry(services: Services, agent: str | None = None) -> RegistryView:
    """Every registered version (or one agent's) with its role, weight and traffic share."""
    config = await asyncio.to_thread(active_config, services)
    return RegistryView(config_version=config.version, endpoints=endpoint_shares(config, agent))


@router.post("/versions", status_code=201)
async def register(
    request: RegisterVersion,
    services: Services,
    principal: Annotated[Principal, requires(Permission.FLEET_CHANGE)],
) -> RegistryChangeResult:
    """Register a new version (canary at weight 0 unless told otherwise)."""
    default_url = fleet_endpoint_url(services.settings.ai_fleet_url, request.agent, request.version)

    def edit(base: RoutingConfig) -> tuple[RoutingConfig, list[str]]:
        endpoint, notes = registration(base, request, default_url)
        config, reasons = apply_changes(base, [RegisterEndpoint(endpoint=endpoint)])
        return config, reasons + notes

    payload = {"reason": request.reason, "register": request.model_dump(mode="json")}
    return await _apply(services, principal, edit, payload, [request.agent])


@router.post("/changes")
async def change(
    request: RegistryEdit,
    services: Services,
    principal: Annotated[Principal, requires(Permission.FLEET_CHANGE)],
) -> RegistryChangeResult:
    """Set weights or roles, or retire versions, as one config version."""
    payload = {
        "reason": request.reason,
        "changes": [c.model_dump(mode="json") for c in request.changes],
    }
    agents = [c.agent for c in request.changes]
    return await _apply(
        services, principal, lambda base: apply_changes(base, request.changes), payload, agents
    )


@router.post("/health/reset")
async def reset_breakers(
    note: OperatorNote,
    services: Services,
    principal: Annotated[Principal, requires(Permission.FLEET_CHANGE)],
) -> dict[str, int]:
    """Close every breaker and forget every health window (workers adopt it within a second);
    audited on ``fleet-health`` as the caller."""

    def reset() -> int:
        health = HealthStore(services.store)
        health.init_schema()
        reason = note.reason or "maintenance done"
        return health.reset_all(time.time(), principal.subject, reason, FLEET_HEALTH_STREAM)

    return {"closed": await asyncio.to_thread(reset)}
