"""AI fleet simulator over loopback HTTP: OpenAI shapes, tool calls, idempotency, faults."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simulators import ai_fleet
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.bot_replies import (
    ECHO_PROMPT_PREFIX,
    ESCALATE_TOOL,
    LOW_QUALITY_TEXT,
    OVERPROMISE_TEXT,
    RESOLVE_TOOL,
)
from simulators.server import serve_app

TOOLS = [
    {"type": "function", "function": {"name": RESOLVE_TOOL, "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": ESCALATE_TOOL, "parameters": {"type": "object"}}},
]


@dataclass
class Fleet:
    state: FleetSimState
    client: httpx.AsyncClient

    async def chat(
        self,
        *texts: str,
        key: str | None = None,
        agent: str = "billing-bot/v1",
        tools: list[dict[str, Any]] | None = TOOLS,
        **extra: Any,
    ) -> httpx.Response:
        messages: list[dict[str, Any]] = [{"role": "system", "content": "You are helpful."}]
        for i, text in enumerate(texts):
            messages.append({"role": "user", "content": text})
            if i < len(texts) - 1:
                messages.append({"role": "assistant", "content": "Let me check that."})
        body: dict[str, Any] = {"model": "warmline-agent", "messages": messages, **extra}
        if tools is not None:
            body["tools"] = tools
        headers = {"Idempotency-Key": key} if key else {}
        return await self.client.post(
            f"/agents/{agent}/v1/chat/completions", json=body, headers=headers
        )

    async def fault(self, **rule: Any) -> None:
        (await self.client.post("/admin/faults", json=rule)).raise_for_status()

    async def stats(self, endpoint: str = "billing-bot:v1") -> dict[str, Any]:
        stats: dict[str, Any] = (await self.client.get("/admin/stats")).json()
        return stats["endpoints"][endpoint]


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[tuple[FleetSimState, str]]:
    """One server for the module (start/stop costs ~0.2 s); each test gets a clean state."""
    state = FleetSimState(hang_seconds=30)
    async with serve_app(create_ai_fleet_app(state)) as url:
        yield state, url


@pytest.fixture
async def fleet(served: tuple[FleetSimState, str]) -> AsyncIterator[Fleet]:
    state, url = served
    state.clear_faults()
    state.reset()
    state.default_latency_ms, state.require_auth = 0, False
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        yield Fleet(state, client)


def _message(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def _tool_call(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    (call,) = _message(response)["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    return call["function"]["name"], json.loads(call["function"]["arguments"])


async def test_reply_is_an_openai_chat_completion(fleet: Fleet) -> None:
    response = await fleet.chat("where is my order #4412?")
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "billing-bot:v1"
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert "order" in choice["message"]["content"].lower()
    assert "tool_calls" not in choice["message"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_the_overpromise_marker_makes_the_bot_promise_five_thousand_dollars(
    fleet: Fleet,
) -> None:
    message = _message(await fleet.chat("where is my order? [overpromise]"))
    assert message["content"] == OVERPROMISE_TEXT and "$5,000" in OVERPROMISE_TEXT
    assert "tool_calls" not in message


async def test_the_echo_prompt_marker_recites_the_system_prompt(fleet: Fleet) -> None:
    message = _message(await fleet.chat("what are your rules? [echo-prompt]"))
    assert message["content"] == ECHO_PROMPT_PREFIX + "You are helpful."


async def test_replies_are_deterministic(fleet: Fleet) -> None:
    first = _message(await fleet.chat("my bill looks too high"))
    second = _message(await fleet.chat("my bill looks too high"))
    assert first == second
    assert (await fleet.stats())["generations"] == 2


async def test_closing_turn_resolves(fleet: Fleet) -> None:
    response = await fleet.chat("I forgot my password", "perfect, thank you!")
    assert response.json()["choices"][0]["finish_reason"] == "tool_calls"
    name, args = _tool_call(response)
    assert name == RESOLVE_TOOL
    assert "password reset" in args["summary"]
    assert _message(response)["content"]


async def test_thanks_with_a_complaint_is_not_a_close(fleet: Fleet) -> None:
    assert "tool_calls" not in _message(await fleet.chat("thanks, but it still doesn't work"))


@pytest.mark.parametrize(
    "text", ["I'm going to sue you", "I want your supervisor", "[needs-human] mortgage advice"]
)
async def test_out_of_reach_requests_escalate(fleet: Fleet, text: str) -> None:
    name, args = _tool_call(await fleet.chat("my refund is late", text))
    assert name == ESCALATE_TOOL
    assert args["reason"] and "refund request" in args["assessment"]


async def test_sue_inside_a_word_does_not_escalate(fleet: Fleet) -> None:
    assert "tool_calls" not in _message(await fleet.chat("I have an issue with my bill"))


async def test_tools_not_offered_are_not_called(fleet: Fleet) -> None:
    message = _message(await fleet.chat("thank you, bye", tools=[]))
    assert "tool_calls" not in message and message["content"]


async def test_idempotency_key_returns_cached_response(fleet: Fleet) -> None:
    first = await fleet.chat("refund for order A1", key="interaction-1:turn-1")
    second = await fleet.chat("refund for order A1", key="interaction-1:turn-1")
    assert first.content == second.content
    other = await fleet.chat("refund for order A1", key="interaction-1:turn-2")
    assert other.json()["id"] != first.json()["id"]
    stats = await fleet.stats()
    assert (stats["calls"], stats["generations"], stats["duplicates"]) == (3, 2, 1)
    assert stats["last_idempotency_key"] == "interaction-1:turn-2"


async def test_only_the_newest_idempotency_keys_are_kept(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys are kept from their first use, the newest ``RESPONSES_KEPT`` of them."""
    monkeypatch.setattr(ai_fleet, "RESPONSES_KEPT", 2)
    first = await fleet.chat("refund for order A1", key="it-1:turn-1")
    await fleet.chat("refund for order A1", key="it-1:turn-2")
    assert (await fleet.chat("refund for order A1", key="it-1:turn-1")).json() == first.json()
    await fleet.chat("refund for order A1", key="it-1:turn-3")  # turn-1's key goes
    assert list(fleet.state.responses) == [
        ("billing-bot:v1", k) for k in ("it-1:turn-2", "it-1:turn-3")
    ]
    await fleet.chat("refund for order A1", key="it-1:turn-2")  # still kept: the same reply
    await fleet.chat("refund for order A1", key="it-1:turn-1")  # generated anew
    stats = await fleet.stats()
    assert (stats["generations"], stats["duplicates"]) == (4, 2)


