"""Automatic rollback: what the health monitor does when a breaker opens on a live version.

Pure: the opening, the registry, the fleet's breaker states and the rollbacks already running
in, one ``AutoRollbackDecision`` with its reasons out. The worker whose sync committed the
opening (``runtime.health_sync``) asks once and starts the ``RollbackWorkflow`` it names,
so the decision is made once fleet-wide. The opening is also a row of the store's automatic
rollback outbox, committed with it: should that worker die first, another one claims the row
and asks instead (``retry_delay`` and ``another_try_fits`` pace those attempts).

* A canary that opens goes back to a healthy production version of its agent (the canary's
  rollback target, as for ``RollbackWorkflow``'s own default).
* A production version (or a canary without a healthy production) goes to the version kept
  warm as rollback, if that one is not itself open.
* Neither, and no other live version of the agent is healthy: failover to human, when the
  policy allows it (off by default; see ``AutoRollbackPolicy``).
* Nothing when the policy is off, the version takes no live traffic (shadow, warm, retired,
  weight 0: nothing to move), a rollback of the agent is already running (it may be the one
  that made this version the target), or other healthy live versions already carry the work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from models.fleet import (
    AutoRollbackAction,
    AutoRollbackDecision,
    RollbackInput,
    RollbackMode,
    endpoint_key,
    rollback_workflow_id_for,
)
from models.routing import AIEndpoint, AutoRollbackMode, EndpointRole, RoutingConfig
from warmline.breaker import BreakerState
from warmline.registry import live_shares, versions_of

AUTO_ROLLBACK_ACTOR = "health-monitor"
HEALTHY_STATES = frozenset({BreakerState.CLOSED, BreakerState.DEGRADED})
"""Degraded still serves (simple intents); only Open and Half-open take no traffic."""


@dataclass(frozen=True)
class BreakerOpened:
    """A committed transition to Open, as the worker that won the compare-and-set saw it."""

    agent: str
    version: str
    from_state: str
    revision: int
    reasons: tuple[str, ...] = ()

    @property
    def endpoint(self) -> str:
        return endpoint_key(self.agent, self.version)

    @property
    def key(self) -> str:
        """Names the opening's outbox row: one row, and so one decision, per opening."""
        return opening_key(self.agent, self.version, self.revision)


def opening_key(agent: str, version: str, revision: int) -> str:
    """``agent:version/r<revision>``: the revision tells two openings of one version apart."""
    return f"{endpoint_key(agent, version)}/r{revision}"


@dataclass(frozen=True)
class RunningRollback:
    """A ``RollbackWorkflow`` that is running now; ``agent`` None is a failover of all."""

    workflow_id: str
    agent: str | None
    to_version: str | None = None


def _state(states: Mapping[tuple[str, str], str], agent: str, version: str) -> BreakerState:
    """Versions without a breaker row took no traffic yet: nothing says they are unhealthy."""
    return BreakerState(states.get((agent, version), BreakerState.CLOSED.value))


def _target(
    opened: BreakerOpened,
    endpoints: Sequence[AIEndpoint],
    shares: Mapping[str, float],
    healthy: set[str],
) -> tuple[str, str] | None:
    """(version, why) to roll back to: production for a canary, else the warm version."""
    me = next(e for e in endpoints if e.version == opened.version)
    if me.role is EndpointRole.CANARY:
        productions = [
            e.version
            for e in endpoints
            if e.role is EndpointRole.PRODUCTION
            and e.version != opened.version
            and shares.get(e.version, 0.0) > 0
            and e.version in healthy
        ]
        if productions:
            best = max(productions, key=lambda v: shares[v])
            return best, f"canary {opened.version} goes back to healthy production {best}"
    warm = [
        e.version for e in endpoints if e.role is EndpointRole.ROLLBACK and e.version in healthy
    ]
    if warm:
        # The last warm one, as RollbackWorkflow's plan picks it by default.
        return warm[-1], f"{warm[-1]} is kept warm as rollback and its breaker is not open"
    return None


