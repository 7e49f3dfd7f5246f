"""Contracts of fleet management: registry changes, A/B tests, rollbacks, WFM events.

The registry is the routing config's ``ai_endpoints``: every change is a new config version
(author ``canary:<workflow id>``, ``rollback:<workflow id>`` or an operator) plus an event on
the ``fleet`` audit stream. Long-running fleet workflows keep all they know in one state model
that continue-as-new carries and the ``status`` query returns. The canary rollout's contracts
are in ``models.canary``; metrics, analysis templates and reports in ``models.fleet_analysis``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.boundary import ContinuableInput
from models.fleet_analysis import (
    ABReport,
)
from models.routing import AIEndpoint, EndpointRole

FLEET_TASK_QUEUE = "fleet"
CANARY_WORKFLOW = "CanaryRolloutWorkflow"
AB_TEST_WORKFLOW = "ABTestWorkflow"
ROLLBACK_WORKFLOW = "RollbackWorkflow"
FLEET_AUDIT_STREAM = "fleet"
WFM_EVENT_STREAM = "wfm-events"


def endpoint_key(name: str, version: str) -> str:
    """How facts, audit and metrics name one version: ``name:version``."""
    return f"{name}:{version}"


def canary_workflow_id(agent: str) -> str:
    """One rollout per agent at a time: Temporal refuses a second run with the same id."""
    return f"canary-{agent}"


def ab_test_workflow_id(agent: str) -> str:
    return f"abtest-{agent}"


def rollback_workflow_id(agent: str | None) -> str:
    return f"rollback-{agent or 'all'}"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- registry changes ---------------------------------------------------------------------


class RegisterEndpoint(_Doc):
    """Add a version; a new version usually enters as canary with weight 0 (no traffic yet)."""

    op: Literal["register"] = "register"
    endpoint: AIEndpoint


class SetWeight(_Doc):
    op: Literal["set_weight"] = "set_weight"
    agent: str
    version: str
    weight: float = Field(ge=0.0)


class SetRole(_Doc):
    op: Literal["set_role"] = "set_role"
    agent: str
    version: str
    role: EndpointRole


class RetireEndpoint(_Doc):
    op: Literal["retire"] = "retire"
    agent: str
    version: str
    force: bool = Field(
        default=False, description="Allow retiring the agent's last version carrying traffic."
    )


class SetCanaryShare(_Doc):
    """Give the canary ``percent`` of the agent's live traffic; production keeps the rest."""

    op: Literal["set_canary_share"] = "set_canary_share"
    agent: str
    version: str
    percent: float = Field(ge=0.0, le=100.0)


class PromoteCanary(_Doc):
    """Canary becomes production at 100 %; old production becomes rollback, kept warm."""

    op: Literal["promote"] = "promote"
    agent: str
    version: str


class RejectCanary(_Doc):
    """Canary retired at weight 0; production versions share 100 % again."""

    op: Literal["reject_canary"] = "reject_canary"
    agent: str
    version: str


class SetShares(_Doc):
    """Exact live shares of an agent's versions; versions not named get weight 0.

    Absolute targets make a retried or replayed step a no-op (graduated rollback, A/B split).
    """

    op: Literal["set_shares"] = "set_shares"
    agent: str
    shares: dict[str, float] = Field(min_length=1, description="version -> percent (sum 100).")
    roles: dict[str, EndpointRole] = Field(
        default_factory=dict, description="Role changes applied with the shares."
    )

    @model_validator(mode="after")
    def _sums_to_100(self) -> SetShares:
        total = sum(self.shares.values())
        if any(share < 0 for share in self.shares.values()) or abs(total - 100.0) > 1e-6:
            raise ValueError(f"shares must be >= 0 and sum to 100, got {total:g}")
        return self


class FailoverToHuman(_Doc):
    """Every live AI version of the agents at weight 0: routing sends their work to humans."""

    op: Literal["failover_to_human"] = "failover_to_human"
    agents: list[str] = Field(default_factory=list, description="Empty means every agent.")


RegistryChange = Annotated[
    RegisterEndpoint
    | SetWeight
    | SetRole
    | RetireEndpoint
    | SetCanaryShare
    | PromoteCanary
    | RejectCanary
    | SetShares
    | FailoverToHuman,
    Field(discriminator="op"),
]


class ApplyRegistryChange(_Doc):
    """Activity input: apply ``changes`` as one new routing config version, exactly once."""

    change_id: str = Field(min_length=1, description="Idempotency key: workflow id + step.")
    actor: str = Field(min_length=1, description="Author of the config version and audit event.")
    reason: str = ""
    changes: list[RegistryChange] = Field(min_length=1)


class EndpointShare(_Doc):
    """A registry row as operators read it: role, raw weight and share of the agent's traffic."""

    name: str
    version: str
    role: EndpointRole
    weight: float
    share_percent: float = Field(description="Of the agent's live traffic (0 when not live).")
    region: str = "us"
    cost_per_1k_tokens: float = 0.0
    max_concurrent: int = 0


