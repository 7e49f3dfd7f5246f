"""Access administration: service-account API keys (``access_admin``) and "who am I".

Issuing and revoking are audited on the ``access`` stream with the administrator's identity. An
administrator can issue a key with any roles, including ones they do not hold: that is what
administering access means, and the audit is what keeps it answerable.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import authenticated, requires
from api.errors import ApiError
from api.services import Services
from models.access import ApiKeyInfo, ApiKeyRequest, IssuedApiKey, Permission, Principal, WhoAmI
from store.api_keys import UnknownApiKey
from warmline.access import permissions_of

router = APIRouter(prefix="/v1/access", tags=["access"])


@router.get("/whoami")
async def whoami(principal: Annotated[Principal, Depends(authenticated)]) -> WhoAmI:
    """The caller's identity, roles and permissions (any valid credential)."""
    return WhoAmI(
        subject=principal.subject,
        via=principal.via,
        roles=sorted(principal.roles),
        permissions=sorted(permissions_of(principal.roles)),
    )


@router.post("/keys", status_code=201)
async def issue_key(
    request: ApiKeyRequest,
    services: Services,
    principal: Annotated[Principal, requires(Permission.ACCESS_ADMIN)],
) -> IssuedApiKey:
    """Issue a service-account key; its token is in this response only."""
    return await asyncio.to_thread(
        services.keys.issue, request, principal.subject, services.server_secret
    )


@router.get("/keys", dependencies=[requires(Permission.ACCESS_ADMIN)])
async def list_keys(services: Services, include_revoked: bool = False) -> list[ApiKeyInfo]:
    """Keys without their secrets, oldest first."""
    return await asyncio.to_thread(services.keys.list, include_revoked)


@router.delete("/keys/{key_id}")
async def revoke_key(
    key_id: str,
    services: Services,
    principal: Annotated[Principal, requires(Permission.ACCESS_ADMIN)],
) -> ApiKeyInfo:
    """Revoke a key at once: its next request gets 401."""
    try:
        return await asyncio.to_thread(services.keys.revoke, key_id, principal.subject)
    except UnknownApiKey as exc:
        raise ApiError(404, str(exc)) from None
