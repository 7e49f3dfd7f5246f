"""The model registry: pure edits of a ``RoutingConfig``'s versioned ``ai_endpoints``.

Every edit returns a new config and one sentence saying what changed, never mutating its
input; the store saves the result as a new config version with the change's author, so the
registry's history is the config history. Weights are written as percentages of the agent's
live traffic, which makes a config readable as it stands ("canary 5, production 95").

Edits are idempotent where a retry or a replay might repeat them: absolute targets (shares,
roles), and a promotion or rejection applied twice leaves the registry as after the first.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.fleet import (
    EndpointShare,
    FailoverToHuman,
    PromoteCanary,
    RegisterEndpoint,
    RegistryChange,
    RejectCanary,
    RetireEndpoint,
    SetCanaryShare,
    SetRole,
    SetShares,
    SetWeight,
    endpoint_key,
)
from models.routing import LIVE_ROLES, AIEndpoint, EndpointRole, RoutingConfig

FULL_SHARE = 100.0


class RegistryError(ValueError):
    """An edit that cannot apply to this registry (unknown version, wrong role, ...)."""


def _fmt(value: float) -> str:
    return f"{round(value, 3):g}"


def versions_of(config: RoutingConfig, agent: str) -> list[AIEndpoint]:
    return [endpoint for endpoint in config.ai_endpoints if endpoint.name == agent]


def find(config: RoutingConfig, agent: str, version: str) -> AIEndpoint:
    for endpoint in config.ai_endpoints:
        if endpoint.name == agent and endpoint.version == version:
            return endpoint
    known = ", ".join(e.version for e in versions_of(config, agent)) or "none"
    raise RegistryError(f"{endpoint_key(agent, version)} is not registered (versions: {known})")


def is_live(endpoint: AIEndpoint) -> bool:
    return endpoint.role in LIVE_ROLES and endpoint.weight > 0


def live_shares(config: RoutingConfig, agent: str) -> dict[str, float]:
    """version -> percent of the agent's live traffic, for versions that take any."""
    live = [e for e in versions_of(config, agent) if is_live(e)]
    total = sum(e.weight for e in live)
    return {e.version: e.weight / total * FULL_SHARE for e in live} if total else {}


def endpoint_shares(config: RoutingConfig, agent: str | None = None) -> list[EndpointShare]:
    """The registry as operators read it, in config order."""
    agents = [agent] if agent else list(dict.fromkeys(e.name for e in config.ai_endpoints))
    rows: list[EndpointShare] = []
    for name in agents:
        shares = live_shares(config, name)
        rows += [
            EndpointShare(
                name=e.name,
                version=e.version,
                role=e.role,
                weight=e.weight,
                share_percent=round(shares.get(e.version, 0.0), 4),
                region=e.region,
                cost_per_1k_tokens=e.cost_per_1k_tokens,
                max_concurrent=e.max_concurrent,
            )
            for e in versions_of(config, name)
        ]
    return rows


def _replace(
    config: RoutingConfig, updates: dict[tuple[str, str], dict[str, object]]
) -> RoutingConfig:
    """A copy of ``config`` with fields of some endpoints updated (others untouched)."""
    endpoints = [
        e.model_copy(update=updates[(e.name, e.version)]) if (e.name, e.version) in updates else e
        for e in config.ai_endpoints
    ]
    return config.model_copy(update={"ai_endpoints": endpoints})


def _check_unique_role(config: RoutingConfig, agent: str, version: str, role: EndpointRole) -> None:
    """Routing gives one shadow per agent its copies; a second one would silently get none."""
    if role is not EndpointRole.SHADOW:
        return
    for other in versions_of(config, agent):
        if other.version != version and other.role is EndpointRole.SHADOW:
            raise RegistryError(f"{agent} already has shadow {other.version}; retire it first")


def register(config: RoutingConfig, change: RegisterEndpoint) -> tuple[RoutingConfig, str]:
    new = change.endpoint
    for existing in versions_of(config, new.name):
        if existing.version == new.version:
            if existing == new:
                return config, f"{endpoint_key(new.name, new.version)} already registered"
            raise RegistryError(
                f"{endpoint_key(new.name, new.version)} is already registered differently; "
                "register a new version instead of changing a released one"
            )
    _check_unique_role(config, new.name, new.version, new.role)
    weight = new.weight if new.role in LIVE_ROLES else 0.0
    added = new.model_copy(update={"weight": weight})
    endpoints = [*config.ai_endpoints, added]
    return config.model_copy(update={"ai_endpoints": endpoints}), (
        f"registered {endpoint_key(new.name, new.version)} as {new.role.value} "
        f"weight {_fmt(weight)}"
    )


