"""Process-local view of AI endpoint health, fed by every AI call this worker makes.

Why process-local: recording an outcome must not cost a Temporal round trip per interaction.
Each worker keeps its own breakers; the routing activity reads them into a ``FleetSnapshot``
that is recorded in history, so workflow decisions stay deterministic on replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from models.routing import EndpointHealth
from warmline.breaker import (
    Breaker,
    BreakerConfig,
    BreakerState,
    allows_request,
    is_routable,
    on_result,
)


@dataclass(frozen=True)
class CallTicket:
    """One admitted call; the probe's outcome is the only one a Half-open breaker heeds."""

    name: str
    version: str
    probe: bool = False


@dataclass
class _Endpoint:
    breaker: Breaker = field(default_factory=Breaker)
    active: int = 0


class FleetHealth:
    def __init__(
        self, config: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._config = config or BreakerConfig()
        self._clock = clock
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}

    def reset(self) -> None:
        """Forget every endpoint's history (operators after maintenance; tests between cases)."""
        self._endpoints.clear()

    def _get(self, name: str, version: str) -> _Endpoint:
        return self._endpoints.setdefault((name, version), _Endpoint())

    def try_acquire(self, name: str, version: str) -> CallTicket | None:
        """Take a session slot if the breaker lets the call through (None: it does not)."""
        ep = self._get(name, version)
        ep.breaker, allowed, probe = allows_request(ep.breaker, self._clock())
        if not allowed:
            return None
        ep.active += 1
        return CallTicket(name, version, probe)

    def release(self, ticket: CallTicket, success: bool) -> None:
        ep = self._get(ticket.name, ticket.version)
        ep.active = max(0, ep.active - 1)
        ep.breaker = on_result(ep.breaker, success, self._clock(), self._config, ticket.probe)

    def state(self, name: str, version: str) -> str:
        return self._get(name, version).breaker.state.value

    def snapshot(self) -> list[EndpointHealth]:
        """Breaker states as routing should see them: an Open breaker whose timeout has
        passed is reported Half-open, because the next call through it is the probe."""
        now = self._clock()
        views = []
        for (name, version), ep in sorted(self._endpoints.items()):
            state = ep.breaker.state
            if state is BreakerState.OPEN and is_routable(ep.breaker, now):
                state = BreakerState.HALF_OPEN
            views.append(
                EndpointHealth(
                    name=name, version=version, breaker=state.value, active_sessions=ep.active
                )
            )
        return views
