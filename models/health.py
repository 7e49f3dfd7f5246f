"""Contracts of the fleet health monitor: reports, breaker transitions, degradation, WFM events.

These are what leaves the health monitor: into the store and its audit streams
(``fleet-health``, ``wfm-events``), onto the WFM webhook, into the CLI and, through
``RoutingRestriction``, into routing. Times are aware UTC datetimes on the wire; the pure core
works in epoch seconds and converts at this edge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

FLEET_HEALTH_STREAM = "fleet-health"
WFM_EVENTS_STREAM = "wfm-events"
FLEET_HEALTH_TASK_QUEUE = "fleet-health"


def epoch_to_utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointMetrics(_Doc):
    """One window of one endpoint version (or the fleet-wide merge of every worker's)."""

    window_seconds: float = Field(description="Span the rates and throughput cover.")
    calls: int = 0
    failures: int = 0
    error_rate: float | None = Field(default=None, description="Failures / calls.")
    timeout_rate: float | None = None
    rate_limited_rate: float | None = Field(default=None, description="HTTP 429 share.")
    slow_call_rate: float | None = Field(
        default=None, description="Share of calls slower than the breaker's slow-call duration."
    )
    refused: int = Field(default=0, description="Calls the breaker or a session cap refused.")
    failure_streak: int = Field(default=0, description="Failures since the last success.")
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    throughput_per_second: float = 0.0
    conversations_per_second: float = Field(
        default=0.0, description="New AI conversations per second: the AI pool's arrival rate."
    )
    active_sessions: int = 0
    max_sessions: int | None = Field(default=None, description="The endpoint's capacity.")
    utilisation: float | None = Field(
        default=None, description="Concurrent sessions / capacity (reference: < 80% sustained)."
    )
    replies: int = 0
    low_quality_rate: float | None = Field(
        default=None, description="Replies flagged low quality (hedges, garbage, degenerate)."
    )
    repeated_reply_rate: float | None = Field(
        default=None, description="Replies near-identical to an earlier one in the conversation."
    )
    no_progress_rate: float | None = Field(
        default=None, description="Replies that did not move the conversation forward."
    )
    loop_rate: float | None = Field(
        default=None, description="Conversations caught in a reasoning loop / conversations."
    )
    tokens: int = 0
    tokens_without_progress_share: float | None = Field(
        default=None, description="Token burn without progress / all tokens."
    )
    outcomes: int = 0
    containment_rate: float | None = None
    escalation_rate: float | None = None
    qa_samples: int = 0
    qa_fail_rate: float | None = None
    first_failure_at: float | None = Field(
        default=None, description="Epoch seconds of the earliest failure still in the window."
    )


class DegradationLevel(StrEnum):
    """How far graceful degradation has gone for one endpoint version, mildest first."""

    NORMAL = "normal"
    RECOVERING = "recovering"
    STRESSED = "stressed"
    DEGRADED = "degraded"
    OUTAGE = "outage"


class RoutingRestriction(_Doc):
    """What routing must apply to one endpoint version; ``None`` fields restrict nothing."""

    allowed_intents: list[str] | None = Field(
        default=None, description="Only these intents may go to the endpoint (capability shedding)."
    )
    min_confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Classifier confidence the interaction needs (threshold tightening).",
    )
    max_sessions: int | None = Field(
        default=None, ge=0, description="Concurrent AI sessions cap, below stressed capacity."
    )


class DegradationDecision(_Doc):
    """A graceful-degradation decision for one endpoint version, with its reasons."""

    endpoint: str = Field(description="name:version")
    name: str
    version: str
    level: DegradationLevel = DegradationLevel.NORMAL
    restriction: RoutingRestriction = Field(default_factory=RoutingRestriction)
    reasons: list[str] = Field(default_factory=list)
    decided_at: datetime
    since: datetime = Field(description="When the current level was applied.")
    stressed_sessions: int | None = Field(
        default=None, description="Concurrent sessions at which stress was first seen."
    )
    config_version: int | None = Field(
        default=None, description="Routing config version the decision ranked intents with."
    )


class BreakerTransition(_Doc):
    """One change of an endpoint's breaker state, as written to the ``fleet-health`` stream."""

    endpoint: str = Field(description="name:version")
    name: str
    version: str
    from_state: str
    to_state: str
    at: datetime
    revision: int = Field(description="Breaker revision after the change (windows restart).")
    reasons: list[str] = Field(default_factory=list)
    open_seconds: float | None = Field(
        default=None, description="For transitions to open: how long until the next probe."
    )
    actor: str = Field(description="Worker that merged the windows and made the change.")
    metrics: EndpointMetrics | None = Field(
        default=None, description="The fleet-wide window the decision was taken on."
    )


class WfmEventKind(StrEnum):
    BREAKER_CHANGE = "breaker_change"
    THROUGHPUT_DROP = "throughput_drop"
    CAPACITY_RESTORED = "capacity_restored"


class WfmCapacityEvent(_Doc):
    """AI capacity changed: what WFM real-time teams need to act before queues collapse."""

    event_id: str = Field(description="Stable id; the webhook's idempotency key.")
    kind: WfmEventKind
    what_changed: str = Field(description="One sentence for the real-time analyst.")
    endpoint: str = Field(description="name:version")
    name: str
    version: str
    from_state: str
    to_state: str
    interval_minutes: int = Field(description="The WFM planning interval the volumes refer to.")
    ai_volume_per_interval: float = Field(
        description="AI interactions this endpoint was taking per interval before the change."
    )
    extra_human_volume_per_interval: float = Field(
        description="Estimated additional interactions per interval needing a human."
    )
    base_human_volume_per_interval: float = Field(
        description="Human-handled interactions per interval before the change."
    )
    human_aht_seconds: float = Field(description="Human average handle time used.")
    target_service_level: float = Field(description="e.g. 0.8 for 80/20.")
    target_answer_seconds: float = Field(description="e.g. 20 for 80/20.")
    agents_needed_before: int
    agents_needed_after: int
    extra_agents_needed: int = Field(description="Erlang C: agents to add to hold the target.")
    expected_duration_seconds: float | None = Field(
        default=None, description="From this endpoint's past outages; null when unknown."
    )
    detected_at: datetime
    first_failure_at: datetime | None = Field(
        default=None, description="First failing call (or bad reply) in the deciding window."
    )
    detection_latency_seconds: float | None = Field(
        default=None, description="detected_at - first_failure_at."
    )
    emitted_at: datetime | None = Field(
        default=None, description="When the event was committed to the store (and outbox)."
    )
    reasons: list[str] = Field(default_factory=list)


class EndpointHealthReport(_Doc):
    """Everything the health monitor knows about one endpoint version, fleet-wide."""

    endpoint: str = Field(description="name:version")
    name: str
    version: str
    breaker: str = Field(description="closed | degraded | open | half_open")
    revision: int = 0
    since: datetime | None = Field(default=None, description="When the breaker entered it.")
    next_probe_at: datetime | None = Field(
        default=None, description="Open: when the half-open probe may go."
    )
    probe_owner: str | None = Field(default=None, description="Half-open: the probing worker.")
    routable: bool = Field(description="Whether routing may send a new interaction to it now.")
    reasons: list[str] = Field(default_factory=list, description="Why the breaker is in it.")
    metrics: EndpointMetrics
    degradation: DegradationDecision | None = None
    restriction: RoutingRestriction = Field(default_factory=RoutingRestriction)
    workers: int = Field(default=1, description="Workers whose windows were merged.")
    updated_at: datetime | None = None