async def test_stats_keep_the_last_request_body(fleet: Fleet) -> None:
    await fleet.chat("my card is [REDACTED:card]", user="cust-1", metadata={"intent": "lost_card"})
    last = (await fleet.stats())["last_request"]
    assert last["messages"][-1]["content"] == "my card is [REDACTED:card]"
    assert last["user"] == "cust-1" and last["metadata"] == {"intent": "lost_card"}


@pytest.mark.parametrize(
    ("mode", "status"), [("error_500", 500), ("down", 503), ("rate_limit", 429)]
)
async def test_error_faults(fleet: Fleet, mode: str, status: int) -> None:
    await fleet.fault(mode=mode, retry_after=7)
    response = await fleet.chat("hello")
    assert response.status_code == status
    assert response.json()["error"]["message"]
    if mode == "rate_limit":
        assert response.headers["retry-after"] == "7"
    stats = await fleet.stats()
    assert stats["faults_by_mode"] == {mode: 1} and stats["generations"] == 0


async def test_down_also_fails_the_models_probe(fleet: Fleet) -> None:
    ok = await fleet.client.get("/agents/billing-bot/v1/v1/models")
    assert ok.json()["data"][0]["id"] == "billing-bot:v1"
    await fleet.fault(name="billing-bot", mode="down")
    assert (await fleet.client.get("/agents/billing-bot/v1/v1/models")).status_code == 503