class RegistryChangeResult(_Doc):
    change_id: str
    applied: bool = Field(description="False when this change id was applied before.")
    config_version: int
    reasons: list[str] = Field(default_factory=list)
    endpoints: list[EndpointShare] = Field(default_factory=list)


class ReadRegistry(_Doc):
    agent: str | None = Field(default=None, description="None lists every agent.")


class RegistryView(_Doc):
    config_version: int
    endpoints: list[EndpointShare]


class OperatorNote(_Doc):
    """Body of a human command through the API (pause, resume, abort, promote, stop): only why;
    who is the caller's identity."""

    reason: str = Field(default="", max_length=500)


class OperatorCommand(OperatorNote):
    """Signal payload of an operator command: the note and who gave it."""

    by: str = Field(default="operator", min_length=1)


class FleetAuditEvent(_Doc):
    """Activity input: one event on a fleet audit stream, written once per ``key``."""

    key: str = Field(min_length=1)
    stream: str = FLEET_AUDIT_STREAM
    kind: str
    actor: str
    at: str
    payload: dict[str, object] = Field(default_factory=dict)


# -- WFM events ----------------------------------------------------------------------------


class WFMEventKind(StrEnum):
    AI_FAILOVER_TO_HUMAN = "ai_failover_to_human"
    AB_TEST_BLENDED_CONTAINMENT = "ab_test_blended_containment"


class EmitWFMEvent(_Doc):
    """Activity input: tell real-time WFM that AI capacity changed, once per ``key``."""

    key: str = Field(min_length=1)
    kind: WFMEventKind
    at: str = Field(description="Workflow time; the volume estimate looks back from it.")
    agents: list[str] = Field(default_factory=list)
    reason: str = ""
    requested_by: str = "warmline"
    expected_duration_minutes: float | None = None
    lookback_minutes: float = Field(default=15.0, gt=0.0)
    blended_containment: float | None = None


class WFMEvent(_Doc):
    """What WFM's real-time team receives (stored on the ``wfm-events`` stream)."""

    key: str
    kind: WFMEventKind
    at: str
    agents: list[str]
    endpoints: list[str] = Field(default_factory=list)
    reason: str = ""
    requested_by: str = "warmline"
    ai_interactions_per_minute: float = Field(
        default=0.0,
        description="Recent AI volume of those endpoints: extra human work per minute now.",
    )
    expected_duration_minutes: float | None = None
    blended_containment: float | None = None


# -- rollback ------------------------------------------------------------------------------


class RollbackMode(StrEnum):
    INSTANT = "instant"
    GRADUATED = "graduated"
    FAILOVER_TO_HUMAN = "failover_to_human"


class RollbackStart(_Doc):
    """What an operator or release manager asks for (``POST /v1/rollbacks``)."""

    mode: RollbackMode
    agent: str | None = Field(default=None, description="Required for instant and graduated.")
    agents: list[str] = Field(
        default_factory=list, description="Failover only: agents to take off AI (empty = all)."
    )
    from_version: str | None = Field(
        default=None, description="Default: the live canary, else the largest production."
    )
    to_version: str | None = Field(
        default=None,
        description="Default: production when rolling back a canary, else the warm rollback.",
    )
    step_percent: float = Field(default=10.0, gt=0.0, le=100.0, description="Graduated shift.")
    intervals: int | None = Field(
        default=None, ge=1, description="Graduated: reach 0 % in this many shifts instead."
    )
    interval_seconds: float = Field(default=60.0, gt=0.0)
    expected_duration_minutes: float | None = Field(
        default=None, ge=0.0, description="For the WFM event, if known."
    )
    reason: str = ""

    @model_validator(mode="after")
    def _agent_for_version_moves(self) -> RollbackStart:
        if self.mode is not RollbackMode.FAILOVER_TO_HUMAN and not self.agent:
            raise ValueError(f"agent is required for mode {self.mode.value}")
        return self


class RollbackInput(RollbackStart):
    """Workflow input: the request and who asked (a person, or the health monitor)."""

    requested_by: str = Field(default="operator", min_length=1)


def rollback_agent(request: RollbackStart) -> str | None:
    """The agent a rollback is filed under: its agent, the one agent of a failover, or None
    (``rollback-all``) for a failover of several or every agent."""
    if request.mode is not RollbackMode.FAILOVER_TO_HUMAN:
        return request.agent
    return request.agents[0] if len(request.agents) == 1 else None


def rollback_workflow_id_for(request: RollbackStart) -> str:
    """One rollback per agent at a time: ``rollback-<agent>``, or ``rollback-all`` for a
    failover of several (or every) agent."""
    return rollback_workflow_id(rollback_agent(request))


