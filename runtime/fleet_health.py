"""The worker's view of AI endpoint health, fed by every AI call, reply and outcome it sees.

Why recording is process-local: it must not cost a Temporal round trip (or a database write)
per call. Each worker keeps sliding windows per endpoint version and judges them with the pure
breaker (``warmline.breaker.step``) on every record.

Alone (tests, a single process without a store) this object is the authority: transitions
apply at once. Shared (``share()``, done by ``runtime.health_sync.HealthSync`` in every
worker), the store is the authority: every second each worker flushes its windows, merges the
fleet's, and the breaker transitions are computed on that merge and committed with a
compare-and-set, audited, in the same transaction as any WFM event. Between flushes a worker
only *notices* that a transition is due and wakes the sync at once, so an outage is decided in
milliseconds, by one worker, once. The probe of a Half-open breaker belongs to the one worker
whose claim the store accepted.

Routing reads ``snapshot()``: plain memory, no I/O, refreshed by the sync at most a second old,
and recorded in workflow history by the routing activity, so decisions replay
deterministically.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from models.facts import InteractionFacts
from models.health import (
    DegradationDecision,
    EndpointHealthReport,
    RoutingRestriction,
    epoch_to_utc,
)
from models.routing import EndpointHealth
from warmline.auto_rollback import BreakerOpened
from warmline.breaker import (
    Acquire,
    Action,
    Breaker,
    BreakerConfig,
    BreakerState,
    Evaluate,
    Finished,
    Permit,
    Transition,
    next_probe_at,
    routable,
    step,
)
from warmline.health import (
    CallKind,
    EndpointWindows,
    OutcomeSample,
    WindowAggregate,
    call_kind,
    endpoint_metrics,
    merge,
)
from warmline.quality import ConversationTracker, QualityConfig

_RESTRICTION_FIELDS = ("allowed_intents", "min_confidence", "max_sessions")


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class CallTicket:
    """One admitted call; the probe's outcome is the only one a Half-open breaker heeds."""

    name: str
    version: str
    probe: bool = False
    started_at: float = field(default=0.0, compare=False)
    revision: int = field(default=0, compare=False)
    """Breaker revision the call was admitted under (matches a probe to its claim)."""
    epoch: int = field(default=0, compare=False)
    """Window epoch the call was admitted in: results from older ones are stragglers."""


@dataclass(frozen=True)
class ProbeResult:
    name: str
    version: str
    revision: int
    success: bool
    at: float


@dataclass(frozen=True)
class EndpointFlush:
    """One endpoint's local window as a worker flushes it."""

    name: str
    version: str
    revision: int
    aggregate: WindowAggregate
    active_sessions: int
    synced: bool = True
    """False until the store's revision was adopted: the flush counts for the current one."""


@dataclass(frozen=True)
class SyncRequest:
    worker_id: str
    now: float
    generation: int
    endpoints: list[EndpointFlush]
    probes: list[ProbeResult]


@dataclass(frozen=True)
class SharedEndpoint:
    """The fleet's view of one endpoint version after a sync."""

    name: str
    version: str
    revision: int
    breaker: Breaker
    remote: WindowAggregate
    """Merged windows of the *other* workers at this revision."""
    remote_active: int = 0
    workers: int = 1
    degradation: DegradationDecision | None = None
    updated_at: float | None = None


@dataclass(frozen=True)
class SyncResult:
    generation: int
    endpoints: list[SharedEndpoint]
    transitions: int = 0
    opened: list[BreakerOpened] = field(default_factory=list)
    """Openings this worker's compare-and-set committed (no other worker sees them)."""


@dataclass
class _Endpoint:
    windows: EndpointWindows
    breaker: Breaker = field(default_factory=Breaker)
    revision: int = 0
    epoch: int = 0
    """Bumped whenever the windows restart; a call from an older epoch is a straggler."""
    synced: bool = False
    """Shared: whether the store's revision has been adopted yet."""
    active: int = 0
    remote: WindowAggregate = field(default_factory=WindowAggregate)
    remote_active: int = 0
    workers: int = 1
    degradation: DegradationDecision | None = None
    updated_at: float | None = None
    transitions: list[Transition] = field(default_factory=list)


