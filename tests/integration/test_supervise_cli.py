"""``warmline supervise`` against the real dev server, through the real API: the worklist
visibility query, the supervisor cap, and decisions delivered as ``review_response`` signals.
The supervisor is who their token says (issued by a JWKS this test serves itself; no external
identity provider can run here).

A small stand-in workflow holds one draft the way ``InteractionWorkflow`` does (search
attributes upserted, ``status`` exposing ``pending_draft``, ``review_response`` ending the
hold), so the CLI is tested on its own contract whatever the interaction does around it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from typer.testing import CliRunner, Result

from api import review_ops as ops
from api.services import PRIVILEGED_READS_STREAM
from cli import supervise
from models import search_attributes as sa
from models.supervision import (
    REVIEW_RESPONSE_SIGNAL,
    SupervisionPolicy,
)
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.identity import LoopbackIdP, serve_api, serve_idp

pytestmark = pytest.mark.integration

VISIBILITY_WAIT_SECONDS = 15.0


@workflow.defn(name="HeldDraftStub")
class HeldDraftStub:
    def __init__(self) -> None:
        self._responses: list[dict[str, Any]] = []

    @workflow.run
    async def run(self, intent: str) -> list[dict[str, Any]]:
        workflow.upsert_search_attributes(
            [
                sa.PENDING_REVIEW.value_set(True),
                sa.REVIEW_SINCE.value_set(workflow.now()),
                sa.INTENT.value_set(intent),
                sa.SUPERVISION_MODE.value_set("fully_supervised"),
            ]
        )
        await workflow.wait_condition(lambda: bool(self._responses))
        workflow.upsert_search_attributes([sa.PENDING_REVIEW.value_set(False)])
        return self._responses

    @workflow.signal(name=REVIEW_RESPONSE_SIGNAL)
    def review_response(self, payload: dict[str, Any]) -> None:
        self._responses.append(payload)

    @workflow.query(name="status")
    def status(self) -> dict[str, Any]:
        return {"pending_draft": {"draft_id": "d-1", "turn": 1, "text": "Refund approved."}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    opened.save_supervision_policy(SupervisionPolicy(supervisor_concurrent_cap=3), "tests")
    yield opened
    opened.close()


async def _pending(client: Client, store: Store, intent: str, count: int) -> list[ops.PendingItem]:
    deadline = asyncio.get_running_loop().time() + VISIBILITY_WAIT_SECONDS
    while True:
        items = await ops.pending_reviews(client, store, intent=intent)
        if len(items) == count:
            return items
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {count} pending, visibility shows {items}")
        await asyncio.sleep(0.2)


async def test_worklist_cap_and_decisions(
    temporal_client: Client, store: Store, tmp_path: Path
) -> None:
    intent = f"cli{uuid.uuid4().hex[:8]}"
    queue = f"supervise-cli-{intent}"
    # Unsandboxed: the stub is trivially deterministic, and the sandbox would re-import this
    # module's heavy imports (store, CLI) for every run it starts.
    async with (
        Worker(
            temporal_client,
            task_queue=queue,
            workflows=[HeldDraftStub],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
        serve_idp() as idp,
        serve_api(store, idp.settings(data_dir=tmp_path), temporal=temporal_client) as api_url,
    ):
        sup_1 = Supervisor(api_url, idp, "sup-1")
        handles: list[WorkflowHandle[Any, Any]] = []
        for n in range(4):
            handles.append(
                await temporal_client.start_workflow(
                    HeldDraftStub.run, intent, id=f"interaction-{intent}-{n}", task_queue=queue
                )
            )
            await asyncio.sleep(0.02)  # distinct WarmlineReviewSince values
        items = await _pending(temporal_client, store, intent, 4)
        assert [i.workflow_id for i in items] == [h.id for h in handles], "oldest wait first"
        assert {i.mode for i in items} == {"fully_supervised"}

        for handle in handles[:3]:
            assert await ops.claim(temporal_client, store, handle.id, "sup-1") == "d-1"
        with pytest.raises(ops.SuperviseError, match="cap 3"):
            await ops.claim(temporal_client, store, handles[3].id, "sup-1")
        with pytest.raises(ops.SuperviseError, match="held by sup-1"):
            await ops.decide(temporal_client, store, handles[0].id, "sup-2", "reject", reason="x")
        with pytest.raises(ValidationError, match="edited_text"):
            await ops.decide(temporal_client, store, handles[0].id, "sup-1", "edit")

        await ops.decide(temporal_client, store, handles[0].id, "sup-1", "approve")
        assert await handles[0].result() == [
            {
                "draft_id": "d-1",
                "decision": "approve",
                "reviewer_id": "sup-1",
                "edited_text": None,
                "reason": None,
            }
        ]
        assert len(store.review_claims("sup-1")) == 2, "a decision frees its slot"
        await ops.decide(
            temporal_client, store, handles[3].id, "sup-1", "edit", text="Refund of $40 sent."
        )
        assert (await handles[3].result())[0]["edited_text"] == "Refund of $40 sent."
        items = await _pending(temporal_client, store, intent, 2)
        assert {i.held_by for i in items} == {"sup-1"}

        # The shipped command, as a supervisor types it, decides one of the held reviews.
        await asyncio.to_thread(
            sup_1.warmline, "reject", handles[1].id, "--reason", "wrong refund policy"
        )
        rejected = (await handles[1].result())[0]
        assert (rejected["decision"], rejected["reviewer_id"]) == ("reject", "sup-1")
        # Another supervisor's token cannot take over sup-1's hold, whatever they type.
        other = await asyncio.to_thread(
            Supervisor(api_url, idp, "sup-2").run, "approve", handles[2].id
        )
        assert other.exit_code == 2 and "held by sup-1" in other.output
        listed = await asyncio.to_thread(sup_1.warmline, "list", "--json", "--intent", intent)
        # Visibility may still show the review just rejected; never the ones decided before.
        shown = [row["workflow_id"] for row in json.loads(listed)]
        assert shown in ([handles[2].id], [handles[1].id, handles[2].id])
        # Reading an interaction's status (its transcript) is a recorded privileged read.
        status = json.loads(await asyncio.to_thread(sup_1.warmline, "show", handles[2].id))
        assert status["pending_draft"]["draft_id"] == "d-1"
        (read,) = store.audit_trail(PRIVILEGED_READS_STREAM)
        assert (read.kind, read.actor) == ("interaction_status_read", "sup-1")
        assert read.payload["workflow_ids"] == [handles[2].id]
        await handles[2].terminate()


class Supervisor:
    """Runs the ``warmline supervise`` command in-process as a supervisor with an IdP token.

    Called through a thread: the command runs its own HTTP client, as it does in a terminal,
    while the API answers from the test's event loop.
    """

    def __init__(self, api_url: str, idp: LoopbackIdP, subject: str) -> None:
        self.env = {
            "WARMLINE_API_URL": api_url,
            "WARMLINE_API_TOKEN": idp.token(subject, ["supervisor"]),
        }

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(supervise.app, list(args), env=self.env)

    def warmline(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.output