class RollbackPlan(_Doc):
    """The shares each shift sets, computed once from the registry at the start."""

    agent: str
    from_version: str
    to_version: str
    from_role: EndpointRole
    to_role: EndpointRole
    start_shares: dict[str, float]
    shifts: list[dict[str, float]] = Field(description="Absolute shares after each shift.")


class RollbackPhase(StrEnum):
    PLANNING = "planning"
    SHIFTING = "shifting"
    DONE = "done"


class RollbackState(_Doc):
    mode: RollbackMode
    phase: RollbackPhase = RollbackPhase.PLANNING
    plan: RollbackPlan | None = None
    shifts_applied: int = 0
    config_versions: list[int] = Field(default_factory=list)
    previous_shares: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="agent -> version -> share before the rollback."
    )
    wfm_event: WFMEvent | None = None
    reasons: list[str] = Field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None


class AutoRollbackAction(StrEnum):
    NONE = "none"
    ROLLBACK = "rollback"
    FAILOVER_TO_HUMAN = "failover_to_human"


class AutoRollbackDecision(_Doc):
    """What the health monitor decided when a breaker opened, and why (audited once)."""

    endpoint: str = Field(description="name:version whose breaker opened.")
    breaker_revision: int = Field(description="Breaker revision of the opening (its identity).")
    action: AutoRollbackAction
    request: RollbackInput | None = Field(
        default=None, description="The RollbackWorkflow input, unless the action is none."
    )
    workflow_id: str | None = None
    reasons: list[str] = Field(default_factory=list)


# -- A/B test --------------------------------------------------------------------------------


class ABDesign(StrEnum):
    FIXED = "fixed"
    SEQUENTIAL = "sequential"


class ABTestConfig(_Doc):
    design: ABDesign = ABDesign.FIXED
    sample_size_per_arm: int = Field(
        default=400, ge=2, description="Pre-registered; the sequential design's cap."
    )
    min_sample_per_arm: int = Field(
        default=30, ge=2, description="The sequential design never stops before this."
    )
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    mixture_variance: float = Field(
        default=0.0025,
        gt=0.0,
        description="mSPRT prior variance of the containment difference (0.05^2: 5-point "
        "effects expected).",
    )
    poll_seconds: float = Field(default=300.0, gt=0.0)
    restore_on_finish: bool = Field(
        default=True, description="Put the pre-test shares and roles back when it concludes."
    )
    wfm_update_threshold: float = Field(
        default=0.02, gt=0.0, description="Tell WFM when blended containment moves this much."
    )
    max_polls_per_run: int = Field(default=500, ge=1)


class ABPhase(StrEnum):
    RUNNING = "running"
    CONCLUDED = "concluded"
    STOPPED = "stopped"


class ABTestState(_Doc):
    agent: str
    versions: list[str]
    control: str
    split: dict[str, float]
    phase: ABPhase = ABPhase.RUNNING
    started_at: str | None = None
    previous_shares: dict[str, float] = Field(default_factory=dict)
    previous_roles: dict[str, EndpointRole] = Field(default_factory=dict)
    last_report: ABReport | None = None
    last_wfm_blended: float | None = None
    reasons: list[str] = Field(default_factory=list)
    polls: int = 0
    polls_this_run: int = 0
    run_index: int = 0
    finished_at: str | None = None


class ABTestStart(_Doc):
    """What a release manager asks for (``POST /v1/ab-tests``); who asked comes from the
    credential, never the request."""

    agent: str = Field(min_length=1)
    versions: list[str] = Field(min_length=2, description="Arms; the first is control.")
    split: dict[str, float] = Field(
        default_factory=dict, description="version -> percent; default equal."
    )
    config: ABTestConfig = Field(default_factory=ABTestConfig)
    reason: str = ""

    @model_validator(mode="after")
    def _split_matches(self) -> ABTestStart:
        if len(set(self.versions)) != len(self.versions):
            raise ValueError("versions: each version may appear once")
        if self.split:
            if set(self.split) != set(self.versions):
                raise ValueError("split: must name exactly the versions")
            total = sum(self.split.values())
            if abs(total - 100.0) > 1e-6 or min(self.split.values()) <= 0:
                raise ValueError(f"split: shares must be > 0 and sum to 100, got {total:g}")
        return self


class ABTestInput(ABTestStart, ContinuableInput[ABTestState]):
    """Workflow input: the request, who asked, and ``state`` (set only by continue-as-new,
    ``models.boundary``)."""

    requested_by: str = Field(default="release-manager", min_length=1)

    def resolved_split(self) -> dict[str, float]:
        if self.split:
            return dict(self.split)
        return {version: 100.0 / len(self.versions) for version in self.versions}


class StopABTest(OperatorCommand):
    """Signal ``stop``: conclude now with the evidence so far."""


class ObserveABTest(_Doc):
    agent: str
    control: str
    split: dict[str, float]
    since: str
    at: str
    config: ABTestConfig
