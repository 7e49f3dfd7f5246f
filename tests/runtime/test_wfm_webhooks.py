"""WFM events delivered as signed CloudEvents to a real receiver over loopback.

The receiver uses only ``standardwebhooks`` to verify (``tests/wfm_receiver.py``). A deliverer
process killed in the middle of a delivery loses no event, and the receiver processes none twice
(by its id), because the outbox claim lapses and the next deliverer sends the same id again.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.main import app
from models.facts import AuditEvent
from models.health import WFM_EVENTS_STREAM
from runtime.wfm_events import PumpConfig, WfmEventPump
from runtime.wfm_webhooks import DeliveryConfig, WebhookDelivery, WebhookSigner
from simulators.server import serve_app
from store.health import HealthStore
from store.repository import Store
from store.wfm_events import WfmEventStore
from tests.audit_keys import open_test_store
from tests.polling import eventually
from tests.store.builders import make_record
from tests.wfm_receiver import Receiver
from warmline.wfm_events import AlertConfig

ROOT = Path(__file__).resolve().parents[2]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    HealthStore(opened).init_schema()
    WfmEventStore(opened).init_schema()
    yield opened
    opened.close()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    held = Receiver(secret=new_secret())
    async with serve_app(held.app()) as url:
        yield held, f"{url}/hook"
    held.release.set()


def containment_drop_facts(store: Store, now: datetime) -> None:
    """An hour at 85% containment, then 5 minutes at 60%, closing (recorded) as they happen."""
    records = []
    for n in range(200):
        contained = n % 20 < 17
        records.append(
            make_record(
                f"base-{n}",
                events=0,
                intent="billing" if n % 2 else "order_status",
                pool="ai_contained" if contained else "ai_assisted",
                outcome="contained" if contained else "escalated",
                escalation_trigger=None if contained else "sentiment",
            )
        )
    for n in range(40):
        contained = n % 2 == 0 or n % 5 < 2  # billing (odd) falls hard, order_status holds
        records.append(
            make_record(
                f"now-{n}",
                events=0,
                intent="billing" if n % 2 else "order_status",
                pool="ai_contained" if contained else "ai_assisted",
                outcome="contained" if contained else "escalated",
                escalation_trigger=None if contained else "sentiment",
            )
        )
    store.record_interactions(records)
    with store.engine.begin() as conn:  # closing times: the hour before, then the last minutes
        for n in range(200):
            at = now - timedelta(minutes=60) + timedelta(seconds=n * 15)
            conn.execute(
                text(
                    "UPDATE interaction_facts SET recorded_at_utc = :at WHERE interaction_id = :i"
                ),
                {"at": at.replace(tzinfo=None).isoformat(sep=" "), "i": f"base-{n}"},
            )
        for n in range(40):
            at = now - timedelta(minutes=4) + timedelta(seconds=n * 5)
            conn.execute(
                text(
                    "UPDATE interaction_facts SET recorded_at_utc = :at WHERE interaction_id = :i"
                ),
                {"at": at.replace(tzinfo=None).isoformat(sep=" "), "i": f"now-{n}"},
            )


def failover_audit(key: str) -> AuditEvent:
    return AuditEvent(
        stream=WFM_EVENTS_STREAM,
        seq=0,
        kind="ai_failover_to_human",
        at=datetime.now(UTC).isoformat(),
        actor="ops",
        payload={
            "key": key,
            "agents": ["care-bot"],
            "reason": "vendor outage, call me on +1 415 555 0100",
            "ai_interactions_per_minute": 4.5,
        },
    )


async def test_events_arrive_as_signed_cloudevents_and_each_once(
    store: Store, receiver: tuple[Receiver, str]
) -> None:
    held, url = receiver
    now = datetime.now(UTC)
    containment_drop_facts(store, now)
    config = PumpConfig(webhook_url=url, webhook_secret=held.secret, alerts=AlertConfig())
    pump = WfmEventPump(store, config, "w1")
    other = WfmEventPump(store, config, "w2")
    assert pump.detect(now.timestamp()) == 1
    assert other.detect(now.timestamp()) == 0, "a second worker finds the drop already decided"
    events = WfmEventStore(store, "warmline")
    assert events.record_fleet_event(failover_audit("failover-1"), "failover-1", url)
    assert not events.record_fleet_event(failover_audit("failover-1"), "failover-1", url)
    assert pump.delivery is not None
    assert await pump.delivery.deliver_due() == 2
    assert await other.delivery.deliver_due() == 0 if other.delivery else True
    assert held.refused == 0 and held.duplicates() == 0
    drop = held.processed["containment-drop-1"]
    assert drop["specversion"] == "1.0" and drop["type"] == "com.warmline.wfm.containment_dropped"
    assert drop["source"] == "warmline" and drop["subject"] == "containment"
    data = drop["data"]
    assert data["containment_baseline"] == 0.85 and data["containment_now"] < 0.78
    assert data["intents_that_moved"][0]["intent"] == "billing"
    failover = held.processed["failover-1"]
    assert failover["type"] == "com.warmline.wfm.ai_failover_to_human"
    assert "415" not in failover["data"]["reason"], "free text is redacted before delivery"
    outbox = HealthStore(store).outbox()
    assert all(row["delivered"] for row in outbox) and len(outbox) == 2
    await pump.delivery.aclose()
    if other.delivery:
        await other.delivery.aclose()


async def test_refused_deliveries_back_off_then_dead_letter_and_retry(
    store: Store, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, url = receiver
    outbox = HealthStore(store)
    events = WfmEventStore(store)
    events.record_fleet_event(failover_audit("failover-2"), "failover-2", url)
    wrong = WebhookDelivery(
        outbox, WebhookSigner(new_secret()), "w1", DeliveryConfig(max_attempts=2)
    )
    assert await wrong.deliver_due() == 0  # 401: signature does not verify
    assert outbox.outbox()[0]["attempts"] == 1 and not outbox.outbox()[0]["dead"]
    with store.engine.begin() as conn:  # the backoff has passed
        conn.execute(text("UPDATE wfm_outbox SET next_attempt_at = 0"))
    assert await wrong.deliver_due() == 0
    dead = outbox.outbox(dead_only=True)
    assert [d["event_id"] for d in dead] == ["failover-2"] and "401" in dead[0]["last_error"]
    assert await wrong.deliver_due() == 0, "dead letters are never due"
    await wrong.aclose()
    assert held.refused == 2 and not held.processed

    monkeypatch.setenv("WARMLINE_DATABASE_URL", str(store.engine.url))
    runner = CliRunner()
    listed = runner.invoke(app, ["wfm", "events", "list", "--dead"])
    assert listed.exit_code == 0 and "failover-2" in listed.output and "dead" in listed.output
    retried = runner.invoke(app, ["wfm", "events", "retry", "failover-2"])
    assert retried.exit_code == 0 and "1 event(s)" in retried.output
    right = WebhookDelivery(outbox, WebhookSigner(held.secret), "w2")
    assert await right.deliver_due() == 1
    await right.aclose()
    assert list(held.processed) == ["failover-2"]


async def test_a_deliverer_killed_mid_delivery_loses_and_duplicates_nothing(
    store: Store, receiver: tuple[Receiver, str]
) -> None:
    held, url = receiver
    events = WfmEventStore(store)
    ids = [f"failover-k{n}" for n in range(20)]
    for key in ids:
        events.record_fleet_event(failover_audit(key), key, url)
    held.hold = {"failover-k7"}
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "WARMLINE_DATABASE_URL": str(store.engine.url),
        "WARMLINE_WFM_WEBHOOK_URL": url,
        "WARMLINE_WFM_WEBHOOK_SECRET": held.secret,
        "WARMLINE_WFM_OUTBOX_LEASE_SECONDS": "2",
        "WARMLINE_WFM_EVENT_POLL_SECONDS": "0.05",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "wfm", "deliver", "--worker-id", "doomed"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await eventually(lambda: "failover-k7" in held.held, "the held delivery to start", 60)
        await eventually(lambda: len(held.processed) == 19, "the other deliveries", 30)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    held.release.set()
    outbox = HealthStore(store)
    pending = [row["event_id"] for row in outbox.outbox() if not row["delivered"]]
    assert "failover-k7" in pending, "the killed worker never marked it delivered"
    survivor = WebhookDelivery(outbox, WebhookSigner(held.secret), "survivor")
    started = time.monotonic()

    async def redelivered() -> bool:
        await survivor.deliver_due()
        return all(row["delivered"] for row in outbox.outbox())

    await eventually(redelivered, "the lapsed claim to be delivered again", 30)
    await survivor.aclose()
    assert time.monotonic() - started >= 1.0, "waited for the dead worker's lease"
    assert sorted(held.processed) == sorted(ids), "every event processed"
    assert [i for i, _ in held.arrivals].count("failover-k7") == 2, "sent again, same id"
    assert len(held.processed) == len(ids), "and processed once"
