"""Routing config documents, fleet snapshots and the decisions made from them.

The routing config is versioned data (stored with author and time). A decision always names
the config version it used and carries its reasons, so the same object serves history, the
audit trail and the ``status`` query.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.abuse import AbusePolicy
from models.compliance import RegulatoryPolicy
from models.default_compliance import default_regulatory_policy
from models.handoff import HandoffPolicy
from models.interaction import Channel, OrchestrationPattern, Route
from models.safety import SafetyPolicy

ANY = "*"
DEFAULT_INJECTION_THRESHOLD = 1.0
"""Injection score at which the default safety policy acts: 1.0 means only the precise rules
(instruction overrides, prompt extraction, forged roles...) act by default.

The bundled classifier's own threshold (0.18) meets its goals on ``bench/safety``, but on live
contact-center turns it scores common benign messages near 1.0 ("I managed to reset my password
myself, thanks, that's all.": 0.9996; "One more detail about line 3 of the bill": 0.9986), and
every flag holds a reply for a supervisor. Lower it per config once measured on your traffic;
``null`` uses the detector's threshold."""
AI_CONTEXT_MESSAGES = 40
"""Customer and AI messages an AI call carries by default: the latest twenty exchanges.

Why a window: the request is rebuilt, encoded and sent at every turn, so carrying the whole
conversation makes each turn cost grow with its length (a 1,000-turn chat would send 2,000
messages per call, past what most models accept). Twenty exchanges hold what an agent needs to
answer; after a continue-as-new the run keeps only the latest twenty transcript entries anyway,
and a hand-off's context package summarises what came before the current agent."""
AI_KEY_ENV_PREFIX = "WARMLINE_AI_KEY_"
"""The only environment variables an AI credential may come from. A config author (or anyone
who gets an endpoint into a workflow) could otherwise name any variable of the worker - the
database URL, the payload keys, the Temporal API key - and have it sent as a bearer token to a
URL of their choice. No Warmline setting lives under this prefix."""
AI_KEY_ENV_PATTERN = re.compile(r"WARMLINE_AI_KEY_[A-Z0-9_]{1,64}")


def ai_key_env_problem(name: str) -> str | None:
    """Why ``name`` may not hold an AI credential, or None when it may."""
    if AI_KEY_ENV_PATTERN.fullmatch(name):
        return None
    return (
        f"must be {AI_KEY_ENV_PREFIX}<NAME> (upper-case letters, digits, '_'): AI keys come "
        "only from that allow-listed set of environment variables, never another secret"
    )


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Classification(_Doc):
    intent: str
    confidence: float = Field(ge=0.0, le=1.0, description="Calibrated probability of `intent`.")
    out_of_scope: bool = False
    model_version: str
    source: str = Field(default="classifier", description="classifier | upstream")


class ThresholdRule(_Doc):
    """One cell of the confidence matrix; ``*`` matches anything, the most specific rule wins."""

    intent: str = ANY
    channel: str = ANY
    segment: str = ANY
    ai_min: float = Field(default=0.92, ge=0.0, le=1.0, description="confidence >= this: AI")
    monitored_min: float = Field(
        default=0.75, ge=0.0, le=1.0, description="confidence >= this (< ai_min): AI monitored"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdRule:
        if self.monitored_min > self.ai_min:
            raise ValueError("monitored_min must not exceed ai_min")
        return self

    def specificity(self) -> int:
        return sum(v != ANY for v in (self.intent, self.channel, self.segment))


class EscalationPolicy(_Doc):
    sentiment_min: float = Field(
        default=-0.5, ge=-1.0, le=1.0, description="Escalate when turn sentiment drops below."
    )
    max_turns: int = Field(default=8, ge=1, description="AI turns without resolution.")
    human_accept_deadline_seconds: float = Field(
        default=120.0, gt=0, description="After this, the customer is offered a callback."
    )
    max_human_wait_seconds: float = Field(
        default=1800.0, gt=0, description="After this, a callback is scheduled instead."
    )
    inactivity_timeout_seconds: dict[str, float] = Field(
        default_factory=lambda: {
            "voice": 120.0,
            "chat": 900.0,
            "email": 604800.0,
            "social": 86400.0,
        },
        description="Silence per channel after which the interaction closes.",
    )
    human_session_timeout_seconds: float = Field(
        default=604800.0,
        gt=0,
        description="A session with a human that the ACD never reports resolved closes after "
        "this long without activity (the transfer is withdrawn), so nothing waits for ever.",
    )


class EndpointRole(StrEnum):
    """A version's place in the fleet: only production and canary take live traffic."""

    PRODUCTION = "production"
    CANARY = "canary"
    SHADOW = "shadow"
    ROLLBACK = "rollback"
    RETIRED = "retired"


LIVE_ROLES = frozenset({EndpointRole.PRODUCTION, EndpointRole.CANARY})


class SpilloverPolicy(_Doc):
    """How human queues are protected when AI capacity spills over (outages, degradation)."""

    deflect_max_priority: int = Field(
        default=2, ge=-1, le=9, description="Priority at or below which self-service is offered."
    )
    deflect_when_wait_above_seconds: float = Field(
        default=300.0, ge=0, description="Deflect low-priority work only when the wait is long."
    )
    voice_callback_when_wait_above_seconds: float = Field(
        default=180.0, ge=0, description="Voice callers get a callback instead of holding."
    )
    max_queued_per_agent: float = Field(
        default=3.0, gt=0, description="Metering: admit to the human queue only below this."
    )
    admission_check_seconds: float = Field(
        default=5.0, gt=0, description="How often buffered interactions re-check capacity."
    )


class AutoRollbackMode(StrEnum):
    """How the health monitor rolls a failing version back on its own (``off``: never)."""

    OFF = "off"
    INSTANT = "instant"
    GRADUATED = "graduated"


class AutoRollbackPolicy(_Doc):
    """What the health monitor does when a breaker opens on a version that takes live traffic.

    A canary goes back to production, a production version to the version kept warm as
    rollback, with ``RollbackWorkflow`` (once fleet-wide, by the worker whose sync committed the
    opening). Instant by default: the opened version already takes no traffic (its breaker
    excludes it), so shifting its share back gradually would only keep that share on humans
    for longer; routing still caps the warm version at its ``max_concurrent``. Failover to human
    is off by default: while no version is healthy the breakers already send the work to
    humans and give it back to AI on their own when a probe succeeds, whereas a failover sets
    the weights to 0 until an operator restores them.
    """

    mode: AutoRollbackMode = Field(
        default=AutoRollbackMode.INSTANT, description="off | instant | graduated."
    )
    failover_to_human: bool = Field(
        default=False,
        description="When no AI version of the agent is healthy, fail its traffic over to "
        "humans (weights 0 until an operator restores them).",
    )
    step_percent: float = Field(
        default=25.0, gt=0.0, le=100.0, description="Graduated: share moved per shift."
    )
    interval_seconds: float = Field(default=60.0, gt=0.0, description="Graduated: between shifts.")


class ScheduleAwareness(_Doc):
    """How routing uses the WFM staffing plan (schedule sync): ahead of a drop in planned human
    capacity, borderline interactions stay with AI (monitored) instead of joining the queue."""

    enabled: bool = True
    lookahead_intervals: int = Field(
        default=2, ge=1, le=8, description="Planned intervals looked at, the current one first."
    )
    low_capacity_ratio: float = Field(
        default=0.75,
        gt=0.0,
        le=1.0,
        description="Capacity counts as low when planned agents fall below this share of the "
        "agents staffed now.",
    )
    min_planned_agents: int = Field(
        default=0, ge=0, description="Capacity is low at or below this many planned agents."
    )
    retain_margin: float = Field(
        default=0.1,
        ge=0.0,
        le=0.5,
        description="Confidence this far below monitored_min still goes to AI (monitored) "
        "while capacity is low.",
    )


class AIEndpoint(_Doc):
    """An AI agent version the router may target, with its continuous skill profile."""

    name: str = Field(description="Logical agent, e.g. billing-bot.")
    version: str
    role: EndpointRole = Field(
        default=EndpointRole.PRODUCTION,
        description="production | canary take live traffic by weight; shadow gets copies; "
        "rollback is kept warm; retired is never called.",
    )
    region: str = Field(default="us", description="Where the endpoint processes data.")
    url: str = Field(description="OpenAI-compatible base URL (…/v1).")
    model: str = Field(default="warmline-agent", description="`model` sent in the request.")
    weight: float = Field(default=1.0, ge=0.0, description="Traffic weight within the agent.")
    capability: dict[str, float] = Field(
        default_factory=dict, description="Per-intent resolution probability; `*` default."
    )
    channels: dict[str, float] = Field(
        default_factory=lambda: {"chat": 1.0, "email": 1.0, "social": 1.0, "voice": 0.9}
    )
    languages: dict[str, float] = Field(default_factory=lambda: {"en": 1.0})
    max_concurrent: int = Field(default=100, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    cost_per_1k_tokens: float = Field(default=0.002, ge=0)
    system_prompt: str | None = Field(
        default=None,
        max_length=20_000,
        description="This agent's own instructions, sent as a system message after Warmline's; "
        "a reply that recites them is a prompt echo for the safety policy.",
    )
    tool_descriptions: list[Annotated[str, Field(max_length=5_000)]] = Field(
        default_factory=list,
        max_length=50,
        description="Descriptions of tools the agent has at its vendor (Warmline itself offers "
        "only resolve and escalate): a reply that recites one is a tool echo.",
    )
    api_key_env: str | None = Field(
        default=None,
        description="Name of the env var holding the key, WARMLINE_AI_KEY_<NAME>; the key itself "
        "is never stored.",
    )

    @field_validator("api_key_env")
    @classmethod
    def _allow_listed_key(cls, name: str | None) -> str | None:
        problem = None if name is None else ai_key_env_problem(name)
        if problem is not None:
            raise ValueError(problem)
        return name


class HumanQueue(_Doc):
    name: str
    region: str = Field(
        default=ANY, description="Where the queue's agents work (residency); * serves any region."
    )
    capability: dict[str, float] = Field(default_factory=lambda: {ANY: 0.9})
    channels: dict[str, float] = Field(
        default_factory=lambda: {"chat": 1.0, "email": 1.0, "social": 1.0, "voice": 1.0}
    )
    languages: dict[str, float] = Field(default_factory=lambda: {"en": 1.0})


class ResidencyPolicy(_Doc):
    """Where each customer region's data may be processed: AI endpoints (live, fallback and
    shadow) elsewhere are never chosen, and human queues elsewhere only when none is in region.
    """

    regions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Customer region -> processing regions allowed, e.g. eu -> [eu].",
    )
    unlisted: list[str] | None = Field(
        default=None,
        description="Allowed processing regions for customer regions not listed (and unknown "
        "ones); None: anywhere.",
    )

    def allowed(self, customer_region: str | None) -> frozenset[str] | None:
        """Processing regions allowed for ``customer_region``; None: no restriction."""
        if customer_region is not None and customer_region in self.regions:
            return frozenset(self.regions[customer_region])
        return None if self.unlisted is None else frozenset(self.unlisted)


class RoutingConfig(_Doc):
    version: int = Field(default=0, description="Assigned by the store when saved.")
    author: str = "system"
    created_at: str | None = None
    default_pattern: OrchestrationPattern = OrchestrationPattern.PRE_ACD
    patterns: dict[str, OrchestrationPattern] = Field(
        default_factory=dict, description="Entry point (metadata.entry_point) -> pattern."
    )
    intent_map: dict[str, Route] = Field(
        default_factory=dict,
        description="Fixed destinations by intent (complaint -> human); others use thresholds.",
    )
    ai_eligible_intents: list[str] = Field(
        default_factory=list,
        description="Post-classification: intents an upstream classifier may hand to AI. "
        "Empty means every intent not mapped to human.",
    )
    thresholds: list[ThresholdRule] = Field(default_factory=lambda: [ThresholdRule()])
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    spillover: SpilloverPolicy = Field(default_factory=SpilloverPolicy)
    auto_rollback: AutoRollbackPolicy = Field(default_factory=AutoRollbackPolicy)
    residency: ResidencyPolicy = Field(default_factory=ResidencyPolicy)
    schedule: ScheduleAwareness = Field(default_factory=ScheduleAwareness)
    ai_endpoints: list[AIEndpoint] = Field(default_factory=list)
    human_queues: list[HumanQueue] = Field(default_factory=lambda: [HumanQueue(name="general")])
    min_ai_fit: float = Field(
        default=0.5, ge=0, le=1, description="Best-fit AI score below which humans are preferred."
    )
    max_turns_per_run: int = Field(
        default=200, ge=2, description="Continue-as-new after this many turns in one run."
    )
    ai_context_messages: int = Field(
        default=AI_CONTEXT_MESSAGES,
        ge=2,
        le=1000,
        description="Customer and AI messages an AI call carries, the latest ones (the agent's "
        "instructions and a hand-off's context package come on top).",
    )
    safety: SafetyPolicy = Field(
        default_factory=lambda: SafetyPolicy(injection_threshold=DEFAULT_INJECTION_THRESHOLD),
        description="What a prompt-injection detection or a reply violation does per intent and "
        "channel, and what an AI may commit to (versioned with the config).",
    )
    abuse: AbusePolicy = Field(
        default_factory=lambda: AbusePolicy(repeats=None),
        description="Rate limits at interaction start and per turn, versioned with the config. "
        "Scripted-repeat detection is off unless set: common questions and thanks repeat across "
        "genuine customers of one tenant, so its threshold must fit the tenant's traffic.",
    )
    regulatory: RegulatoryPolicy = Field(
        default_factory=default_regulatory_policy,
        description="The duties per jurisdiction and channel (AI disclosure, automated-decision "
        "notice and right to a human, consent before a callback or outbound contact, recording "
        "notice), versioned with the config: its version is the config's.",
    )
    specialists: dict[str, str] = Field(
        default_factory=dict,
        description="Intent -> specialist AI agent (an ``ai_endpoints`` name) that takes the "
        "conversations about it, first turn or a later topic shift (AI-to-AI hand-off).",
    )
    handoff: HandoffPolicy = Field(default_factory=HandoffPolicy)

    @model_validator(mode="after")
    def _specialists_known(self) -> RoutingConfig:
        """A specialist must be a configured agent that declares a capability for its intent:
        a typo in either would silently route a topic to the wrong place."""
        declared: dict[str, set[str]] = {}
        for endpoint in self.ai_endpoints:
            declared.setdefault(endpoint.name, set()).update(endpoint.capability)
        problems = []
        for intent, agent in sorted(self.specialists.items()):
            if agent not in declared:
                known = ", ".join(sorted(declared)) or "none"
                problems.append(
                    f"specialists[{intent!r}]: unknown AI agent {agent!r} (agents: {known})"
                )
            elif intent == ANY or intent not in declared[agent]:
                problems.append(
                    f"specialists[{intent!r}]: unknown intent for agent {agent!r} (it declares "
                    f"no capability for it: {', '.join(sorted(declared[agent] - {ANY}))})"
                )
            elif self.intent_map.get(intent) is Route.HUMAN:
                problems.append(f"specialists[{intent!r}]: the intent is mapped to human")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class EndpointHealth(_Doc):
    name: str
    version: str
    available: bool = True
    breaker: str = "closed"
    active_sessions: int = 0
    allowed_intents: list[str] | None = Field(
        default=None, description="Degraded: only these (simple, proven) intents; None = all."
    )
    min_confidence: float | None = Field(
        default=None, description="Degraded: tightened confidence needed to route here."
    )
    max_sessions: int | None = Field(
        default=None, description="Stressed: concurrent session cap below max_concurrent."
    )


class PlannedStaffing(_Doc):
    """One interval of the WFM staffing plan for a queue (schedule sync)."""

    interval_start: str = Field(description="UTC ISO 8601 start of the interval.")
    planned_agents: int = Field(ge=0)


class HumanAvailability(_Doc):
    queue: str
    agents: int = Field(default=0, description="Staffed agents in the queue.")
    available_agents: int = 0
    queued: int = 0
    estimated_wait_seconds: float = 0.0
    plan: list[PlannedStaffing] = Field(
        default_factory=list,
        description="The WFM plan for this queue from the current interval on (schedule sync).",
    )


class FleetSnapshot(_Doc):
    endpoints: list[EndpointHealth] = Field(default_factory=list)
    humans: list[HumanAvailability] = Field(default_factory=list)


class RouteRequest(_Doc):
    interaction_id: str
    channel: Channel
    segment: str
    language: str
    region: str | None = Field(default=None, description="Customer region (residency).")
    entry_point: str = "default"
    classification: Classification


class RoutingDecision(_Doc):
    route: Route
    pattern: OrchestrationPattern
    intent: str
    confidence: float
    channel: Channel
    config_version: int
    ai_endpoint: AIEndpoint | None = None
    shadow_endpoint: AIEndpoint | None = Field(
        default=None, description="Gets a copy of each AI turn; its answers never reach anyone."
    )
    human_queue: str | None = None
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    spillover: SpilloverPolicy = Field(default_factory=SpilloverPolicy)
    max_turns_per_run: int = 200
    ai_context_messages: int = AI_CONTEXT_MESSAGES
    handoff: HandoffPolicy = Field(default_factory=HandoffPolicy)
    reasons: list[str] = Field(default_factory=list)
