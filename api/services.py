"""What the API's handlers share: the store, settings, the Temporal client, the API keys.

One ``ApiServices`` per app (``app.state.services``), handed to handlers through ``Services``.
Privileged reads (decrypted payloads, an interaction's transcript) are recorded here, on the
``privileged-reads`` audit stream: who read what, when.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from api.temporal import TemporalAccess
from models.access import Principal
from runtime.settings import Settings
from store.api_keys import ApiKeyStore
from store.repository import Store

PRIVILEGED_READS_STREAM = "privileged-reads"
"""Audit stream of reads of customer text: codec decodes and interaction status reads."""


@dataclass
class ApiServices:
    store: Store
    settings: Settings
    temporal: TemporalAccess
    keys: ApiKeyStore
    server_secret: bytes

    async def record_read(
        self, principal: Principal, kind: str, payload: Mapping[str, Any]
    ) -> None:
        """Audit a read of customer text; it commits before the text is returned."""
        await asyncio.to_thread(
            self.store.append_audit_auto,
            PRIVILEGED_READS_STREAM,
            kind,
            principal.subject,
            {"via": principal.via.value, **payload},
        )


def services(request: Request) -> ApiServices:
    found: ApiServices = request.app.state.services
    return found


Services = Annotated[ApiServices, Depends(services)]
