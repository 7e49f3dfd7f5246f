"""OpenAI-compatible chat-completions client with a small, typed error vocabulary.

Chat completions are the common denominator of AI agent platforms. The agent tells the
orchestrator to resolve or escalate through two function tools, so any vendor that supports
tool calls can take part without a Warmline-specific protocol.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from typing import Any, Protocol

import httpx

from models.ai import AIAction, AIReply, AIRequest
from models.handoff import HANDOFF_PREFIX
from models.routing import AIEndpoint, ai_key_env_problem

RESOLVE_TOOL = "resolve_interaction"
ESCALATE_TOOL = "escalate_to_human"

AGENT_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": RESOLVE_TOOL,
            "description": "Call when the customer's need is fully met and the conversation ends.",
            "parameters": {
                "type": "object",
                "properties": {"summary": {"type": "string"}},
                "required": ["summary"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": ESCALATE_TOOL,
            "description": "Call when a human agent must take over; explain why for the handover.",
            "parameters": {
                "type": "object",
                "properties": {"reason": {"type": "string"}, "assessment": {"type": "string"}},
                "required": ["reason"],
            },
        },
    },
]


class AIError(Exception):
    """Base of the errors the retry policy and the breaker understand."""

    kind = "error"


class AITimeout(AIError):
    kind = "timeout"


class AIConnectError(AIError):
    kind = "connect_error"


class AIRateLimited(AIError):
    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AIServerError(AIError):
    kind = "server_error"


class AIBadResponse(AIError):
    """A 200 that is not a usable answer (garbage, empty): as bad as a 500 for the customer."""

    kind = "bad_response"


class AIRequestRejected(AIError):
    """A 4xx other than 429: our request is wrong, so retrying cannot help."""

    kind = "rejected"


class AICredentialRefused(AIRequestRejected):
    """The endpoint names a credential variable outside the ``WARMLINE_AI_KEY_`` allow-list.

    Config validation refuses such a name already; this is the call-time check for an endpoint
    that reached the client some other way (forged state, a model built without validation),
    so no other secret of the worker is ever sent. Nothing is sent at all.
    """


def credential(endpoint: AIEndpoint) -> str | None:
    """The bearer key for ``endpoint``: the value of its allow-listed ``WARMLINE_AI_KEY_*``
    variable, None when it names none (or the variable is unset)."""
    name = endpoint.api_key_env
    if not name:
        return None
    problem = ai_key_env_problem(name)
    if problem is not None:
        raise AICredentialRefused(f"{endpoint.name}:{endpoint.version} api_key_env {problem}"[:300])
    return os.environ.get(name) or None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_completion(
    payload: Any, fallback_version: str
) -> tuple[str, AIAction, str | None, int, int, str]:
    """Validate a chat.completion body; anything unusable raises AIBadResponse."""
    if not isinstance(payload, dict):
        raise AIBadResponse("completion body is not a JSON object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise AIBadResponse("completion has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise AIBadResponse("completion choice has no message")
    content = message.get("content") or ""
    if not isinstance(content, str):
        raise AIBadResponse("completion content is not text")
    action, assessment = AIAction.REPLY, None
    for call in message.get("tool_calls") or []:
        function = call.get("function", {}) if isinstance(call, dict) else {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except (TypeError, ValueError):
            arguments = {}
        if function.get("name") == ESCALATE_TOOL:
            action = AIAction.ESCALATE
            assessment = str(arguments.get("assessment") or arguments.get("reason") or "")
        elif function.get("name") == RESOLVE_TOOL and action is not AIAction.ESCALATE:
            action = AIAction.RESOLVE
            assessment = str(arguments.get("summary") or "") or None
    if not content.strip() and action is AIAction.REPLY:
        raise AIBadResponse("completion is empty")
    raw_usage = payload.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    completion_tokens = int(usage.get("completion_tokens") or 0)
    version = str(payload.get("model") or fallback_version)
    return content.strip(), action, assessment, prompt_tokens, completion_tokens, version


class InFlightGauge(Protocol):
    """``runtime.metrics.WarmlineMetrics``: the AI calls in progress."""

    def ai_call_in_flight(
        self, agent: str, version: str
    ) -> contextlib.AbstractContextManager[None]: ...


@functools.lru_cache(maxsize=256)
def _completions_url(base: str) -> httpx.URL:
    """The parsed chat-completions URL of an endpoint: httpx parses a string URL on every
    request, and the same few endpoints are called all day."""
    return httpx.URL(f"{base.rstrip('/')}/chat/completions")


@functools.lru_cache(maxsize=256)
def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(2.0, seconds))


class AIClient:
    """One pooled ``httpx.AsyncClient`` per worker process; closed on shutdown."""

    def __init__(self, max_connections: int = 200, metrics: InFlightGauge | None = None) -> None:
        """``metrics`` holds the in-flight gauge up during each call (AI sessions in flight)."""
        self._metrics = metrics
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx.Timeout(10.0, connect=2.0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(self, request: AIRequest) -> AIReply:
        endpoint = request.endpoint
        headers = {"Idempotency-Key": request.idempotency_key}
        key = credential(endpoint)
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        messages = [m.model_dump() for m in request.messages]
        if endpoint.system_prompt:
            # The agent's own instructions follow Warmline's (which open the conversation).
            messages.insert(1, {"role": "system", "content": endpoint.system_prompt})
        if request.handoff is not None:
            # The agent taking over reads who had the conversation and what they concluded.
            briefing = HANDOFF_PREFIX + request.handoff.model_dump_json()
            messages.insert(1, {"role": "system", "content": briefing})
        body = {
            "model": endpoint.model,
            "messages": messages,
            "tools": AGENT_TOOLS,
            "user": request.interaction_id,
            "metadata": {"intent": request.intent, "turn": str(request.turn)},
        }
        timeout = _timeout(endpoint.timeout_seconds)
        started = time.perf_counter()
        in_flight = (
            self._metrics.ai_call_in_flight(endpoint.name, endpoint.version)
            if self._metrics is not None
            else contextlib.nullcontext()
        )
        try:
            with in_flight:
                response = await self._http.post(
                    _completions_url(endpoint.url),
                    json=body,
                    headers=headers,
                    timeout=timeout,
                )
        except httpx.TimeoutException as exc:
            raise AITimeout(f"{endpoint.name}:{endpoint.version} timed out: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise AIConnectError(
                f"{endpoint.name}:{endpoint.version} unreachable: {exc!r}"
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        if response.status_code == 429:
            raise AIRateLimited(
                f"{endpoint.name}:{endpoint.version} rate limited", _retry_after(response)
            )
        if response.status_code >= 500:
            raise AIServerError(f"{endpoint.name}:{endpoint.version} HTTP {response.status_code}")
        if response.status_code >= 400:
            raise AIRequestRejected(
                f"{endpoint.name}:{endpoint.version} rejected the request: "
                f"HTTP {response.status_code}"
            )
        try:
            payload = response.json()
        except ValueError as exc:
            raise AIBadResponse(
                f"{endpoint.name}:{endpoint.version} returned non-JSON 200"
            ) from exc
        text, action, assessment, p_tok, c_tok, version = parse_completion(
            payload, f"{endpoint.name}:{endpoint.version}"
        )
        cost = (p_tok + c_tok) / 1000 * endpoint.cost_per_1k_tokens
        return AIReply(
            text=text,
            action=action,
            assessment=assessment,
            model_version=version,
            prompt_tokens=p_tok,
            completion_tokens=c_tok,
            cost_usd=round(cost, 8),
            latency_ms=round(latency_ms, 3),
        )
