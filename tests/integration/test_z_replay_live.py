"""Every InteractionWorkflow history produced by this session's tests replays cleanly.

Runs last in the module order (file name) so it sees the other integration tests' workflows.
With ``WARMLINE_RECORD_HISTORIES=<dir>`` it also saves them, which is how
``tests/replay/histories`` is refreshed after a deliberate workflow change. This session's
payloads are encrypted, so the replayer uses the client's converter (same key ring), and saved
histories are decrypted first: recorded fixtures must replay without any key.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from cli.corpus import record_corpus
from runtime.history import decode_payloads_in_place
from tests.integration.conftest import Stack
from workers.replay import load_corpus, replay_histories
from workflows.boundary import BoundaryInterceptor
from workflows.interaction import InteractionWorkflow

pytestmark = pytest.mark.integration


async def test_every_history_of_this_session_replays(stack: Stack) -> None:
    histories: list[WorkflowHistory] = []
    async for execution in stack.client.list_workflows(
        "WorkflowType = 'InteractionWorkflow' AND ExecutionStatus != 'Running'"
    ):
        handle = stack.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        histories.append(await handle.fetch_history())
    assert len(histories) >= 10, "the integration tests should have left closed interactions"
    replayer = Replayer(
        workflows=[InteractionWorkflow],
        data_converter=stack.client.data_converter,
        interceptors=[BoundaryInterceptor()],
    )

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    failures = {wf: str(err) for wf, err in results.replay_failures.items()}
    assert not failures, failures

    target = os.environ.get("WARMLINE_RECORD_HISTORIES")
    if target:
        out = Path(target)
        out.mkdir(parents=True, exist_ok=True)
        codec = stack.client.data_converter.payload_codec
        for index, history in enumerate(histories):
            if codec is not None:
                proto = History(events=history.events)
                await decode_payloads_in_place(proto, codec)
                history = WorkflowHistory(history.workflow_id, proto.events)
            (out / f"{history.workflow_id}.{index:03d}.json").write_text(history.to_json())


async def test_corpus_recorded_from_a_live_namespace_replays_without_a_key(
    stack: Stack, tmp_path: Path
) -> None:
    """What ``warmline corpus record`` does at release time, against this session's server:
    encrypted histories are saved decrypted, named so the workflow id comes back, and replay."""
    counts = await record_corpus(stack.client, tmp_path, per_type=3)
    assert 1 <= counts.get("InteractionWorkflow", 0) <= 3
    saved = list(tmp_path.rglob("*.json"))
    encrypted = base64.b64encode(b"binary/encrypted").decode()
    assert all(encrypted not in path.read_text() for path in saved)
    corpus = load_corpus(tmp_path)
    assert {h.workflow_id for _, h in corpus} <= {
        e.id async for e in stack.client.list_workflows("ExecutionStatus != 'Running'")
    }
    outcome = await replay_histories(corpus)
    assert not outcome.failures and outcome.replayed == counts
