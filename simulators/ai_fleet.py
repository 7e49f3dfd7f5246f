"""A fleet of simulated AI agent versions behind one OpenAI-compatible HTTP app.

Each agent version lives at ``/agents/{name}/{version}/v1`` so the routing config can point
``AIEndpoint.url`` at it exactly as it would at a vendor. Replies are deterministic (see
``bot_replies``); failures are injected on demand through ``/admin/faults`` so breaker,
retry, failover and canary-rollback paths can be exercised over real HTTP.

Faults are chosen by a counter, not by chance: with ``rate=0.25`` exactly every fourth
matching call fails, so a test knows in advance which call breaks. The ``escalate`` fault counts
conversations instead (by the request's ``user``, the interaction id): the chosen fraction of
conversations is handed to a human on the first turn, which is how a version with worse
containment looks from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.handoff import HANDOFF_PREFIX
from simulators.bot_replies import ESCALATE_TOOL, LOW_QUALITY_TEXT, BotTurn, ToolCall, compose_reply
from simulators.server import EXCEPTION_HANDLERS, error_response, read_json, read_model

ANY = "*"
DEFAULT_HANG_SECONDS = 60.0
"""How long the ``timeout`` fault holds a request: far beyond any sane client timeout."""


class FaultMode(StrEnum):
    OK = "ok"
    LATENCY = "latency"
    ERROR_500 = "error_500"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    GARBAGE_200 = "garbage_200"
    EMPTY_200 = "empty_200"
    LOW_QUALITY = "low_quality"
    DOWN = "down"
    ESCALATE = "escalate"


class FaultRule(BaseModel):
    """One injected fault; the most specific (name, version) rule wins, ``*`` matches any."""

    model_config = ConfigDict(extra="forbid")
    name: str = ANY
    version: str = ANY
    mode: FaultMode = FaultMode.OK
    rate: float = Field(default=1.0, ge=0.0, le=1.0, description="Fraction of calls affected.")
    latency_ms: int = Field(default=0, ge=0)
    retry_after: int = Field(default=1, ge=0, description="Retry-After seconds for rate_limit.")


class LatencySetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ms: int = Field(ge=0)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(part.get("text", "")) for part in self.content)
        return self.content or ""


class ChatCompletionBody(BaseModel):
    """The subset of the OpenAI request the simulator reads; anything else is accepted."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None

    def tool_names(self) -> set[str] | None:
        if self.tools is None:
            return None
        return {str(tool.get("function", {}).get("name")) for tool in self.tools}


@dataclass
class EndpointStats:
    calls: int = 0
    generations: int = 0
    duplicates: int = 0
    faults: int = 0
    faults_by_mode: dict[str, int] = field(default_factory=dict)
    last_request: dict[str, Any] | None = None
    last_idempotency_key: str | None = None
    handoffs_received: int = 0
    """Calls that carried a hand-off context package (a specialist taking over)."""
    last_handoff: dict[str, Any] | None = None
    """The last context package received, as sent, so a test can check it field by field."""

    def fault_served(self, mode: FaultMode) -> None:
        self.faults += 1
        self.faults_by_mode[mode.value] = self.faults_by_mode.get(mode.value, 0) + 1


RESPONSES_KEPT = 10_000
"""Idempotency keys the simulated fleet answers again with the same reply: far more than the
turns in flight across any retry window here."""


@dataclass
class FleetSimState:
    """Everything the fleet app knows; tests may read or change it directly, in-process."""

    require_auth: bool = False
    default_latency_ms: int = 0
    hang_seconds: float = DEFAULT_HANG_SECONDS
    faults: dict[tuple[str, str], FaultRule] = field(default_factory=dict)
    fault_calls: dict[tuple[str, str], int] = field(default_factory=dict)
    stats: dict[str, EndpointStats] = field(default_factory=dict)
    responses: OrderedDict[tuple[str, str], dict[str, Any]] = field(default_factory=OrderedDict)
    """Answers by idempotency key, the newest ``RESPONSES_KEPT`` (``remember``)."""
    conversation_faults: dict[tuple[str, str], dict[str, bool]] = field(default_factory=dict)

    def set_fault(self, rule: FaultRule) -> None:
        key = (rule.name, rule.version)
        self.faults[key] = rule
        self.fault_calls[key] = 0  # a new rule starts its own count
        self.conversation_faults.pop(key, None)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.fault_calls.clear()
        self.conversation_faults.clear()

    def reset(self) -> None:
        """Forget stats and cached responses (faults and latency stay)."""
        self.stats.clear()
        self.responses.clear()

    def remember(self, key: tuple[str, str], payload: dict[str, Any]) -> None:
        """Keep an answer for its idempotency key; the oldest go once ``RESPONSES_KEPT`` are
        kept, as a provider keeps keys for a window (a long ``warmline dev`` session or
        benchmark must not grow without bound)."""
        self.responses[key] = payload
        while len(self.responses) > RESPONSES_KEPT:
            self.responses.popitem(last=False)

    def endpoint_stats(self, name: str, version: str) -> EndpointStats:
        return self.stats.setdefault(f"{name}:{version}", EndpointStats())

    def rule_for(self, name: str, version: str) -> FaultRule | None:
        for key in ((name, version), (name, ANY), (ANY, version), (ANY, ANY)):
            if key in self.faults:
                return self.faults[key]
        return None

    def next_fault(
        self, name: str, version: str, conversation: str | None = None
    ) -> FaultRule | None:
        """The fault this call suffers, if any; advances the matching rule's call counter.

        ``escalate`` decides once per conversation and keeps the decision for its later turns.
        """
        rule = self.rule_for(name, version)
        if rule is None or rule.mode is FaultMode.OK:
            return None
        key = (rule.name, rule.version)
        if rule.mode is FaultMode.ESCALATE and conversation is not None:
            decided = self.conversation_faults.setdefault(key, {})
            if conversation not in decided:
                decided[conversation] = self._counted_hit(key, rule.rate)
            return rule if decided[conversation] else None
        return rule if self._counted_hit(key, rule.rate) else None

    def _counted_hit(self, key: tuple[str, str], rate: float) -> bool:
        n = self.fault_calls[key] = self.fault_calls.get(key, 0) + 1
        # Evenly spread: event n is hit when floor(n*rate) steps up (rate 1.0 hits every one).
        return math.floor(n * rate) > math.floor((n - 1) * rate)


