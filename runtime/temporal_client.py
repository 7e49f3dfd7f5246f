"""Temporal client construction from settings: one place for address, TLS, API key, converter.

The converter is ``warmline_data_converter``: pydantic JSON, encrypted by the payload codec, so
nothing a Warmline process sends is stored in Temporal's history in clear.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import TLSConfig

from runtime.codec import warmline_data_converter
from runtime.settings import Settings


async def connect(settings: Settings) -> Client:
    tls: TLSConfig | bool = settings.temporal_tls
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls if api_key is None else (tls or True),
        api_key=api_key,
        data_converter=warmline_data_converter(settings),
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register Warmline's search attributes if the namespace lacks them (idempotent).

    Temporal Cloud registers them through its own control plane; there this is a no-op that
    logs why.
    """
    import logging

    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError

    from models.search_attributes import ALL

    operator = client.operator_service
    try:
        existing = await operator.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {
            key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
            for key in ALL
            if key.name not in existing.custom_attributes
        }
        if missing:
            await operator.add_search_attributes(
                AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
            )
    except RPCError as exc:
        logging.getLogger("warmline").warning("search attributes not registered: %s", exc)
