"""A name, a street address and a dotted card number given in a conversation that continues as
new and then closes never reach the store in clear (issue 12 item 6, issue 14 item 1): the run
archives, the closing archive, the audit trail and every other row hold tokens instead (real
dev server, workers with the bundled tagger, AI fleet simulator, SQLite store read directly).
"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from models.interaction import Reply, StatusView
from models.routing import RoutingConfig, ThresholdRule
from tests.integration.conftest import Stack
from tests.polling import eventually

pytestmark = pytest.mark.integration

NAME = "Henrietta Valdivieso"
STREET = "742 Evergreen Terrace"
CARD = "4539.1488.0343.6467"
TURNS = 14
CLEAR = ("Henrietta", "Valdivieso", "Evergreen", "4539148803436467", CARD)


def chatty(config: RoutingConfig) -> RoutingConfig:
    """Every intent to the AI, and a new run every two turns."""
    return config.model_copy(
        update={
            "intent_map": {},
            "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
            "max_turns_per_run": 2,
        }
    )


async def send(handle: object, text: str) -> Reply:
    return await handle.execute_update(  # type: ignore[attr-defined]
        "send_message", {"text": text}, result_type=Reply
    )


def sqlite_rows(stack: Stack) -> list[str]:
    """Every row of every table of the store's SQLite file, read with sqlite3 itself."""
    path = stack.store.engine.url.database
    assert path, "the integration stack stores in a SQLite file"
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return [
            json.dumps([str(v) for v in row], ensure_ascii=False)
            for table in tables
            for row in connection.execute(f'SELECT * FROM "{table}"')
        ]
    finally:
        connection.close()


def clear_in(texts: list[str]) -> list[str]:
    digits = [re.sub(r"\D", "", t) for t in texts]
    return [
        value
        for value in CLEAR
        if any(value in t for t in texts) or (value.isdigit() and any(value in d for d in digits))
    ]


async def test_names_addresses_and_cards_are_tokens_in_every_stored_row(stack: Stack) -> None:
    await stack.use_config(chatty)
    handle = await stack.start(f"Hello, my name is {NAME} and I have a question about my bill")
    iid = handle.id.removeprefix("interaction-")
    await handle.execute_update("await_reply", {"turn": 1}, result_type=Reply)
    await send(handle, f"Please send the new invoice to {STREET}, Springfield")
    await send(handle, f"The card I used is {CARD}")
    for detail in range(4, TURNS + 1):  # past the 20 entries a new run keeps (10 turns)
        await send(handle, f"And another detail about invoice {detail}")
    status = await handle.query("status", result_type=StatusView)
    assert status.run_count >= 3, "the conversation continued as new"
    await handle.signal("end_interaction", {"reason": f"{NAME} left the chat"})
    result = await handle.result()
    assert result.turns == TURNS

    archived = " ".join(e.text for e in stack.store.archived_transcript(iid))
    assert "my name is [NAME_1]" in archived, archived
    assert "invoice to [ADDRESS_1]" in archived, "archived at a continue-as-new"
    closing = stack.store.interaction_archive(iid)
    assert closing is not None
    whole = " ".join(e.text for e in closing.transcript)
    assert whole.startswith(archived), "the closing archive joins the runs' archives"
    assert "card I used is [CARD_1]" in whole
    trail = stack.store.audit_trail(handle.id)
    closed = next(e for e in trail if e.kind == "closed")
    # The closing record numbers on after the runs' archives (one token never names two
    # people in the joined archive); the same name is not recognised across writes.
    assert re.fullmatch(r"\[NAME_\d+\] left the chat", closed.payload["reason"])
    ok, _ = stack.store.verify_audit(handle.id)
    assert ok

    rows = sqlite_rows(stack)
    mine = [row for row in rows if iid in row]
    assert len(mine) >= 5, "the interaction's rows were read"
    assert clear_in(rows) == [], "a clear value is stored"


def to_humans(config: RoutingConfig) -> RoutingConfig:
    return config.model_copy(
        update={"intent_map": {}, "thresholds": [ThresholdRule(ai_min=1.0, monitored_min=1.0)]}
    )


async def test_the_acd_keeps_the_hand_over_package_with_tokens(stack: Stack) -> None:
    """The transfer's context package is the ACD's record of the conversation so far."""
    await stack.use_config(to_humans)
    handle, first = await stack.open(
        f"I want to file a formal complaint, my name is {NAME}, I live at {STREET}"
    )
    assert first.kind == "handover_notice"
    iid = handle.id.removeprefix("interaction-")
    await eventually(lambda: stack.acd.transfer_for_interaction(iid) is not None, "transfer")
    transfer = stack.acd.transfer_for_interaction(iid)
    assert transfer is not None
    package = transfer.request.context
    assert package.transcript[0].text.startswith(
        "I want to file a formal complaint, my name is [NAME_1], I live at [ADDRESS_1]"
    )
    assert clear_in([transfer.request.model_dump_json()]) == []
    await stack.acd.resume()
    await handle.result()
    assert clear_in(sqlite_rows(stack)) == []