def create_ai_fleet_app(state: FleetSimState | None = None) -> Starlette:
    """Build the fleet app; pass a ``FleetSimState`` to share or inspect it from a test."""
    sim = state or FleetSimState()

    async def completions(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        if sim.require_auth and not _authorized(request):
            return error_response(401, "missing or malformed bearer token", "authentication_error")
        stats = sim.endpoint_stats(name, version)
        raw = await read_json(request)
        stats.calls += 1
        stats.last_request = raw if isinstance(raw, dict) else {"_raw": raw}
        try:
            body = ChatCompletionBody.model_validate(raw)
        except ValidationError as exc:
            return error_response(400, f"invalid chat completion request: {exc.errors()[0]}")
        key = request.headers.get("idempotency-key")
        stats.last_idempotency_key = key
        package = _handoff_package(body)
        if package is not None:
            stats.handoffs_received += 1
            stats.last_handoff = package
        if sim.default_latency_ms:
            await asyncio.sleep(sim.default_latency_ms / 1000)

        fault = sim.next_fault(name, version, body.user)
        mode = fault.mode if fault else FaultMode.OK
        if fault and (early := _fault_response(fault, f"{name}:{version}")) is not None:
            stats.fault_served(mode)
            return early
        if mode is FaultMode.LATENCY:
            stats.fault_served(mode)
            await asyncio.sleep(fault.latency_ms / 1000 if fault else 0)

        cache_key = (f"{name}:{version}", key) if key else None
        if cache_key and cache_key in sim.responses:
            stats.duplicates += 1
            payload = sim.responses[cache_key]
        else:
            # A timeout still generates (and caches) first: the reply is lost in transit, the
            # classic case where only an idempotency key stops a retry from generating twice.
            turn = _turn_for(
                body,
                low_quality=mode is FaultMode.LOW_QUALITY,
                escalate=mode is FaultMode.ESCALATE,
            )
            payload = _completion(body, turn, f"{name}:{version}", key)
            stats.generations += 1
            if mode in (FaultMode.LOW_QUALITY, FaultMode.ESCALATE):
                stats.fault_served(mode)
            if cache_key:
                sim.remember(cache_key, payload)
        if mode is FaultMode.TIMEOUT:
            stats.fault_served(mode)
            await _hang(request, sim.hang_seconds)
        return JSONResponse(payload)

    async def models(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        rule = sim.rule_for(name, version)
        if rule is not None and rule.mode is FaultMode.DOWN:
            return error_response(503, "agent is down", "service_unavailable")
        model = {"id": f"{name}:{version}", "object": "model", "created": 0, "owned_by": "sim"}
        return JSONResponse({"object": "list", "data": [model]})

    async def set_fault(request: Request) -> Response:
        sim.set_fault(await read_model(request, FaultRule))
        return _faults_view(sim)

    async def clear_faults(request: Request) -> Response:
        sim.clear_faults()
        return _faults_view(sim)

    async def list_faults(request: Request) -> Response:
        return _faults_view(sim)

    async def set_latency(request: Request) -> Response:
        sim.default_latency_ms = (await read_model(request, LatencySetting)).ms
        return JSONResponse({"default_latency_ms": sim.default_latency_ms})

    async def stats(request: Request) -> Response:
        return JSONResponse(_stats_view(sim))

    async def reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse(_stats_view(sim))

    app = Starlette(
        routes=[
            Route("/agents/{name}/{version}/v1/chat/completions", completions, methods=["POST"]),
            Route("/agents/{name}/{version}/v1/models", models, methods=["GET"]),
            Route("/admin/faults", set_fault, methods=["POST"]),
            Route("/admin/faults", clear_faults, methods=["DELETE"]),
            Route("/admin/faults", list_faults, methods=["GET"]),
            Route("/admin/latency", set_latency, methods=["POST"]),
            Route("/admin/stats", stats, methods=["GET"]),
            Route("/admin/reset", reset, methods=["POST"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.sim = sim
    return app


def _handoff_package(body: ChatCompletionBody) -> dict[str, Any] | None:
    """The hand-off context a system message carries, parsed; None when there is none."""
    for message in body.messages:
        text = message.text()
        if message.role == "system" and text.startswith(HANDOFF_PREFIX):
            with contextlib.suppress(ValueError):
                parsed = json.loads(text[len(HANDOFF_PREFIX) :])
                return parsed if isinstance(parsed, dict) else None
    return None


def _authorized(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _fault_response(fault: FaultRule, model: str) -> Response | None:
    """Faults answered before any generation happens; ``None`` for the ones that generate."""
    if fault.mode is FaultMode.ERROR_500:
        return error_response(500, "simulated internal error", "server_error")
    if fault.mode is FaultMode.DOWN:
        return error_response(503, "agent is down", "service_unavailable")
    if fault.mode is FaultMode.RATE_LIMIT:
        response = error_response(429, "rate limit reached", "rate_limit_exceeded")
        response.headers["Retry-After"] = str(fault.retry_after)
        return response
    if fault.mode is FaultMode.GARBAGE_200:
        # A truncated body with a JSON content type: the parser, not the status, must catch it.
        return Response(b'{"id": "chatcmpl-', media_type="application/json")
    if fault.mode is FaultMode.EMPTY_200:
        empty = {"id": "chatcmpl-empty", "object": "chat.completion", "model": model}
        return JSONResponse(
            empty | {"created": int(time.time()), "choices": [], "usage": _usage(0, 0)}
        )
    return None


GIVE_UP_TEXT = "I'm not able to sort this out myself; let me bring in a colleague."


def _turn_for(body: ChatCompletionBody, *, low_quality: bool, escalate: bool = False) -> BotTurn:
    if low_quality:
        return BotTurn(LOW_QUALITY_TEXT)
    tools = body.tool_names()
    if escalate and (tools is None or ESCALATE_TOOL in tools):
        reason = "this version cannot resolve the request"
        call = ToolCall(
            ESCALATE_TOOL, {"reason": reason, "assessment": f"Agent gave up: {reason}."}
        )
        return BotTurn(GIVE_UP_TEXT, [call])
    user_texts = [m.text() for m in body.messages if m.role == "user"]
    hint = (body.metadata or {}).get("intent")
    system = "\n".join(
        m.text()
        for m in body.messages
        if m.role == "system" and not m.text().startswith(HANDOFF_PREFIX)
    )
    return compose_reply(
        user_texts, body.tool_names(), hint if isinstance(hint, str) else None, system
    )


def _completion(
    body: ChatCompletionBody, turn: BotTurn, model: str, key: str | None
) -> dict[str, Any]:
    seed = f"{model}|{key or ''}|{turn.content}|{len(body.messages)}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    completion_text = turn.content
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{digest[i * 8 : i * 8 + 24]}",
                "type": "function",
                "function": {"name": call.name, "arguments": _json(call.arguments)},
            }
            for i, call in enumerate(turn.tool_calls)
        ]
        completion_text += " " + " ".join(_json(c.arguments) for c in turn.tool_calls)
    prompt_text = " ".join(m.text() for m in body.messages)
    return {
        "id": f"chatcmpl-{digest[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": f"sim-{model}",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if turn.tool_calls else "stop",
            }
        ],
        "usage": _usage(_tokens(prompt_text), _tokens(completion_text)),
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _tokens(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _hang(request: Request, seconds: float) -> None:
    """Hold the request, but give up as soon as the client hangs up (or the app shuts down)."""

    async def until_disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await until_disconnected()


def _faults_view(sim: FleetSimState) -> JSONResponse:
    return JSONResponse({"faults": [rule.model_dump(mode="json") for rule in sim.faults.values()]})


def _stats_view(sim: FleetSimState) -> dict[str, Any]:
    endpoints = {key: asdict(s) for key, s in sorted(sim.stats.items())}
    totals = {
        metric: sum(getattr(s, metric) for s in sim.stats.values())
        for metric in ("calls", "generations", "duplicates", "faults")
    }
    return {
        "endpoints": endpoints,
        "totals": totals,
        "default_latency_ms": sim.default_latency_ms,
        "faults": [rule.model_dump(mode="json") for rule in sim.faults.values()],
    }
