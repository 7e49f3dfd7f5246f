"""Activity contracts for AI invocation (OpenAI-compatible chat completions)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.routing import AIEndpoint


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
    messages: list[ChatTurn] = Field(description="Redacted conversation so far.")


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
