"""Plan a rollback: which version gives its traffic back, to which, in which shifts.

Computed once from the registry when ``RollbackWorkflow`` starts and kept in its state: each
shift is a set of absolute shares, so a retried or replayed shift changes nothing twice, and
a graduated rollback takes exactly ``ceil(share / step)`` shifts to reach 0 %.
"""

from __future__ import annotations

import math

from models.fleet import RollbackInput, RollbackMode, RollbackPlan, SetShares, endpoint_key
from models.routing import LIVE_ROLES, EndpointRole, RoutingConfig
from warmline.registry import RegistryError, find, live_shares, versions_of

_ROUNDING = 1e-9


def _default_from(config: RoutingConfig, agent: str, shares: dict[str, float]) -> str:
    """The live canary if there is one (the usual suspect), else the largest production."""
    endpoints = {e.version: e for e in versions_of(config, agent)}
    canaries = [v for v in shares if endpoints[v].role is EndpointRole.CANARY]
    if canaries:
        return max(canaries, key=lambda v: shares[v])
    if not shares:
        raise RegistryError(f"{agent} takes no live traffic; nothing to roll back")
    return max(shares, key=lambda v: shares[v])


def _default_to(config: RoutingConfig, agent: str, source: str, shares: dict[str, float]) -> str:
    """Production when a canary goes back; else the version kept warm as rollback."""
    endpoints = versions_of(config, agent)
    source_role = find(config, agent, source).role
    if source_role is EndpointRole.CANARY:
        productions = [
            e.version
            for e in endpoints
            if e.role is EndpointRole.PRODUCTION and e.version != source
        ]
        if productions:
            return max(productions, key=lambda v: shares.get(v, 0.0))
    warm = [e.version for e in endpoints if e.role is EndpointRole.ROLLBACK]
    if not warm:
        raise RegistryError(
            f"{agent} has no version kept warm as rollback; use failover_to_human instead"
        )
    return warm[-1]


def plan_rollback(config: RoutingConfig, request: RollbackInput) -> RollbackPlan:
    """The shifts for an instant or graduated rollback of ``request.agent``."""
    if request.mode is RollbackMode.FAILOVER_TO_HUMAN or request.agent is None:
        raise RegistryError("failover to human moves no traffic between versions; no plan")
    agent = request.agent
    shares = live_shares(config, agent)
    source = request.from_version or _default_from(config, agent, shares)
    target = request.to_version or _default_to(config, agent, source, shares)
    source_role = find(config, agent, source).role
    target_role = find(config, agent, target).role
    if source == target:
        raise RegistryError(f"from_version and to_version are both {source}")
    if shares.get(source, 0.0) <= 0.0:
        raise RegistryError(f"{endpoint_key(agent, source)} takes no traffic; nothing to move")
    if target_role is EndpointRole.RETIRED:
        raise RegistryError(f"{endpoint_key(agent, target)} is retired, not kept warm")
    start = {version: shares.get(version, 0.0) for version in {*shares, target}}
    shifts: list[dict[str, float]] = []
    for left in _remaining_shares(request, start[source]):
        shift = dict(start)
        shift[source] = left
        shift[target] = start[target] + (start[source] - left)
        shifts.append({version: round(share, 9) for version, share in sorted(shift.items())})
    return RollbackPlan(
        agent=agent,
        from_version=source,
        to_version=target,
        from_role=source_role,
        to_role=target_role,
        start_shares={version: round(share, 9) for version, share in sorted(start.items())},
        shifts=shifts,
    )


def _remaining_shares(request: RollbackInput, moving: float) -> list[float]:
    """The source's share after each shift; the last is always exactly 0."""
    if request.mode is RollbackMode.INSTANT:
        return [0.0]
    if request.intervals:
        n = request.intervals
        return [moving * (n - k) / n for k in range(1, n + 1)]
    n = max(1, math.ceil(moving / request.step_percent - _ROUNDING))
    return [max(0.0, moving - k * request.step_percent) if k < n else 0.0 for k in range(1, n + 1)]


def shift_change(plan: RollbackPlan, index: int) -> SetShares:
    """The registry change for shift ``index``: a warm target takes the production role with
    the first shift; the source is retired with the last."""
    roles: dict[str, EndpointRole] = {}
    if plan.to_role not in LIVE_ROLES:
        roles[plan.to_version] = EndpointRole.PRODUCTION
    if index == len(plan.shifts) - 1:
        roles[plan.from_version] = EndpointRole.RETIRED
    shares = {version: share for version, share in plan.shifts[index].items() if share > 0}
    return SetShares(agent=plan.agent, shares=_normalised(shares), roles=roles)


def _normalised(shares: dict[str, float]) -> dict[str, float]:
    """Rounded shares that still sum to exactly 100 (the last absorbs rounding)."""
    total = sum(shares.values())
    versions = sorted(shares)
    result = {version: shares[version] * 100.0 / total for version in versions}
    result[versions[-1]] = 100.0 - sum(result[v] for v in versions[:-1])
    return result
