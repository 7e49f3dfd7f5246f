"""Temporal client construction from settings: one place for address, TLS, API key, converter.

The converter is ``warmline_data_converter``: pydantic JSON, encrypted by the payload codec, so
nothing a Warmline process sends is stored in Temporal's history in clear.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from runtime.codec import warmline_data_converter
from runtime.settings import Settings
from runtime.tracing import tracing_for


def read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path else None


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client for ``settings``; ``runtime`` carries the SDK metrics of a worker process, and
    with ``WARMLINE_TRACING`` on the client (and every worker on it) traces."""
    tls: TLSConfig | bool = settings.temporal_tls
    mtls = settings.temporal_tls_cert and settings.temporal_tls_key
    if mtls or settings.temporal_tls_ca:
        tls = TLSConfig(
            server_root_ca_cert=read(settings.temporal_tls_ca),
            client_cert=read(settings.temporal_tls_cert if mtls else None),
            client_private_key=read(settings.temporal_tls_key if mtls else None),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    tracing = tracing_for(settings)
    interceptors: list[Interceptor] = [tracing.interceptor] if tracing else []
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls if api_key is None else (tls or True),
        api_key=api_key,
        data_converter=warmline_data_converter(settings),
        interceptors=interceptors,
        runtime=runtime,
    )
