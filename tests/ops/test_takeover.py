"""Production-shaped workers: plain payloads refused, and a fast takeover after a crash.

Two real ``warmline worker`` processes share the interactions task queue (real dev server,
simulated AI fleet and ACD over loopback, one SQLite store), with
``WARMLINE_REQUIRE_ENCRYPTION=true`` as ``docker/compose.yaml`` sets it: a client without the
codec can neither start an interaction nor send one a message, and its signals are dropped on
the record. Then the takeover: an interaction is opened by the reference client
(``cli.demo.open_interaction``, 2 s workflow task timeout); the worker process that holds it in
its sticky cache (the identity on its last workflow task) is killed with SIGKILL, as a crash or
an OOM kill would; the customer's next message must be answered by the other worker within
``TAKEOVER_BOUND_SECONDS``. With the SDK's defaults that turn waited about 10 s (issue 12), a
long silence on a voice call.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from bench.routing import store_ai_only_routing
from bench.scale.processes import WorkerProcess, start_worker
from cli.demo import open_interaction
from models.interaction import (
    INTERACTION_TASK_QUEUE,
    INTERACTION_WORKFLOW,
    Reply,
    StatusView,
    interaction_workflow_id,
)
from runtime.codec import format_key_ring, new_key, warmline_data_converter
from runtime.settings import Settings
from runtime.temporal_setup import apply_setup
from simulators.acd import AcdSimulator, TemporalSignaler
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.server import serve_app
from tests.audit_keys import open_test_store
from tests.ops.conftest import target_of
from tests.polling import until

pytestmark = pytest.mark.integration

TAKEOVER_BOUND_SECONDS = 4.0
"""The takeover goal is ~2 s: a kill between tasks costs the 1 s sticky timeout, a kill during a
task (a loaded machine makes that likely: the turn's recording may still run) the 2 s task
timeout the reference client sets; then a replay and one simulated AI call. The bound leaves
room for a loaded test machine while staying far below the SDK defaults' 10 s."""


class TwoWorkers:
    def __init__(self, client: Client, workers: list[WorkerProcess], namespace: str) -> None:
        self.client = client
        self.workers = workers
        self.namespace = namespace

    def by_identity(self, identity: str) -> WorkerProcess:
        pid = int(identity.split("@", 1)[0])
        return next(w for w in self.workers if w.process.pid == pid)


@pytest.fixture(scope="module")
async def two_workers(
    bare_server: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TwoWorkers]:
    """Started once for the module (a worker takes seconds to load its model); the takeover
    test, which kills one, runs last."""
    namespace = f"ops-{uuid.uuid4().hex[:10]}"
    tmp_path = tmp_path_factory.mktemp("two-workers")
    keys = format_key_ring(dict([new_key("takeover")]))
    await apply_setup(bare_server.client, namespace, 1)
    client = await Client.connect(
        target_of(bare_server),
        namespace=namespace,
        data_converter=warmline_data_converter(Settings(payload_keys=SecretStr(keys))),
    )
    database = f"sqlite:///{tmp_path / 'warmline.db'}"
    store = open_test_store(database)
    acd = AcdSimulator(TemporalSignaler(client), time_scale=0.001)
    workers: list[WorkerProcess] = []
    try:
        async with (
            serve_app(create_ai_fleet_app(FleetSimState(default_latency_ms=50))) as ai_url,
            serve_app(create_acd_app(acd)) as acd_url,
        ):
            store_ai_only_routing(store, ai_url)
            env = {
                "WARMLINE_TEMPORAL_ADDRESS": target_of(bare_server),
                "WARMLINE_TEMPORAL_NAMESPACE": namespace,
                "WARMLINE_DATABASE_URL": database,
                "WARMLINE_DATA_DIR": str(tmp_path),
                "WARMLINE_AI_FLEET_URL": ai_url,
                "WARMLINE_ACD_URL": acd_url,
                "WARMLINE_PAYLOAD_KEYS": keys,
                "WARMLINE_CLASSIFIER_THREADS": "1",
                "WARMLINE_REQUIRE_ENCRYPTION": "true",
            }
            workers = [start_worker(env, tmp_path, i) for i in range(2)]
            await asyncio.gather(*(w.ready() for w in workers))
            yield TwoWorkers(client, workers, namespace)
    finally:
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
        store.close()


async def last_task_identity(handle: WorkflowHandle[Any, Any]) -> str:
    """The worker that ran the interaction's latest workflow task: the one caching it."""
    identity = ""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            identity = event.workflow_task_completed_event_attributes.identity
    assert identity, "a workflow task completed"
    return identity


async def test_plain_payloads_are_refused_where_encryption_is_required(
    two_workers: TwoWorkers,
) -> None:
    plain = await Client.connect(
        two_workers.client.service_client.config.target_host,
        namespace=two_workers.namespace,
        data_converter=pydantic_data_converter,
    )
    iid = f"plain-{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {
        "interaction_id": iid,
        "channel": "chat",
        "customer": {"id": "c-1"},
        "first_message": "I have a question about my bill",
    }
    refused_start: WorkflowHandle[Any, Any] = await plain.start_workflow(
        INTERACTION_WORKFLOW,
        body,
        id=interaction_workflow_id(iid),
        task_queue=INTERACTION_TASK_QUEUE,
    )
    with pytest.raises(WorkflowFailureError):  # at once, not a workflow-task retry loop
        await asyncio.wait_for(refused_start.result(), 60)
    with pytest.raises(WorkflowFailureError) as failed:  # read with the keys: the reason
        await two_workers.client.get_workflow_handle(refused_start.id).result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert "PlainPayloadRefused" in cause.message

    handle, first = await open_interaction(two_workers.client, body | {"interaction_id": "enc-1"})
    assert first.sender == "ai"
    theirs = plain.get_workflow_handle(handle.id)
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await theirs.execute_update("send_message", {"text": "in clear"})
    assert isinstance(rejected.value.cause, ApplicationError)
    assert rejected.value.cause.type == "InvalidInput"
    await theirs.signal("end_interaction", {"reason": "in clear"})
    status = await until(
        lambda: handle.query("status", result_type=StatusView),
        lambda s: len(s.ignored) == 1,
        "the plain signal dropped on the record",
    )
    assert "PlainPayloadRefused" in status.ignored[0] and status.state.value != "closed"
    reply = await handle.execute_update("send_message", {"text": "Sealed"}, result_type=Reply)
    assert reply.sender == "ai"
    await handle.signal("end_interaction", {"reason": "done"})
    assert (await asyncio.wait_for(handle.result(), 60)).turns == 2