def set_weight(config: RoutingConfig, change: SetWeight) -> tuple[RoutingConfig, str]:
    endpoint = find(config, change.agent, change.version)
    if endpoint.role not in LIVE_ROLES:
        raise RegistryError(
            f"{endpoint_key(change.agent, change.version)} is {endpoint.role.value}: only "
            "production and canary versions take live traffic"
        )
    edited = _replace(config, {(change.agent, change.version): {"weight": change.weight}})
    return edited, (
        f"{endpoint_key(change.agent, change.version)} weight "
        f"{_fmt(endpoint.weight)} -> {_fmt(change.weight)}"
    )


def set_role(config: RoutingConfig, change: SetRole) -> tuple[RoutingConfig, str]:
    endpoint = find(config, change.agent, change.version)
    _check_unique_role(config, change.agent, change.version, change.role)
    update: dict[str, object] = {"role": change.role}
    if change.role not in LIVE_ROLES:
        update["weight"] = 0.0  # a non-live role takes no traffic; make the config say so
    edited = _replace(config, {(change.agent, change.version): update})
    return edited, (
        f"{endpoint_key(change.agent, change.version)} role "
        f"{endpoint.role.value} -> {change.role.value}"
    )


def retire(config: RoutingConfig, change: RetireEndpoint) -> tuple[RoutingConfig, str]:
    endpoint = find(config, change.agent, change.version)
    shares = live_shares(config, change.agent)
    if not change.force and set(shares) == {change.version}:
        raise RegistryError(
            f"{endpoint_key(change.agent, change.version)} carries all of {change.agent}'s "
            "traffic; roll back or fail over first (or force)"
        )
    edited = _replace(
        config,
        {(change.agent, change.version): {"role": EndpointRole.RETIRED, "weight": 0.0}},
    )
    return edited, (
        f"retired {endpoint_key(change.agent, change.version)} (was {endpoint.role.value})"
    )


def _productions(config: RoutingConfig, agent: str, excluding: str) -> list[AIEndpoint]:
    return [
        e
        for e in versions_of(config, agent)
        if e.role is EndpointRole.PRODUCTION and e.version != excluding
    ]


def _spread(endpoints: Sequence[AIEndpoint], total: float) -> dict[tuple[str, str], float]:
    """Share ``total`` over ``endpoints`` keeping their relative weights (equal if all 0)."""
    weights = sum(e.weight for e in endpoints)
    return {
        (e.name, e.version): total * (e.weight / weights if weights else 1 / len(endpoints))
        for e in endpoints
    }


def set_canary_share(config: RoutingConfig, change: SetCanaryShare) -> tuple[RoutingConfig, str]:
    canary = find(config, change.agent, change.version)
    if canary.role is not EndpointRole.CANARY:
        raise RegistryError(
            f"{endpoint_key(change.agent, change.version)} is {canary.role.value}, not canary"
        )
    productions = _productions(config, change.agent, change.version)
    if not productions:
        raise RegistryError(f"{change.agent} has no production version to share traffic with")
    updates: dict[tuple[str, str], dict[str, object]] = {
        key: {"weight": weight}
        for key, weight in _spread(productions, FULL_SHARE - change.percent).items()
    }
    updates[(change.agent, change.version)] = {"weight": change.percent}
    return _replace(config, updates), (
        f"canary {endpoint_key(change.agent, change.version)} at {_fmt(change.percent)}%, "
        f"production {_fmt(FULL_SHARE - change.percent)}%"
    )