def decide_auto_rollback(
    opened: BreakerOpened,
    registry: RoutingConfig,
    states: Mapping[tuple[str, str], str],
    running: Sequence[RunningRollback] = (),
) -> AutoRollbackDecision:
    """What to do about ``opened`` under ``registry.auto_rollback``, with its reasons.

    ``states`` are the fleet's breaker states after the sync (``(agent, version) -> state``);
    ``running`` the rollbacks of this agent (or of all agents) running now.
    """
    policy = registry.auto_rollback
    why = f"breaker of {opened.endpoint} {opened.from_state} -> open"
    if opened.reasons:
        why += f" ({'; '.join(opened.reasons)})"
    reasons = [why]

    def decision(action: AutoRollbackAction, *more: str, **fields: object) -> AutoRollbackDecision:
        return AutoRollbackDecision.model_validate(
            {
                "endpoint": opened.endpoint,
                "breaker_revision": opened.revision,
                "action": action,
                "reasons": [*reasons, *more],
                **fields,
            }
        )

    if policy.mode is AutoRollbackMode.OFF:
        return decision(AutoRollbackAction.NONE, "automatic rollback is off")
    endpoints = versions_of(registry, opened.agent)
    shares = live_shares(registry, opened.agent)
    if opened.version not in shares:
        role = next((e.role.value for e in endpoints if e.version == opened.version), None)
        where = f"role {role}" if role else "not in the registry"
        return decision(
            AutoRollbackAction.NONE,
            f"{opened.endpoint} takes no live traffic ({where}); nothing to roll back",
        )
    for other in running:
        if other.agent not in (None, opened.agent):
            continue
        if other.to_version == opened.version:
            return decision(
                AutoRollbackAction.NONE,
                f"{opened.endpoint} is already the target of {other.workflow_id}",
            )
        return decision(AutoRollbackAction.NONE, f"{other.workflow_id} is already running")
    healthy = {
        e.version
        for e in endpoints
        if e.version != opened.version and _state(states, e.name, e.version) in HEALTHY_STATES
    }
    target = _target(opened, endpoints, shares, healthy)
    if target is not None:
        to_version, because = target
        mode = (
            RollbackMode.GRADUATED
            if policy.mode is AutoRollbackMode.GRADUATED
            else RollbackMode.INSTANT
        )
        request = RollbackInput(
            mode=mode,
            agent=opened.agent,
            from_version=opened.version,
            to_version=to_version,
            step_percent=policy.step_percent,
            interval_seconds=policy.interval_seconds,
            requested_by=AUTO_ROLLBACK_ACTOR,
            reason=f"automatic {mode.value} rollback: {why}; {because}",
        )
        return decision(
            AutoRollbackAction.ROLLBACK,
            because,
            f"{mode.value} rollback of {opened.endpoint} to {to_version}",
            request=request,
            workflow_id=rollback_workflow_id_for(request),
        )
    carrying = sorted(v for v in shares if v in healthy)
    if carrying:
        return decision(
            AutoRollbackAction.NONE,
            f"no healthy version kept warm as rollback; healthy live version(s) "
            f"{', '.join(carrying)} of {opened.agent} already take its traffic",
        )
    if not policy.failover_to_human:
        return decision(
            AutoRollbackAction.NONE,
            f"no healthy AI version of {opened.agent} is left; failover to human is off "
            "(the breakers send its work to humans until a probe succeeds)",
        )
    request = RollbackInput(
        mode=RollbackMode.FAILOVER_TO_HUMAN,
        agents=[opened.agent],
        requested_by=AUTO_ROLLBACK_ACTOR,
        reason=f"automatic failover to human: {why}; no healthy AI version of {opened.agent}",
    )
    return decision(
        AutoRollbackAction.FAILOVER_TO_HUMAN,
        f"no healthy AI version of {opened.agent} is left; its traffic fails over to humans",
        request=request,
        workflow_id=rollback_workflow_id_for(request),
    )


def retry_delay(attempts: int, first_seconds: float, max_seconds: float) -> float:
    """Seconds before an opening whose rollback could not be started is tried again.

    Doubling from ``first_seconds`` after each failed attempt (``attempts`` so far), at most
    ``max_seconds``: Temporal being down for long must not be hammered, nor forgotten.
    """
    return min(max_seconds, first_seconds * 2.0 ** max(0, attempts))


def another_try_fits(now: float, backoff: float, call_seconds: float, claimed_until: float) -> bool:
    """Whether waiting ``backoff`` and one more call of up to ``call_seconds`` end before the
    claim lapses. Past it another worker may take the opening over; a try then could make two
    workers decide one opening, so the claim is handed back instead.
    """
    return now + backoff + call_seconds < claimed_until
