"""What a registration asks for, as the endpoint the registry stores.

Apart from ``warmline.registry`` because it reads URLs (``urllib``), which the registry's
workflow callers must not import (``tests/workflows/test_determinism_guard.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from models.commands import RegisterVersion
from models.fleet import endpoint_key
from models.routing import AIEndpoint, EndpointRole, RoutingConfig
from warmline.registry import RegistryError, versions_of


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def registration(
    config: RoutingConfig, request: RegisterVersion, default_url: str
) -> tuple[AIEndpoint, list[str]]:
    """The endpoint a registration asks for, profiled like ``like`` (default: the agent's
    production version), and notes on what was not copied.

    The copied ``api_key_env`` names a vendor key the workers send along; it is kept only when
    the new URL has the template's origin, so registering a version elsewhere never sends the
    production key to a host nobody configured it for.
    """
    siblings = versions_of(config, request.agent)
    if request.like is not None:
        template = next((e for e in siblings if e.version == request.like), None)
        if template is None:
            raise RegistryError(
                f"like: {endpoint_key(request.agent, request.like)} is not registered"
            )
    else:
        template = next((e for e in siblings if e.role is EndpointRole.PRODUCTION), None)
    base: dict[str, Any] = template.model_dump() if template else {"capability": {"*": 0.8}}
    url = request.url or default_url
    base.update(
        name=request.agent,
        version=request.version,
        role=request.role,
        weight=request.weight,
        url=url,
    )
    base["capability"] = {**base.get("capability", {}), **request.capability}
    for field in ("region", "cost_per_1k_tokens", "max_concurrent", "model"):
        value = getattr(request, field)
        if value is not None:
            base[field] = value
    notes: list[str] = []
    if template and template.api_key_env and _origin(url) != _origin(template.url):
        base["api_key_env"] = None
        notes.append(
            f"api_key_env {template.api_key_env} not copied: {url} is not {template.version}'s host"
        )
    return AIEndpoint.model_validate(base), notes
