"""Bodies of the API's human-facing commands and its generic answers.

None of them names who acts: the API adds the authenticated principal as reviewer, author or
requester, so a request cannot claim someone else's identity. The bodies of workflow starts
(``CanaryStart``, ``ABTestStart``, ``RollbackStart``, ``PhaseStart``) live beside the workflow
inputs they are the public part of.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from models.fleet import RetireEndpoint, SetRole, SetWeight
from models.routing import EndpointRole
from models.supervision import MAX_TEXT_CHARS, ReviewDecision


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterVersion(_Doc):
    """``POST /v1/fleet/versions``: a new version of an agent, profiled like an existing one."""

    agent: str = Field(min_length=1, description="Logical agent, e.g. care-bot.")
    version: str = Field(min_length=1)
    url: str | None = Field(default=None, description="Base URL; default: the simulated fleet.")
    role: EndpointRole = EndpointRole.CANARY
    weight: float = Field(default=0.0, ge=0.0)
    like: str | None = Field(
        default=None, description="Copy this version's profile (default: the production one)."
    )
    capability: dict[str, float] = Field(
        default_factory=dict, description="intent -> probability; overrides the copy."
    )
    region: str | None = None
    cost_per_1k_tokens: float | None = Field(default=None, ge=0.0)
    max_concurrent: int | None = Field(default=None, ge=1)
    model: str | None = None
    reason: str = Field(default="", max_length=500)


HumanRegistryChange = Annotated[SetWeight | SetRole | RetireEndpoint, Field(discriminator="op")]


class RegistryEdit(_Doc):
    """``POST /v1/fleet/changes``: weight, role and retirement changes as one config version.

    Traffic moves of rollouts and rollbacks are their workflows' (with WFM events); they are not
    accepted here.
    """

    changes: list[HumanRegistryChange] = Field(min_length=1)
    reason: str = Field(default="", max_length=500)


class ReviewRequest(_Doc):
    """``POST /v1/reviews/{interaction}/decision``: a supervisor's decision on the held draft."""

    decision: ReviewDecision
    draft_id: str | None = Field(
        default=None, max_length=128, description="Default: the draft the interaction holds."
    )
    edited_text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    reason: str | None = Field(default=None, max_length=500)


class ClaimRequest(_Doc):
    draft_id: str | None = Field(
        default=None, max_length=128, description="Default: the draft the interaction holds."
    )


class QARequest(_Doc):
    """``POST /v1/qa-reviews``: post-interaction QA of a closed interaction."""

    interaction_id: str = Field(min_length=1, max_length=128)
    resolved_correctly: bool
    notes: str | None = Field(default=None, max_length=2000)


class WorkflowStarted(_Doc):
    workflow_id: str


class WorkflowOutcome(_Doc):
    """A workflow's result when it has ended; ``done`` false while it still runs."""

    workflow_id: str
    done: bool
    result: dict[str, Any] | None = None
