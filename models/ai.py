"""Activity contracts for AI invocation (OpenAI-compatible chat completions)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.handoff import HandoffPackage
from models.routing import AIEndpoint
from models.safety import ReplyCheck


class AIAction(StrEnum):
    """What the AI agent asked the orchestrator to do besides replying (via tool calls)."""

    REPLY = "reply"
    RESOLVE = "resolve"
    ESCALATE = "escalate"


class ChatTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(description="system | user | assistant")
    content: str


class AIRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interaction_id: str
    turn: int
    idempotency_key: str = Field(description="workflow id + turn: a retried call is the same call.")
    endpoint: AIEndpoint
    intent: str
    channel: str = Field(
        default="*",
        max_length=16,
        description="Where the customer is: the safety policy's rule for the reply check.",
    )
    messages: list[ChatTurn] = Field(description="Redacted conversation so far.")
    handoff: HandoffPackage | None = Field(
        default=None, description="Context from the agent that handed the conversation over."
    )


class AIReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    action: AIAction = AIAction.REPLY
    assessment: str | None = Field(default=None, description="The AI's own view, for handover.")
    model_version: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    check: ReplyCheck | None = Field(
        default=None,
        description="The output check of the reply against the safety policy, made in the call "
        "so the hot path needs no extra step; None from a worker that predates the checks.",
    )


class ShadowRequest(BaseModel):
    """A copy of a live turn for the shadow version; its answer is stored, never delivered."""

    model_config = ConfigDict(extra="forbid")
    request: AIRequest = Field(description="The same request, addressed to the shadow endpoint.")
    live_model_version: str
    live_text: str = Field(description="Redacted live answer, for side-by-side comparison.")


class ShadowAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interaction_id: str
    turn: int
    endpoint: str = Field(description="name:version of the shadow endpoint.")
    live_model_version: str
    live_text: str
    shadow_text: str | None = None
    shadow_action: str | None = None
    latency_ms: float = 0.0
    cost_usd: float = Field(default=0.0, description="What the shadow's answer cost.")
    error: str | None = None