async def test_a_turn_whose_worker_died_is_answered_by_the_other_within_2_s(
    two_workers: TwoWorkers,
) -> None:
    request = {
        "interaction_id": f"takeover-{os.getpid()}-{time.monotonic_ns()}",
        "channel": "voice",
        "customer": {"id": "c-1"},
        "first_message": "I have a question about my bill",
    }
    handle, first = await open_interaction(two_workers.client, request)
    assert first.sender == "ai"
    warm = await handle.execute_update(
        "send_message", {"text": "And the late fee?"}, result_type=Reply
    )
    assert warm.sender == "ai"
    holder = two_workers.by_identity(await last_task_identity(handle))
    holder.process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(holder.process.wait)

    started = time.perf_counter()
    reply = await asyncio.wait_for(
        handle.execute_update("send_message", {"text": "Hello, are you there?"}, result_type=Reply),
        30,
    )
    takeover = time.perf_counter() - started
    assert reply.sender == "ai" and reply.text
    survivor = two_workers.by_identity(await last_task_identity(handle))
    assert survivor is not holder and survivor.process.poll() is None
    assert takeover < TAKEOVER_BOUND_SECONDS, f"the turn took {takeover:.1f} s after the kill"
    await handle.signal("end_interaction", {"reason": "done"})
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.turns == 3