class FleetHealth:
    def __init__(
        self,
        config: BreakerConfig | None = None,
        clock: Callable[[], float] = time.time,
        *,
        worker_id: str | None = None,
        quality: QualityConfig | None = None,
    ) -> None:
        # Wall-clock time, not monotonic: breaker times are compared across worker processes.
        self._config = config or BreakerConfig()
        self._clock = clock
        self.worker_id = worker_id or default_worker_id()
        self._conversations = ConversationTracker(quality)
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}
        self._probes: list[ProbeResult] = []
        self._generation = 0
        self._wake: Callable[[], None] | None = None
        self._on_reset: Callable[[], None] | None = None
        self.transitions_log: list[tuple[str, str, Transition]] = []
        """Transitions this process applied alone (unshared mode), oldest first, bounded."""

    # -- configuration and sharing ----------------------------------------------------------
    @property
    def config(self) -> BreakerConfig:
        return self._config

    @property
    def shared(self) -> bool:
        return self._wake is not None

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def configure(self, config: BreakerConfig) -> None:
        """New thresholds (operators, tests); windows restart in the new shape."""
        self._config = config
        for ep in self._endpoints.values():
            ep.windows = self._new_windows()

    def share(self, wake: Callable[[], None], on_reset: Callable[[], None] | None = None) -> None:
        """Defer every transition to the store: ``wake`` asks the sync to run now."""
        self._wake = wake
        self._on_reset = on_reset

    def unshare(self) -> None:
        self._wake = None
        self._on_reset = None

    def reset(self) -> None:
        """Forget every endpoint's history (operators after maintenance; tests between cases).

        Shared, the store's breakers are closed too (synchronously: an operator's reset must
        hold before the next routing decision), and syncs started before it are discarded.
        """
        self._endpoints.clear()
        self._probes.clear()
        self._conversations.clear()
        self.transitions_log.clear()
        self._generation += 1
        if self._on_reset is not None:
            self._on_reset()

    def _new_windows(self) -> EndpointWindows:
        c = self._config
        return EndpointWindows(
            c.window_type, c.window_size, c.window_seconds, c.slow_call_duration_ms
        )

    def _get(self, name: str, version: str) -> _Endpoint:
        key = (name, version)
        ep = self._endpoints.get(key)
        if ep is None:
            ep = self._endpoints[key] = _Endpoint(self._new_windows(), Breaker(since=self._clock()))
        return ep

    # -- the hot path -------------------------------------------------------------------------
    def try_acquire(self, name: str, version: str) -> CallTicket | None:
        """Take a session slot if the breaker lets the call through (None: it does not)."""
        ep = self._get(name, version)
        now = self._clock()
        event = Acquire(now, owner=self.worker_id, claim_required=self.shared)
        breaker, actions = step(ep.breaker, event, self._config)
        self._apply(name, version, ep, breaker, actions)
        permit = next((a for a in actions if isinstance(a, Permit)), None)
        if permit is None:
            ep.windows.record_call(now, CallKind.REFUSED)
            return None
        ep.active += 1
        return CallTicket(name, version, permit.probe, now, ep.revision, ep.epoch)

    def release(self, ticket: CallTicket, success: bool, kind: str | None = None) -> None:
        """End a call: ``kind`` is the ``AIError.kind`` of a failure (timeout, rate_limited...)."""
        ep = self._get(ticket.name, ticket.version)
        ep.active = max(0, ep.active - 1)
        now = self._clock()
        if ticket.epoch == ep.epoch:
            latency_ms = max(0.0, (now - ticket.started_at) * 1000) if ticket.started_at else 0.0
            ep.windows.record_call(now, call_kind(success, kind), latency_ms)
        if ticket.probe and self.shared:
            self._probes.append(
                ProbeResult(ticket.name, ticket.version, ticket.revision, success, now)
            )
            self._wake_sync()
        elif ticket.probe or ticket.epoch == ep.epoch:
            owner = self.worker_id
            event = Finished(now, success, probe=ticket.probe, owner=owner)
            breaker, actions = step(ep.breaker, event, self._config)
            self._apply(ticket.name, ticket.version, ep, breaker, actions)
        self._evaluate(ticket.name, ticket.version, ep, now)

    def record_reply(
        self,
        name: str,
        version: str,
        text: str,
        action: str,
        tokens: int,
        conversation_key: str,
    ) -> None:
        """Judge one AI reply's semantic quality (hedges, garbage, loops, tokens burnt)."""
        ep = self._get(name, version)
        now = self._clock()
        sample = self._conversations.observe(now, conversation_key, text, action, tokens)
        ep.windows.record_reply(sample)
        self._evaluate(name, version, ep, now)

    def record_outcome(
        self,
        name: str,
        version: str,
        contained: bool,
        escalated: bool,
        intent: str | None = None,
        conversation_key: str | None = None,
    ) -> None:
        """An AI-routed interaction closed: containment and escalation feed the windows."""
        ep = self._get(name, version)
        now = self._clock()
        ep.windows.record_outcome(OutcomeSample(now, contained, escalated, intent))
        if conversation_key is not None:
            self._conversations.forget(conversation_key)
        self._evaluate(name, version, ep, now)

    def record_qa(self, name: str, version: str, passed: bool) -> None:
        """A QA reviewer's verdict on one AI answer (resolution accuracy)."""
        ep = self._get(name, version)
        now = self._clock()
        ep.windows.record_outcome(OutcomeSample(now, qa_passed=passed))
        self._evaluate(name, version, ep, now)

    def record_facts(self, facts: InteractionFacts) -> None:
        """``record_outcome`` from an interaction's facts (for AI-routed interactions only)."""
        if not facts.ai_endpoint or facts.route not in ("ai", "ai_monitored"):
            return
        name, _, version = facts.ai_endpoint.rpartition(":")
        if not name:
            return
        self.record_outcome(
            name,
            version,
            contained=facts.outcome == "contained",
            escalated=facts.outcome == "escalated",
            intent=facts.intent,
            conversation_key=facts.interaction_id,
        )

    # -- judging --------------------------------------------------------------------------------
    def _stats(self, ep: _Endpoint, now: float) -> WindowAggregate:
        local = ep.windows.total(now)
        if not self.shared:
            return local
        return merge((local, ep.remote))

    def _evaluate(self, name: str, version: str, ep: _Endpoint, now: float) -> None:
        breaker, actions = step(ep.breaker, Evaluate(now, self._stats(ep, now)), self._config)
        self._apply(name, version, ep, breaker, actions)

    def _apply(
        self, name: str, version: str, ep: _Endpoint, breaker: Breaker, actions: tuple[Action, ...]
    ) -> None:
        transitions = [a for a in actions if isinstance(a, Transition)]
        if transitions and self.shared:
            # Only noticed here; the store decides (once, fleet-wide) within milliseconds.
            self._wake_sync()
            return
        ep.breaker = breaker
        for transition in transitions:
            ep.revision += 1
            self._restart_windows(ep)
            self.transitions_log.append((name, version, transition))
            del self.transitions_log[:-1000]

    @staticmethod
    def _restart_windows(ep: _Endpoint) -> None:
        ep.windows.reset()
        ep.epoch += 1

    def _wake_sync(self) -> None:
        if self._wake is not None:
            self._wake()

    # -- reading ---------------------------------------------------------------------------------
    def state(self, name: str, version: str) -> str:
        return self._get(name, version).breaker.state.value

    def restriction(self, name: str, version: str) -> RoutingRestriction:
        ep = self._endpoints.get((name, version))
        if ep is None or ep.degradation is None:
            return RoutingRestriction()
        return ep.degradation.restriction

    def _view(self, ep: _Endpoint, now: float) -> tuple[str, bool]:
        """(breaker label, routable) as routing should see them."""
        b = ep.breaker
        can_route = routable(b, now, self.worker_id, self.shared)
        if b.state is BreakerState.OPEN and can_route:
            # Alone, an expired Open admits the next call as the probe: that is Half-open.
            return BreakerState.HALF_OPEN.value, True
        return b.state.value, can_route

    def snapshot(self) -> list[EndpointHealth]:
        """Breaker states as routing should see them, from memory (no I/O).

        A Half-open breaker is ``available=False`` wherever its probe cannot be taken now
        (another worker owns it, or it is in flight): routing must not send an interaction
        there only to have its call refused. Sessions are fleet-wide when shared.
        """
        now = self._clock()
        views = []
        extra_fields = [f for f in _RESTRICTION_FIELDS if f in EndpointHealth.model_fields]
        for (name, version), ep in sorted(self._endpoints.items()):
            label, can_route = self._view(ep, now)
            extra: dict[str, Any] = {}
            if extra_fields and ep.degradation is not None:
                # Filled once routing's EndpointHealth carries these fields (see the report).
                restriction = ep.degradation.restriction.model_dump()
                extra = {f: restriction[f] for f in extra_fields}
            views.append(
                EndpointHealth(
                    name=name,
                    version=version,
                    breaker=label,
                    available=can_route or label == BreakerState.OPEN.value,
                    active_sessions=ep.active + ep.remote_active,
                    **extra,
                )
            )
        return views

    def reports(
        self, capacity: dict[tuple[str, str], int] | None = None
    ) -> list[EndpointHealthReport]:
        """Everything known per endpoint version, fleet-wide when shared (CLI, API, tests)."""
        now = self._clock()
        reports = []
        for (name, version), ep in sorted(self._endpoints.items()):
            _, can_route = self._view(ep, now)
            stats = self._stats(ep, now)
            b = ep.breaker
            reports.append(
                EndpointHealthReport(
                    endpoint=f"{name}:{version}",
                    name=name,
                    version=version,
                    breaker=b.state.value,
                    revision=ep.revision,
                    since=epoch_to_utc(b.since),
                    next_probe_at=epoch_to_utc(next_probe_at(b)),
                    probe_owner=b.probe_owner,
                    routable=can_route,
                    reasons=list(b.reasons),
                    metrics=endpoint_metrics(
                        stats,
                        now,
                        self._config.window_seconds,
                        ep.active + ep.remote_active,
                        (capacity or {}).get((name, version)),
                    ),
                    degradation=ep.degradation,
                    restriction=self.restriction(name, version),
                    workers=ep.workers,
                    updated_at=epoch_to_utc(ep.updated_at),
                )
            )
        return reports

    # -- the sync (see runtime.health_sync) ----------------------------------------------------
    def sync_request(self) -> SyncRequest:
        """What this worker flushes: its windows per endpoint and the probe results to decide."""
        now = self._clock()
        flushes = [
            EndpointFlush(name, version, ep.revision, ep.windows.total(now), ep.active, ep.synced)
            for (name, version), ep in sorted(self._endpoints.items())
        ]
        probes, self._probes = self._probes, []
        return SyncRequest(self.worker_id, now, self._generation, flushes, probes)

    def sync_failed(self, request: SyncRequest) -> None:
        """The flush did not reach the store: keep its probe results for the next one."""
        if request.generation == self._generation:
            self._probes[:0] = request.probes

    def apply_sync(self, result: SyncResult) -> None:
        """Adopt the fleet's state; a new revision restarts this worker's windows."""
        if result.generation != self._generation:
            return  # a reset happened while this sync was in flight
        now = self._clock()
        for shared in result.endpoints:
            ep = self._get(shared.name, shared.version)
            if not ep.synced:
                # First sight of the fleet's state: what this worker saw meanwhile (since start
                # or a reset) happened under it, so the windows are kept.
                ep.breaker = replace(shared.breaker, probe_in_flight=False)
                ep.revision, ep.synced = shared.revision, True
            elif shared.revision != ep.revision:
                ep.breaker = replace(shared.breaker, probe_in_flight=False)
                ep.revision = shared.revision
                self._restart_windows(ep)
            else:
                mine = shared.breaker.probe_owner == self.worker_id
                in_flight = ep.breaker.probe_in_flight and mine
                ep.breaker = replace(shared.breaker, probe_in_flight=in_flight)
            ep.remote = shared.remote
            ep.remote_active = shared.remote_active
            ep.workers = shared.workers
            ep.degradation = shared.degradation
            ep.updated_at = shared.updated_at
            self._evaluate(shared.name, shared.version, ep, now)
