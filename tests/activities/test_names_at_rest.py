"""Names and street addresses never reach the store or the ACD's records in clear (issue 12
item 6, issue 14 item 1): the persistence activities run the bundled tagger (the worker's
``TurnScanner``) over what they write and store tokens instead, on SQLite and PostgreSQL.

The activities run in the SDK's ``ActivityEnvironment`` with the worker's real dependencies
(``workers.interaction.interaction_deps``): the real tagger, store and group-commit recorder.
The intent classifier is not needed by these paths; the one given refuses to be called.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.interaction import InteractionActivities
from models.acd import CallbackRequest, ContextPackage, TransferRequest
from models.ai import ShadowAnswer
from models.facts import ArchiveTranscript, AuditEvent
from models.interaction import Channel, Customer, EscalationTrigger, Sender, TranscriptEntry
from models.routing import Classification
from models.supervision import RecordSupervision, ReviewRecord, SupervisionFacts
from models.triage import FlushRun
from runtime.settings import Settings
from simulators.server import serve_app
from store.repository import Store
from tests.audit_keys import TEST_CUSTOMER_KEY_SECRET
from tests.store.builders import make_record
from tests.store.conftest import postgres_url, store, store_url  # noqa: F401 (fixtures)
from warmline.customers import customer_key
from workers.interaction import interaction_deps

NAME, OTHER = "Maria Gonzalez", "Priya Raman"
STREET = "42 Elm Street"
AT = "2026-01-01T10:00:00+00:00"


class NoClassifier:
    """These activities never classify; a call would be a bug."""

    version = "none"

    def classify(self, text: str) -> Classification:
        raise AssertionError(f"classified {text!r}")


@pytest.fixture
async def acd() -> AsyncIterator[list[dict[str, Any]]]:
    """A loopback ACD that keeps what it is sent (as an ACD's records would)."""
    received: list[dict[str, Any]] = []

    async def keep(request: Request) -> Response:
        received.append(await request.json())
        return JSONResponse({"transfer_id": f"t-{len(received)}"})

    app = Starlette(
        routes=[
            HttpRoute("/transfers", keep, methods=["POST"]),
            HttpRoute("/callbacks", keep, methods=["POST"]),
        ]
    )
    async with serve_app(app) as url:
        received.append({"url": url})
        yield received
        received.clear()


@pytest.fixture
async def acts(
    store: Store,  # noqa: F811
    tmp_path: Path,
    acd: list[dict[str, Any]],
) -> AsyncIterator[InteractionActivities]:
    acd_url = acd.pop(0)["url"]
    settings = Settings(ai_fleet_url="http://127.0.0.1:9", acd_url=acd_url, data_dir=tmp_path)
    async with interaction_deps(settings, store=store, classifier=NoClassifier()) as deps:
        yield InteractionActivities(deps)


def entry(turn: int, sender: Sender, said: str) -> TranscriptEntry:
    return TranscriptEntry(turn=turn, sender=sender, text=said, at=AT)


def first_run() -> FlushRun:
    return FlushRun(
        archive=ArchiveTranscript(
            interaction_id="i-1",
            run_index=0,
            entries=[
                entry(1, Sender.CUSTOMER, f"Hi, I am {NAME}, my card is [CARD_1]"),
                entry(1, Sender.AI, f"Thanks {NAME}, is the address still {STREET}?"),
                entry(2, Sender.CUSTOMER, f"Yes, {STREET}, Springfield."),
            ],
        ),
        audit=[
            AuditEvent(
                stream="interaction-i-1",
                seq=1,
                kind="escalation",
                at=AT,
                payload={"detail": f"customer {NAME} asked for a human", "queue": "general"},
            )
        ],
    )


def rows(store: Store) -> str:  # noqa: F811
    """Every row of every table of the store, as one text."""
    dumped = []
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                dumped.append(json.dumps([str(v) for v in row]))
    assert len(dumped) > 3, "rows were read"
    return "\n".join(dumped)


async def test_the_archive_of_a_run_keeps_tokens_stable_and_no_name_or_street(
    acts: InteractionActivities,
    store: Store,  # noqa: F811
) -> None:
    await ActivityEnvironment().run(acts.flush_run, first_run())
    archived = [e.text for e in store.archived_transcript("i-1")]
    assert archived[0] == "Hi, I am [NAME_1], my card is [CARD_1]", "the card token stays"
    assert archived[1].startswith("Thanks [NAME_1], is the address still [ADDRESS_1]")
    assert archived[2].startswith("Yes, [ADDRESS_")
    detail = store.audit_trail("interaction-i-1")[0].payload
    assert detail == {"detail": "customer [NAME_1] asked for a human", "queue": "general"}
    stored = rows(store)
    assert NAME not in stored and STREET not in stored and "Maria" not in stored


@pytest.mark.parametrize("run_index", [1, None], ids=["closing-run-1", "run-unknown"])
async def test_the_closing_record_numbers_on_after_the_archived_runs(
    acts: InteractionActivities,
    store: Store,  # noqa: F811
    run_index: int | None,
) -> None:
    """The closing archive joins the runs: a new name there is not ``[NAME_1]`` again (the
    closing run's index names the runs before it; a record without one reads them all)."""
    await ActivityEnvironment().run(acts.flush_run, first_run())
    record = make_record("i-1", events=1)
    record.run_index = run_index
    record.audit[0].seq = 2  # after the run's flushed event
    record.audit[0].payload = {"reason": f"{OTHER} closed the chat", "n": 1}
    record.transcript = [entry(3, Sender.CUSTOMER, f"This is {OTHER}, her sister, bye")]
    review = ReviewRecord(
        interaction_id="i-1",
        draft_id="d-1",
        decision="edit",
        reviewer_id="sup-1",
        decided_at=AT,
        intent="billing",
        channel="chat",
        mode="fully_supervised",
        turn=3,
        draft_text=f"Goodbye {OTHER}",
        sent_text=f"Goodbye {OTHER}, we will write to {STREET}",
        reason=f"name {OTHER} misspelt",
    )
    record.supervision = RecordSupervision(
        facts=SupervisionFacts(
            interaction_id="i-1",
            intent="billing",
            channel="chat",
            mode="fully_supervised",
            started_at=AT,
            ended_at=AT,
            reviews=1,
        ),
        reviews=[review],
    )
    assert await ActivityEnvironment().run(acts.record_interaction, record)
    archive = store.interaction_archive("i-1")
    assert archive is not None
    texts = [e.text for e in archive.transcript]
    assert texts[0].startswith("Hi, I am [NAME_1]")
    assert texts[-1] == "This is [NAME_2], her sister, bye"
    closed = store.audit_trail("interaction-i-1")
    assert {"reason": "[NAME_2] closed the chat", "n": 1} in [e.payload for e in closed]
    stored = rows(store)
    for clear in (NAME, OTHER, STREET, "Priya", "Maria"):
        assert clear not in stored, clear
    assert "Goodbye [NAME_2], we will write to [ADDRESS_" in stored


async def test_a_record_of_a_first_run_reads_no_archives(
    acts: InteractionActivities,
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run 0 had no run before it to archive turns: its closing numbers tokens from 1 without
    a query (one fewer store read per interaction)."""
    reads: list[str] = []
    monkeypatch.setattr(store, "archived_transcript", lambda iid, before=None: reads.append(iid))
    record = make_record("i-9", events=1)
    record.run_index = 0
    record.transcript = [entry(1, Sender.CUSTOMER, f"Hi, I am {NAME}")]
    assert await ActivityEnvironment().run(acts.record_interaction, record)
    archive = store.interaction_archive("i-9")
    assert reads == [] and archive is not None
    assert archive.transcript[0].text == "Hi, I am [NAME_1]"


async def test_a_failing_tagger_writes_nothing_and_fails_retryably(
    acts: InteractionActivities,
    store: Store,  # noqa: F811
) -> None:
    scanner = acts.deps.scanner
    assert scanner is not None
    scanner.names.close()  # the worker's tagger thread is gone (as on shutdown)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.flush_run, first_run())
    assert raised.value.type == "PiiTaggerFailed" and not raised.value.non_retryable
    assert NAME not in raised.value.message
    closing_record = make_record("i-2")
    closing_record.transcript = [entry(1, Sender.CUSTOMER, f"I am {NAME}")]
    with pytest.raises(ApplicationError) as closing:
        await ActivityEnvironment().run(acts.record_interaction, closing_record)
    assert closing.value.type == "PiiTaggerFailed" and not closing.value.non_retryable
    assert store.archived_transcript("i-1") == [] and store.get_facts("i-2") is None
    assert store.audit_trail("interaction-i-1") == []


async def test_the_acd_gets_the_hand_over_package_with_tokens(
    acts: InteractionActivities, acd: list[dict[str, Any]]
) -> None:
    """What the ACD keeps with a transfer (its records of the hand-over) and a callback."""
    context = ContextPackage(
        interaction_id="i-3",
        workflow_id="interaction-i-3",
        channel=Channel.CHAT,
        customer=Customer(id="c-3"),
        intent="billing",
        confidence=0.9,
        transcript=[entry(1, Sender.CUSTOMER, f"I am {NAME} from {STREET}")],
        ai_assessment=f"{NAME} disputes a charge",
        trigger=EscalationTrigger.EXPLICIT_REQUEST,
    )
    request = TransferRequest(idempotency_key="k", queue="general", context=context)
    ack = await ActivityEnvironment().run(acts.warm_transfer, request)
    assert ack.transfer_id == "t-1"
    callback = CallbackRequest(
        idempotency_key="cb", interaction_id="i-3", queue="general", reason=f"call {NAME}"
    )
    await ActivityEnvironment().run(acts.schedule_callback, callback)
    sent, booked = acd
    assert NAME not in json.dumps(acd) and STREET not in json.dumps(acd)
    assert sent["context"]["transcript"][0]["text"] == "I am [NAME_1] from [ADDRESS_1]"
    assert sent["context"]["ai_assessment"] == "[NAME_1] disputes a charge"
    assert booked["reason"] == "call [NAME_1]"


async def test_shadow_answers_are_stored_with_tokens(
    acts: InteractionActivities,
    store: Store,  # noqa: F811
) -> None:
    answer = ShadowAnswer(
        interaction_id="i-4",
        turn=1,
        endpoint="care-bot:v2",
        live_model_version="v1",
        live_text=f"Hello {NAME}",
        shadow_text=f"Hi {NAME}, shipping to {STREET}",
    )
    await acts._store_shadow(answer)
    (shadow,) = store.shadow_answers("i-4")
    assert shadow.live_text == "Hello [NAME_1]"
    assert shadow.shadow_text == "Hi [NAME_1], shipping to [ADDRESS_1]"


async def test_the_workers_torch_threads_setting_outlasts_loading_the_tagger(
    store: Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``WARMLINE_CLASSIFIER_THREADS`` (``classifier_threads``) reaches torch even though the
    tagger and detector load after the intent model and apply the default on loading."""
    import torch

    before = torch.get_num_threads()
    settings = Settings(
        ai_fleet_url="http://127.0.0.1:9",
        acd_url="http://127.0.0.1:9",
        data_dir=tmp_path,
        classifier_threads=1,
    )
    try:
        async with interaction_deps(settings, store=store, classifier=NoClassifier()):
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


async def test_the_closing_record_keys_the_customer_and_stores_no_raw_id(
    acts: InteractionActivities,
    store: Store,  # noqa: F811
) -> None:
    """The record activity replaces the customer id by the pseudonymous key (repeat contact)
    before anything is written: the id is in no table, the key is in the facts."""
    raw = "crm-778199-unique"
    record = make_record("i-1", events=1)
    record.customer_id, record.tenant = raw, "acme"
    assert await ActivityEnvironment().run(acts.record_interaction, record)
    facts = store.get_facts("i-1")
    secret = TEST_CUSTOMER_KEY_SECRET.encode()
    assert facts is not None and facts.customer_key == customer_key(secret, "acme", raw)
    assert record.customer_id == raw, "the caller's record is left as it was (a retry keys again)"
    stored = rows(store)
    assert facts.customer_key in stored and raw not in stored
