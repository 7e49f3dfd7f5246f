"""Registry entries for the pure fleet tests (registry, rollback plans, automatic rollback)."""

from __future__ import annotations

from models.routing import AIEndpoint, EndpointRole

AGENT = "care-bot"


def endpoint(
    version: str, role: EndpointRole = EndpointRole.CANARY, weight: float = 0.0
) -> AIEndpoint:
    """A version of ``AGENT`` that can take every intent."""
    return AIEndpoint(
        name=AGENT,
        version=version,
        role=role,
        url=f"http://fleet/agents/{AGENT}/{version}/v1",
        weight=weight,
        capability={"*": 0.9},
    )
