"""Abuse limits on the real stack: a flood from one source is throttled while others are served.

The limits come from the active routing config (versioned with it); the counters live in the
store, so every worker counts the same flood. What exceeds a limit ends at once with a defined
outcome and the reason as its reply: it never reaches an AI or a human queue.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from models.abuse import AbusePolicy, LimitAnswer, LimitRule, LimitScope, LimitStage
from models.interaction import Outcome, Sender
from models.routing import RoutingConfig, ThresholdRule
from tests.integration.conftest import UNSUPERVISED, Stack

pytestmark = pytest.mark.integration

FLOOD = 4


def tight_limits(config: RoutingConfig) -> RoutingConfig:
    """Every interaction to the AI; one start per source and three turns per customer a minute."""
    abuse = AbusePolicy(
        rules=[
            LimitRule(scope=LimitScope.TENANT, stage=LimitStage.START, limit=1, window_seconds=600),
            LimitRule(scope=LimitScope.CUSTOMER, stage=LimitStage.TURN, limit=3, window_seconds=60),
        ],
        repeats=None,
    )
    return config.model_copy(
        update={
            "intent_map": {},
            "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
            "abuse": abuse,
        }
    )


def hits(answer: str) -> float:
    value = REGISTRY.get_sample_value(
        "warmline_abuse_limit_hits_total",
        {"rule": "tenant:start", "stage": "start", "answer": answer},
    )
    return value or 0.0


async def test_a_flood_from_one_source_is_throttled_while_others_are_served(stack: Stack) -> None:
    saved = await stack.use_config(tight_limits)
    await stack.use_supervision(UNSUPERVISED)
    run = uuid.uuid4().hex[:8]
    before = hits("throttled")
    transfers_before = set(stack.acd.transfers)

    async def start(tenant: str, n: int) -> tuple[object, object]:
        return await stack.open(
            "Where is my order? It was due on Monday",
            customer={"id": f"{tenant}-c{n}"},
            metadata={"tenant": tenant},
        )

    first_handle, first_reply = await start(f"bot-farm-{run}", 0)
    flood = await asyncio.gather(*(start(f"bot-farm-{run}", n) for n in range(1, FLOOD + 1)))
    others = await asyncio.gather(*(start(f"shop-{n}-{run}", n) for n in range(2)))

    assert first_reply.sender is Sender.AI  # type: ignore[attr-defined]
    for handle, reply in flood:
        assert reply.kind == LimitAnswer.THROTTLED.value, reply  # type: ignore[attr-defined]
        assert "try again" in reply.text  # type: ignore[attr-defined]
        result = await handle.result()  # type: ignore[attr-defined]
        assert result.outcome is Outcome.THROTTLED and result.pool.value == "human_only"
        assert result.close_reason.startswith("abuse limit: tenant:start")
        assert result.turns == 1 and result.model_version is None  # no AI ever saw it
    for _, reply in others:
        assert reply.sender is Sender.AI  # type: ignore[attr-defined]
    assert set(stack.acd.transfers) == transfers_before, "nothing reached a human queue"
    assert hits("throttled") - before == FLOOD

    fleet_audit = await asyncio.to_thread(stack.store.audit_trail, "abuse-limits")
    flooded = [e for e in fleet_audit if e.payload.get("tenant") == f"bot-farm-{run}"]
    assert len(flooded) == FLOOD
    assert all(e.payload["policy_version"] == saved.version for e in flooded)

    # Per turn: the fourth message within a minute is answered with the throttle notice and
    # passed to no one; the conversation goes on.
    replies = []
    for n in range(4):
        replies.append(
            await first_handle.execute_update(  # type: ignore[attr-defined]
                "send_message", {"text": f"and what about parcel {n}?"}
            )
        )
    assert [r["sender"] for r in replies[:3]] == ["ai", "ai", "ai"]
    assert replies[3]["kind"] == "throttled" and replies[3]["sender"] == "system"
    await first_handle.signal("end_interaction", {})  # type: ignore[attr-defined]
    result = await first_handle.result()  # type: ignore[attr-defined]
    assert result.outcome is Outcome.CONTAINED
