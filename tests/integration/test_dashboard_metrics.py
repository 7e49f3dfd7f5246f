"""Demo-like traffic on the real stack, then every metric a dashboard queries has samples.

Contained, escalated (warm transfer accepted by the ACD), human-only and parallel-pattern
interactions run through the real workers; the health sync, the ACD client and the WFM worker's
census record the rest. A metric that no code path records would leave a dashboard panel empty
("No data"): this test fails for it.
"""

from __future__ import annotations

import re
import uuid

import pytest
from prometheus_client import REGISTRY

from models.abuse import LimitRule, LimitScope, LimitStage
from models.interaction import Outcome
from models.routing import RoutingConfig, ThresholdRule
from tests.dashboards.test_definitions import ALL_QUERIES, METRIC_RE
from tests.integration.conftest import UNSUPERVISED, Stack
from tests.polling import eventually

pytestmark = pytest.mark.integration


def force_ai(config: RoutingConfig) -> RoutingConfig:
    """Every interaction to the AI; a customer may open two interactions in ten minutes."""
    customer_starts = LimitRule(
        scope=LimitScope.CUSTOMER, stage=LimitStage.START, limit=2, window_seconds=600
    )
    return config.model_copy(
        update={
            "intent_map": {},
            "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
            "abuse": config.abuse.model_copy(update={"rules": [customer_starts]}),
        }
    )


def family(series: str) -> str:
    return re.sub(r"_(total|bucket|sum|count)$", "", series)


def dashboard_families() -> set[str]:
    return {family(name) for _, expr, _ in ALL_QUERIES for name, _ in METRIC_RE.findall(expr)}


def sampled_families() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        if metric.samples:
            names.add(f"{metric.name}")
    return names


async def reply(handle: object, turn: int = 1) -> None:
    await handle.execute_update("await_reply", {"turn": turn})  # type: ignore[attr-defined]


async def send(handle: object, text: str) -> None:
    await handle.execute_update("send_message", {"text": text})  # type: ignore[attr-defined]


async def test_every_dashboard_metric_has_samples_after_demo_traffic(stack: Stack) -> None:
    await stack.use_config(force_ai)
    await stack.use_supervision(UNSUPERVISED)  # no draft waits for a supervisor
    await stack.acd.resume()  # human agents take transfers as they come
    contained = await stack.start("I forgot my password and cannot log in")
    await reply(contained)
    await send(contained, "Thanks, that solved it")
    parallel = await stack.start(
        "How do I reset my password?", metadata={"entry_point": "web_chat"}
    )
    await reply(parallel)
    await send(parallel, "thanks, bye")
    escalated = await stack.start("My refund never arrived")
    await reply(escalated)
    await send(escalated, "This is a matter for my lawyer now, I will take legal action")
    rated = await stack.start("Where is my order?")
    await reply(rated)
    await rated.signal("request_human", {"reason": "customer pressed 0"})
    await rated.signal("human_accepted", {"agent_id": "agent-7"})
    await rated.signal("human_resolved", {"agent_id": "agent-7", "csat": 4})
    # An AI reply promising a $5,000 refund: held by the reply check, rejected, handed over.
    promised = await stack.start("Where is my order? [overpromise]")

    async def held() -> dict[str, object] | None:
        view: dict[str, object | None] = await promised.query("status")
        return view["pending_draft"]  # type: ignore[return-value]

    draft = await eventually(held, "the over-promising reply held for review")
    assert draft is not None
    await promised.signal(
        "review_response",
        {"draft_id": draft["draft_id"], "decision": "reject", "reviewer_id": "sup-1"},
    )
    # A script opening interactions as one customer: the third is throttled at the start.
    flooder = {"id": f"flood-{uuid.uuid4().hex[:8]}"}
    flood = [await stack.open("Where is my order?", customer=flooder) for _ in range(3)]
    assert [reply.kind for _, reply in flood][2] == "throttled"
    for handle, _ in flood[:2]:
        await handle.signal("end_interaction", {})
    for handle in (contained, parallel, escalated, rated, promised, *(h for h, _ in flood)):
        await handle.result()
    assert (await flood[2][0].result()).outcome is Outcome.THROTTLED

    wanted = dashboard_families()
    assert "warmline_escalations" in wanted and "warmline_interactions_active" in wanted

    def missing() -> set[str]:
        return {name for name in wanted if name not in sampled_families()}

    await eventually(lambda: not missing(), f"samples for {sorted(missing())}", timeout=60)
    escalations = [
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "warmline_escalations"
        for sample in metric.samples
        if sample.name == "warmline_escalations_total"
    ]
    assert sum(escalations) >= 2, "the warm transfers were counted"
    assert REGISTRY.get_sample_value(
        "warmline_ai_session_capacity", {"agent": "care-bot", "version": "2026.10"}
    )