def promote(config: RoutingConfig, change: PromoteCanary) -> tuple[RoutingConfig, str]:
    """Canary -> production 100 %; production -> rollback (warm, weight 0); older rollback
    versions -> retired, so exactly one version is kept warm for an instant rollback."""
    endpoint = find(config, change.agent, change.version)
    productions = _productions(config, change.agent, change.version)
    if endpoint.role is EndpointRole.PRODUCTION and not productions:
        return config, f"{endpoint_key(change.agent, change.version)} is already production"
    if endpoint.role is not EndpointRole.CANARY:
        raise RegistryError(
            f"{endpoint_key(change.agent, change.version)} is {endpoint.role.value}, not canary"
        )
    updates: dict[tuple[str, str], dict[str, object]] = {}
    for old in versions_of(config, change.agent):
        if old.role is EndpointRole.ROLLBACK:
            updates[(old.name, old.version)] = {"role": EndpointRole.RETIRED, "weight": 0.0}
    for old in productions:
        updates[(old.name, old.version)] = {"role": EndpointRole.ROLLBACK, "weight": 0.0}
    updates[(change.agent, change.version)] = {
        "role": EndpointRole.PRODUCTION,
        "weight": FULL_SHARE,
    }
    kept = ", ".join(old.version for old in productions) or "none"
    return _replace(config, updates), (
        f"promoted {endpoint_key(change.agent, change.version)} to production 100%; "
        f"kept warm as rollback: {kept}"
    )


def reject_canary(config: RoutingConfig, change: RejectCanary) -> tuple[RoutingConfig, str]:
    endpoint = find(config, change.agent, change.version)
    if endpoint.role not in (EndpointRole.CANARY, EndpointRole.RETIRED):
        raise RegistryError(
            f"{endpoint_key(change.agent, change.version)} is {endpoint.role.value}, not canary"
        )
    updates: dict[tuple[str, str], dict[str, object]] = {
        key: {"weight": weight}
        for key, weight in _spread(
            _productions(config, change.agent, change.version), FULL_SHARE
        ).items()
    }
    updates[(change.agent, change.version)] = {"role": EndpointRole.RETIRED, "weight": 0.0}
    return _replace(config, updates), (
        f"canary {endpoint_key(change.agent, change.version)} retired at 0%; production 100%"
    )


def set_shares(config: RoutingConfig, change: SetShares) -> tuple[RoutingConfig, str]:
    for version in {*change.shares, *change.roles}:
        find(config, change.agent, version)
    updates: dict[tuple[str, str], dict[str, object]] = {}
    for endpoint in versions_of(config, change.agent):
        role = change.roles.get(endpoint.version, endpoint.role)
        share = change.shares.get(endpoint.version, 0.0)
        if share > 0 and role not in LIVE_ROLES:
            raise RegistryError(
                f"{endpoint_key(endpoint.name, endpoint.version)} would take {_fmt(share)}% as "
                f"{role.value}; give it a live role"
            )
        _check_unique_role(config, endpoint.name, endpoint.version, role)
        updates[(endpoint.name, endpoint.version)] = {"role": role, "weight": share}
    described = ", ".join(f"{v} {_fmt(s)}%" for v, s in sorted(change.shares.items()))
    return _replace(config, updates), f"{change.agent} shares: {described}"


def failover_to_human(config: RoutingConfig, change: FailoverToHuman) -> tuple[RoutingConfig, str]:
    agents = set(change.agents) or {e.name for e in config.ai_endpoints}
    unknown = sorted(agents - {e.name for e in config.ai_endpoints})
    if unknown:
        raise RegistryError(f"unknown agents: {', '.join(unknown)}")
    off = [e for e in config.ai_endpoints if e.name in agents and e.role in LIVE_ROLES]
    updates: dict[tuple[str, str], dict[str, object]] = {
        (e.name, e.version): {"weight": 0.0} for e in off
    }
    before = ", ".join(f"{endpoint_key(e.name, e.version)} {_fmt(e.weight)}" for e in off)
    return _replace(config, updates), (
        f"failover to human: {', '.join(sorted(agents))} take no AI traffic "
        f"(weights were: {before or 'none'})"
    )


def apply_change(config: RoutingConfig, change: RegistryChange) -> tuple[RoutingConfig, str]:
    match change:
        case RegisterEndpoint():
            return register(config, change)
        case SetWeight():
            return set_weight(config, change)
        case SetRole():
            return set_role(config, change)
        case RetireEndpoint():
            return retire(config, change)
        case SetCanaryShare():
            return set_canary_share(config, change)
        case PromoteCanary():
            return promote(config, change)
        case RejectCanary():
            return reject_canary(config, change)
        case SetShares():
            return set_shares(config, change)
        case FailoverToHuman():
            return failover_to_human(config, change)


def apply_changes(
    config: RoutingConfig, changes: Sequence[RegistryChange]
) -> tuple[RoutingConfig, list[str]]:
    """Apply in order; all or nothing (an error leaves the caller's config as it was)."""
    reasons: list[str] = []
    for change in changes:
        config, reason = apply_change(config, change)
        reasons.append(reason)
    return config, reasons