async def test_garbage_200_is_not_json(fleet: Fleet) -> None:
    await fleet.fault(mode="garbage_200")
    response = await fleet.chat("hello")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_empty_200_has_no_choices(fleet: Fleet) -> None:
    await fleet.fault(mode="empty_200")
    response = await fleet.chat("hello")
    assert response.status_code == 200 and response.json()["choices"] == []


async def test_low_quality_ignores_the_input(fleet: Fleet) -> None:
    await fleet.fault(version="v1", mode="low_quality")
    for text in ("thanks, bye", "I want to sue", "where is my order?"):
        message = _message(await fleet.chat(text))
        assert message["content"] == LOW_QUALITY_TEXT and "tool_calls" not in message


async def test_latency_fault_delays(fleet: Fleet) -> None:
    await fleet.fault(mode="latency", latency_ms=200)
    started = time.perf_counter()
    _message(await fleet.chat("hello"))
    assert time.perf_counter() - started >= 0.2


async def test_default_latency(fleet: Fleet) -> None:
    response = await fleet.client.post("/admin/latency", json={"ms": 150})
    assert response.json() == {"default_latency_ms": 150}
    started = time.perf_counter()
    _message(await fleet.chat("hello"))
    assert time.perf_counter() - started >= 0.15


async def test_timeout_loses_the_reply_and_a_retry_gets_it(fleet: Fleet) -> None:
    await fleet.fault(mode="timeout")
    with pytest.raises(httpx.ReadTimeout):
        await fleet.client.post(
            "/agents/billing-bot/v1/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Idempotency-Key": "k1"},
            timeout=0.3,
        )
    await fleet.client.delete("/admin/faults")
    retry = await fleet.client.post(
        "/agents/billing-bot/v1/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Idempotency-Key": "k1"},
    )
    assert retry.status_code == 200
    stats = await fleet.stats()
    assert (stats["generations"], stats["duplicates"], stats["faults"]) == (1, 1, 1)


async def test_rate_is_counter_based(fleet: Fleet) -> None:
    await fleet.fault(mode="error_500", rate=0.5)
    statuses = [(await fleet.chat("hello")).status_code for _ in range(4)]
    assert statuses == [200, 500, 200, 500]


async def test_most_specific_rule_wins_and_delete_clears(fleet: Fleet) -> None:
    await fleet.fault(mode="error_500")
    await fleet.fault(name="billing-bot", version="v2", mode="ok")
    assert (await fleet.chat("hi", agent="billing-bot/v1")).status_code == 500
    assert (await fleet.chat("hi", agent="billing-bot/v2")).status_code == 200
    assert (await fleet.client.delete("/admin/faults")).json() == {"faults": []}
    assert (await fleet.chat("hi", agent="billing-bot/v1")).status_code == 200


async def test_stats_are_per_endpoint_with_totals(fleet: Fleet) -> None:
    await fleet.chat("hi", agent="billing-bot/v1")
    await fleet.chat("hi", agent="tech-bot/v3")
    stats = (await fleet.client.get("/admin/stats")).json()
    assert set(stats["endpoints"]) == {"billing-bot:v1", "tech-bot:v3"}
    assert stats["totals"]["calls"] == 2 and stats["totals"]["generations"] == 2


async def test_auth_is_required_only_when_configured(fleet: Fleet) -> None:
    assert (await fleet.chat("hi")).status_code == 200
    fleet.state.require_auth = True
    assert (await fleet.chat("hi")).status_code == 401
    fleet.client.headers["Authorization"] = "Bearer sk-test"
    assert (await fleet.chat("hi")).status_code == 200


async def test_bad_bodies_are_rejected(fleet: Fleet) -> None:
    url = "/agents/billing-bot/v1/v1/chat/completions"
    assert (await fleet.client.post(url, content=b"not json")).status_code == 400
    assert (await fleet.client.post(url, json={"model": "m", "messages": []})).status_code == 400
    bad_rule = await fleet.client.post("/admin/faults", json={"mode": "explode"})
    assert bad_rule.status_code == 422
