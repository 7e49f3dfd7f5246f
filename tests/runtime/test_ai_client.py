"""The chat-completions client: body parsing, and every error kind over real loopback HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.ai import AIAction, AIRequest, ChatTurn
from models.routing import AIEndpoint
from runtime.ai_client import (
    AGENT_TOOLS,
    ESCALATE_TOOL,
    RESOLVE_TOOL,
    AIBadResponse,
    AIClient,
    AIConnectError,
    AICredentialRefused,
    AIRateLimited,
    AIRequestRejected,
    AIServerError,
    AITimeout,
    parse_completion,
)
from runtime.settings import Settings
from simulators.ai_fleet import FaultMode, FaultRule, FleetSimState, create_ai_fleet_app
from simulators.bot_replies import compose_reply
from simulators.server import serve_app

NAME, VERSION = "billing-bot", "3.2"
FALLBACK = f"{NAME}:{VERSION}"
TOOL_NAMES = {RESOLVE_TOOL, ESCALATE_TOOL}
HANG_SECONDS = 3.0
"""The simulator's ``timeout`` fault holds a request this long; the client gives up far sooner."""


# --- parse_completion ---------------------------------------------------------------------


def completion(
    content: Any = "Hello there.",
    tool_calls: list[Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "vendor-model-7",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    }
    return body | extra


def tool(name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "id": f"call_{name}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def test_plain_reply_is_parsed_with_usage_and_model() -> None:
    assert parse_completion(completion("  Your bill is ready.\n"), FALLBACK) == (
        "Your bill is ready.",
        AIAction.REPLY,
        None,
        30,
        12,
        "vendor-model-7",
    )


def test_missing_model_and_usage_fall_back() -> None:
    body = completion()
    del body["model"], body["usage"]
    assert parse_completion(body, FALLBACK)[3:] == (0, 0, FALLBACK)


def test_resolve_tool_call_carries_its_summary() -> None:
    body = completion("Glad I could help!", [tool(RESOLVE_TOOL, summary="reset sent")])
    text, action, assessment, *_ = parse_completion(body, FALLBACK)
    assert (text, action, assessment) == ("Glad I could help!", AIAction.RESOLVE, "reset sent")


def test_resolve_without_content_is_still_usable() -> None:
    body = completion(None, [tool(RESOLVE_TOOL, summary="done")])
    assert parse_completion(body, FALLBACK)[:3] == ("", AIAction.RESOLVE, "done")


def test_escalate_carries_the_assessment() -> None:
    call = tool(ESCALATE_TOOL, reason="legal threat", assessment="refund late; customer angry")
    _, action, assessment, *_ = parse_completion(completion("One moment.", [call]), FALLBACK)
    assert (action, assessment) == (AIAction.ESCALATE, "refund late; customer angry")


def test_escalate_without_assessment_falls_back_to_the_reason() -> None:
    body = completion("", [tool(ESCALATE_TOOL, reason="needs a human")])
    assert parse_completion(body, FALLBACK)[1:3] == (AIAction.ESCALATE, "needs a human")


@pytest.mark.parametrize("escalate_first", [True, False])
def test_escalate_wins_over_resolve_in_either_order(escalate_first: bool) -> None:
    calls = [tool(RESOLVE_TOOL, summary="done"), tool(ESCALATE_TOOL, reason="r", assessment="a")]
    if escalate_first:
        calls.reverse()
    _, action, assessment, *_ = parse_completion(completion("ok", calls), FALLBACK)
    assert (action, assessment) == (AIAction.ESCALATE, "a")


def test_unknown_tools_and_bad_arguments_are_ignored() -> None:
    calls = [
        tool("lookup_order", order="4412"),
        {"type": "function", "function": {"name": RESOLVE_TOOL, "arguments": "{not json"}},
        "not-a-call",
    ]
    _, action, assessment, *_ = parse_completion(completion("Sorted.", calls), FALLBACK)
    assert (action, assessment) == (AIAction.RESOLVE, None)


@pytest.mark.parametrize("content", ["", "   \n", None])
def test_empty_content_without_a_tool_call_is_a_bad_response(content: str | None) -> None:
    with pytest.raises(AIBadResponse, match="empty"):
        parse_completion(completion(content), FALLBACK)


def test_empty_content_with_an_unknown_tool_call_is_a_bad_response() -> None:
    with pytest.raises(AIBadResponse, match="empty"):
        parse_completion(completion("", [tool("lookup_order")]), FALLBACK)


@pytest.mark.parametrize(
    "choices", [None, [], ["text"], "nope"], ids=["missing", "empty", "not-dict", "not-list"]
)
def test_missing_choices_is_a_bad_response(choices: Any) -> None:
    body = completion()
    if choices is None:
        del body["choices"]
    else:
        body["choices"] = choices
    with pytest.raises(AIBadResponse, match="no choices"):
        parse_completion(body, FALLBACK)


def test_choice_without_message_is_a_bad_response() -> None:
    with pytest.raises(AIBadResponse, match="no message"):
        parse_completion({"choices": [{"index": 0}]}, FALLBACK)


def test_non_text_content_is_a_bad_response() -> None:
    with pytest.raises(AIBadResponse, match="not text"):
        parse_completion(completion([{"type": "text", "text": "hi"}]), FALLBACK)


@pytest.mark.parametrize("payload", [None, [], "chat.completion", 42])
def test_non_object_body_is_a_bad_response(payload: Any) -> None:
    with pytest.raises(AIBadResponse, match="not a JSON object"):
        parse_completion(payload, FALLBACK)


# --- AIClient over loopback -----------------------------------------------------------------


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[tuple[FleetSimState, str]]:
    """One fleet server for the module; each test starts from clean faults and stats."""
    state = FleetSimState(hang_seconds=HANG_SECONDS)
    async with serve_app(create_ai_fleet_app(state)) as url:
        yield state, url


@pytest.fixture
def fleet(served: tuple[FleetSimState, str]) -> FleetSimState:
    state, _ = served
    state.clear_faults()
    state.reset()
    state.default_latency_ms, state.require_auth = 0, False
    return state


@pytest.fixture
def fleet_url(served: tuple[FleetSimState, str]) -> str:
    return served[1]


@pytest.fixture
async def client() -> AsyncIterator[AIClient]:
    ai = AIClient(max_connections=4)
    yield ai
    await ai.aclose()


def endpoint(base: str, **overrides: Any) -> AIEndpoint:
    fields: dict[str, Any] = {
        "name": NAME,
        "version": VERSION,
        "url": f"{base}/agents/{NAME}/{VERSION}/v1",
        "timeout_seconds": 5.0,
        "cost_per_1k_tokens": 0.5,
    }
    return AIEndpoint(**(fields | overrides))


def request(ep: AIEndpoint, text: str = "my bill looks too high", key: str = "wf-1:1") -> AIRequest:
    return AIRequest(
        interaction_id="demo-1",
        turn=1,
        idempotency_key=key,
        endpoint=ep,
        intent="billing_inquiry",
        messages=[
            ChatTurn(role="system", content="Be brief."),
            ChatTurn(role="user", content=text),
        ],
    )


def closed_port() -> int:
    """A loopback port nobody listens on: bound once to pick it, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_reply_has_text_tokens_cost_and_model_version(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    reply = await client.complete(request(endpoint(fleet_url)))
    assert reply.action is AIAction.REPLY
    expected = compose_reply(["my bill looks too high"], TOOL_NAMES, "billing_inquiry")
    assert reply.text == expected.content.strip()
    assert reply.model_version == FALLBACK  # the simulator answers with model "name:version"
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    tokens = reply.prompt_tokens + reply.completion_tokens
    assert reply.cost_usd == pytest.approx(tokens / 1000 * 0.5)
    assert reply.latency_ms > 0
    assert fleet.endpoint_stats(NAME, VERSION).generations == 1


async def test_agent_tool_call_becomes_the_action(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    reply = await client.complete(request(endpoint(fleet_url), "I'm going to sue you"))
    (expected,) = compose_reply(["I'm going to sue you"], TOOL_NAMES, "billing_inquiry").tool_calls
    assert reply.action is AIAction.ESCALATE
    assert reply.assessment == expected.arguments["assessment"]


async def test_request_offers_both_tools_and_names_the_interaction(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    await client.complete(request(endpoint(fleet_url, model="agent-x")))
    sent = fleet.endpoint_stats(NAME, VERSION).last_request
    assert sent is not None
    assert sent["model"] == "agent-x"
    assert sent["tools"] == AGENT_TOOLS
    assert sent["user"] == "demo-1"
    assert sent["metadata"] == {"intent": "billing_inquiry", "turn": "1"}
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


async def test_the_endpoints_own_system_prompt_follows_warmlines(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    await client.complete(request(endpoint(fleet_url, system_prompt="Only discuss billing.")))
    sent = fleet.endpoint_stats(NAME, VERSION).last_request
    assert sent is not None
    assert [(m["role"], m["content"]) for m in sent["messages"][:2]] == [
        ("system", "Be brief."),
        ("system", "Only discuss billing."),
    ]


async def test_idempotency_key_is_sent_and_a_retry_is_not_regenerated(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    ep = endpoint(fleet_url)
    first = await client.complete(request(ep, key="wf-9:3"))
    again = await client.complete(request(ep, key="wf-9:3"))
    stats = fleet.endpoint_stats(NAME, VERSION)
    assert stats.last_idempotency_key == "wf-9:3"
    assert (stats.calls, stats.generations, stats.duplicates) == (2, 1, 1)
    assert again.text == first.text
    await client.complete(request(ep, key="wf-9:4"))
    assert (stats.generations, stats.duplicates) == (2, 1)


async def test_server_error(client: AIClient, fleet: FleetSimState, fleet_url: str) -> None:
    fleet.set_fault(FaultRule(mode=FaultMode.ERROR_500))
    with pytest.raises(AIServerError, match="HTTP 500") as info:
        await client.complete(request(endpoint(fleet_url)))
    assert info.value.kind == "server_error"


async def test_down_endpoint_is_a_server_error(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    fleet.set_fault(FaultRule(name=NAME, mode=FaultMode.DOWN))
    with pytest.raises(AIServerError, match="HTTP 503"):
        await client.complete(request(endpoint(fleet_url)))


async def test_rate_limit_carries_retry_after(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    fleet.set_fault(FaultRule(mode=FaultMode.RATE_LIMIT, retry_after=7))
    with pytest.raises(AIRateLimited) as info:
        await client.complete(request(endpoint(fleet_url)))
    assert info.value.retry_after == 7.0
    assert info.value.kind == "rate_limited"


@pytest.mark.parametrize("mode", [FaultMode.GARBAGE_200, FaultMode.EMPTY_200])
async def test_unusable_200_is_a_bad_response(
    client: AIClient, fleet: FleetSimState, fleet_url: str, mode: FaultMode
) -> None:
    fleet.set_fault(FaultRule(mode=mode))
    with pytest.raises(AIBadResponse) as info:
        await client.complete(request(endpoint(fleet_url)))
    assert info.value.kind == "bad_response"
    assert fleet.endpoint_stats(NAME, VERSION).faults_by_mode == {mode.value: 1}


async def test_hanging_endpoint_times_out_at_its_own_timeout(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    fleet.set_fault(FaultRule(mode=FaultMode.TIMEOUT))
    with pytest.raises(AITimeout, match=f"{NAME}:{VERSION} timed out") as info:
        await client.complete(request(endpoint(fleet_url, timeout_seconds=0.3)))
    assert info.value.kind == "timeout"
    # The reply was generated and lost in transit: the case the idempotency key is for.
    assert fleet.endpoint_stats(NAME, VERSION).generations == 1


async def test_closed_port_is_a_connect_error(client: AIClient) -> None:
    ep = endpoint(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(AIConnectError, match="unreachable") as info:
        await client.complete(request(ep))
    assert info.value.kind == "connect_error"


async def test_other_4xx_is_rejected_not_retried(
    client: AIClient, fleet: FleetSimState, fleet_url: str
) -> None:
    ep = endpoint(fleet_url, url=f"{fleet_url}/agents/{NAME}/{VERSION}/v2")
    with pytest.raises(AIRequestRejected, match="HTTP 404") as info:
        await client.complete(request(ep))
    assert info.value.kind == "rejected"


async def test_bearer_key_from_the_named_env_var_reaches_the_fleet(
    client: AIClient, fleet: FleetSimState, fleet_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.require_auth = True
    ep = endpoint(fleet_url, api_key_env="WARMLINE_AI_KEY_TEST_BILLING")
    monkeypatch.delenv("WARMLINE_AI_KEY_TEST_BILLING", raising=False)
    with pytest.raises(AIRequestRejected, match="HTTP 401"):
        await client.complete(request(ep))
    monkeypatch.setenv("WARMLINE_AI_KEY_TEST_BILLING", "sk-test-123")
    reply = await client.complete(request(ep))
    assert reply.text


async def test_authorization_header_is_exactly_the_bearer_key(
    client: AIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []

    async def capture(req: Request) -> Response:
        seen.append(dict(req.headers))
        return JSONResponse(completion("captured"))

    app = Starlette(routes=[Route("/v1/chat/completions", capture, methods=["POST"])])
    monkeypatch.setenv("WARMLINE_AI_KEY_TEST_CARE", "sk-care-9")
    async with serve_app(app) as base:
        ep = endpoint(base, url=f"{base}/v1/", api_key_env="WARMLINE_AI_KEY_TEST_CARE")
        reply = await client.complete(request(ep, key="wf-2:5"))
        without_key = endpoint(base, url=f"{base}/v1")
        await client.complete(request(without_key))
    assert reply.text == "captured" and reply.model_version == "vendor-model-7"
    assert seen[0]["authorization"] == "Bearer sk-care-9"
    assert seen[0]["idempotency-key"] == "wf-2:5"
    assert "authorization" not in seen[1]


async def test_cookies_an_endpoint_sets_are_sent_back_until_replaced(client: AIClient) -> None:
    """The client's cookie jar (e.g. a load balancer's affinity cookie) works as httpx's own:
    responses without ``Set-Cookie`` leave it alone, one with it updates it."""
    seen: list[str | None] = []
    set_cookies = iter(["lb=node-3; Path=/", None, "lb=node-5; Path=/", None])

    async def capture(req: Request) -> Response:
        seen.append(req.headers.get("cookie"))
        response = JSONResponse(completion("captured"))
        cookie = next(set_cookies)
        if cookie is not None:
            response.headers["set-cookie"] = cookie
        return response

    app = Starlette(routes=[Route("/v1/chat/completions", capture, methods=["POST"])])
    async with serve_app(app) as base:
        for _ in range(4):
            await client.complete(request(endpoint(base, url=f"{base}/v1")))
    assert seen == [None, "lb=node-3", "lb=node-3", "lb=node-5"]


# --- credentials: only the allow-listed WARMLINE_AI_KEY_* variables ------------------------

OTHER_SECRETS = [
    "WARMLINE_PAYLOAD_KEYS",
    "WARMLINE_DATABASE_URL",
    "WARMLINE_TEMPORAL_API_KEY",
    "WARMLINE_AUDIT_KEYS",
    "AWS_SECRET_ACCESS_KEY",
    "WARMLINE_AI_KEY_",
    "warmline_ai_key_care",
    "WARMLINE_AI_KEY_CARE\nPATH",
]


@pytest.mark.parametrize("name", OTHER_SECRETS)
def test_a_config_cannot_name_another_secret_as_an_ai_key(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        endpoint("http://127.0.0.1:1", api_key_env=name)
    assert "api_key_env" in str(refused.value) and "WARMLINE_AI_KEY_" in str(refused.value)


@pytest.mark.parametrize("name", OTHER_SECRETS)
async def test_a_call_never_sends_another_secret(
    client: AIClient, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that skipped validation (built with ``model_construct``, as forged state
    would be) is refused at call time, before any request leaves the process."""
    seen: list[dict[str, str]] = []

    async def capture(req: Request) -> Response:
        seen.append(dict(req.headers))
        return JSONResponse(completion("captured"))

    app = Starlette(routes=[Route("/v1/chat/completions", capture, methods=["POST"])])
    if name.isidentifier():
        monkeypatch.setenv(name, "the-other-secret")
    async with serve_app(app) as base:
        valid = endpoint(base, url=f"{base}/v1")
        forged = AIEndpoint.model_construct(**(valid.model_dump() | {"api_key_env": name}))
        with pytest.raises(AICredentialRefused, match="WARMLINE_AI_KEY_") as refused:
            await client.complete(request(forged))
    assert seen == [], "nothing was sent"
    assert isinstance(refused.value, AIRequestRejected), "non-retryable, like any rejected call"
    assert "the-other-secret" not in str(refused.value)


def test_no_warmline_setting_lives_under_the_ai_key_prefix() -> None:
    """A ``WARMLINE_AI_KEY_*`` name can never be one of Warmline's own settings."""
    assert not [f for f in Settings.model_fields if f.upper().startswith("AI_KEY_")]
