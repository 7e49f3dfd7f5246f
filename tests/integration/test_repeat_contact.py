"""Repeat contact, end to end on the real dev server: the record activity keys the facts with
the pseudonymous customer key (never the raw id), and calibration counts a customer who came
back within the window against "resolved" for the band of the interaction they came back
about.

The calibration run uses its own store, queue and segments, so facts other tests leave behind
never fall in its cells.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import text
from temporalio.client import Client, WorkflowHandle

from cli import routing as routing_cli
from models.calibration import CALIBRATION_WORKFLOW, CalibrationRunResult
from models.facts import InteractionFacts, RecordInteraction
from models.interaction import Route
from runtime.settings import Settings
from store.learning import LearningStore
from tests.audit_keys import TEST_CUSTOMER_KEY_SECRET, open_test_store
from tests.integration.conftest import Stack
from tests.store.builders import make_facts
from warmline.customers import customer_key
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION, default_routing_config
from workers.learning import learning_worker

pytestmark = pytest.mark.integration

SECRET = TEST_CUSTOMER_KEY_SECRET.encode()
INTENT = "order_status"
TIMEOUT_SECONDS = 60.0


async def closed_interaction(stack: Stack, customer_id: str, tenant: str | None) -> str:
    """One short real interaction of ``customer_id`` (of ``tenant``), closed; its id."""
    metadata: dict[str, Any] = {"entry_point": "ivr"}
    if tenant is not None:
        metadata["tenant"] = tenant
    iid = f"repeat-{uuid.uuid4().hex[:10]}"
    handle: WorkflowHandle[Any, Any] = await stack.start(
        "Where is my order?",
        interaction_id=iid,
        customer={"id": customer_id, "segment": "standard"},
        metadata=metadata,
        upstream_intent={"intent": INTENT, "confidence": 0.95},
    )
    await handle.execute_update("await_reply", {"turn": 1})
    await handle.signal("end_interaction", {"reason": "customer hung up"})
    await asyncio.wait_for(handle.result(), TIMEOUT_SECONDS)
    return iid


async def test_the_facts_key_customers_pseudonymously_and_never_hold_the_raw_id(
    stack: Stack,
) -> None:
    customer = f"crm-{uuid.uuid4().hex[:12]}"
    first = await closed_interaction(stack, customer, "acme")
    again = await closed_interaction(stack, customer, "acme")
    other_tenant = await closed_interaction(stack, customer, "globex")
    no_tenant = await closed_interaction(stack, customer, None)

    def facts(iid: str) -> InteractionFacts:
        found = stack.store.get_facts(iid)
        assert found is not None, iid
        return found

    keys = {iid: facts(iid).customer_key for iid in (first, again, other_tenant, no_tenant)}
    assert keys[first] == keys[again] == customer_key(SECRET, "acme", customer)
    assert keys[other_tenant] == customer_key(SECRET, "globex", customer) != keys[first]
    assert keys[no_tenant] == customer_key(SECRET, "default", customer)
    assert all(key is not None and key.startswith("ck1:") for key in keys.values())

    def every_value() -> list[str]:
        with stack.store.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM interaction_facts")).all()
        return [str(value) for row in rows for value in row]

    values = await asyncio.to_thread(every_value)
    assert keys[first] in values  # the scan reads the column it must
    assert not [value for value in values if customer in value]


def evidence(segment: str, count: int, came_back: int, at: datetime) -> list[RecordInteraction]:
    """``count`` AI-monitored interactions at 0.86-0.89 the AI contained with CSAT 5, each of
    its own customer, started at ``at``; the first ``came_back`` of those customers started
    another interaction (routed to a human) a day later."""
    records = []
    for i in range(count):
        key = customer_key(SECRET, "default", f"{segment}-customer-{i}")
        starts = [(f"{segment}-{i}", at, Route.AI_MONITORED.value, 0.86 + (i % 4) / 100)]
        if i < came_back:
            starts.append((f"{segment}-{i}-back", at + timedelta(days=1), Route.HUMAN.value, 0.5))
        for iid, started, route, confidence in starts:
            ai = route != Route.HUMAN.value
            facts = make_facts(
                iid,
                segment=segment,
                intent=INTENT,
                confidence=confidence,
                pattern="post_classification",
                route=route,
                pool="ai_assisted" if ai else "human",
                outcome="contained" if ai else "human_only",
                model_version=CARE_BOT_VERSION if ai else None,
                classifier_version="upstream",
                ai_endpoint=f"{CARE_BOT}:{CARE_BOT_VERSION}" if ai else None,
                started_at=started.isoformat(),
                ended_at=started.isoformat(),
                turns=2,
                csat=5 if ai else None,
                customer_key=key,
            )
            records.append(RecordInteraction(facts=facts))
    return records


async def test_customers_who_came_back_lower_the_resolved_count_of_their_band(
    temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    try:
        store.save_routing_config(default_routing_config("http://127.0.0.1:9"), "ops")
        four_days_ago = datetime.now(UTC) - timedelta(days=4)  # the 72 h windows have passed
        store.record_interactions(evidence("resolved", 40, 0, four_days_ago))
        store.record_interactions(evidence("returning", 40, 12, four_days_ago))
        queue = "learning-repeat"
        async with learning_worker(temporal_client, store, Settings(), task_queue=queue):
            outcome = await temporal_client.execute_workflow(
                CALIBRATION_WORKFLOW,
                {},
                id=f"calibration-repeat-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
                result_type=CalibrationRunResult,
            )
        assert outcome.proposal_id is not None
        proposal = LearningStore(store).proposal(outcome.proposal_id)
        assert proposal is not None
        cells = {cell.segment: cell for cell in proposal.result.cells}
        (resolved,) = cells["resolved"].bands
        (returning,) = cells["returning"].bands
        assert (resolved.interactions, resolved.contained) == (40, 40)
        assert (returning.interactions, returning.contained) == (40, 40)
        assert (resolved.repeat_contacts, resolved.resolved) == (0, 40)
        assert (returning.repeat_contacts, returning.resolved) == (12, 28)
        terminal = Console(width=80, record=True)  # a plain terminal
        monkeypatch.setattr(routing_cli, "console", terminal)
        routing_cli.print_proposal(proposal)
        shown = terminal.export_text()
        rows = [
            [cell.strip() for cell in line.split("│")[1:-1]]
            for line in shown.splitlines()
            if "0.85-0.90" in line
        ]
        assert "back" in shown  # the operator sees why
        assert sorted(row[5:7] for row in rows) == [["0", "100%"], ["12", "70%"]]
        (capability,) = proposal.result.capabilities
        assert (capability.interactions, capability.resolved) == (80, 68)  # scores see it too
        # 40 of 40 resolved earns ai_min 0.85; 28 of 40 (0.7) fails 0.8 and takes the AI off
        # that cell unmonitored.
        assert any(
            c.startswith(f"{INTENT}/chat/resolved: ai_min 0.92 -> 0.85") for c in outcome.changes
        ), outcome.changes
        assert any(
            c.startswith(f"{INTENT}/chat/returning: ai_min 0.92 -> 1") for c in outcome.changes
        ), outcome.changes
    finally:
        store.close()
