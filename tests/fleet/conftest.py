"""A fleet test stack on Temporal's time-skipping test server.

Bake times of minutes pass in milliseconds: tests drive real interactions while time is locked
(real time), then skip virtual time with ``env.sleep`` so the rollout's timers fire. Real
parts: the interaction worker and the fleet worker (``max_cached_workflows=0``, so every
workflow task replays its history), the AI fleet and ACD simulators over loopback, a SQLite
store. The intent classifier is a keyword stand-in: the tests choose paths by their text and
the real model's start-up cost would dominate a suite that must stay fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.interaction import InteractionDeps
from cli.demo import drive_interaction
from models import search_attributes
from models.canary import CanaryRolloutInput, CanaryState, CanaryStatus
from models.fleet import (
    CANARY_WORKFLOW,
    FLEET_AUDIT_STREAM,
    FLEET_TASK_QUEUE,
    ab_test_workflow_id,
    canary_workflow_id,
)
from models.interaction import InteractionResult
from models.routing import AIEndpoint, Classification, EndpointRole, RoutingConfig, ThresholdRule
from runtime.converter import BOUNDARY_CONVERTER
from runtime.settings import Settings
from simulators.acd import AcdSimulator, TemporalSignaler
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.bot_replies import topic_of
from simulators.server import serve_app
from simulators.traffic import Ending, ScriptedInteraction
from store.audit_chain import StoredAuditEvent
from store.repository import Store
from tests.audit_keys import open_test_store
from warmline.default_config import (
    CARE_BOT,
    default_routing_config,
    fleet_endpoint_url,
)
from warmline.intents import OUT_OF_SCOPE
from workers.fleet import fleet_worker
from workers.interaction import interaction_deps, interaction_worker

CANARY_VERSION = "2026.11"
HUMAN_AGENTS = {"general": 6, "billing": 2, "retention": 2, "fraud": 1, "tech": 2}
DRIVE_CONCURRENCY = 10
START_TIMEOUT_SECONDS = 10.0
START_POLL_SECONDS = 0.05
HISTORIES = Path(__file__).parents[1] / "replay" / "histories_fleet"
RECORD_ENV = "WARMLINE_RECORD_FLEET_HISTORIES"


class KeywordClassifier:
    """Intent by the simulator's own keyword table, always confident."""

    version = "keywords-1"

    def classify(self, text: str) -> Classification:
        intent = topic_of(text)
        return Classification(
            intent=intent or OUT_OF_SCOPE,
            confidence=0.99,
            out_of_scope=intent is None,
            model_version=self.version,
        )


def care_script(
    interaction_id: str,
    ending: Ending = "thanks",
    csat: int | None = None,
    follow_ups: tuple[str, ...] = (),
) -> ScriptedInteraction:
    """A care-bot customer: an order question, then thanks (contained), a human request, or
    silence (the customer leaves, rating ``csat``)."""
    return ScriptedInteraction(
        input={
            "interaction_id": interaction_id,
            "channel": "chat",
            "customer": {"id": f"cust-{interaction_id}", "segment": "standard"},
            "first_message": "Where is my order? I placed it last week.",
            "metadata": {"entry_point": "default"},
        },
        intent="order_status",
        follow_ups=list(follow_ups),
        ends_with=ending,
        csat=csat,
    )


@dataclass
class FleetStack:
    env: WorkflowEnvironment
    store: Store
    fleet: FleetSimState
    acd: AcdSimulator
    deps: InteractionDeps
    settings: Settings
    fleet_task: asyncio.Task[None] | None = None
    fleet_worker: Worker | None = None
    recorded: list[tuple[str, WorkflowHandle[Any, Any]]] = field(default_factory=list)
    saved: list[tuple[str, WorkflowHandle[Any, Any]]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    def endpoint(self, version: str, role: EndpointRole = EndpointRole.CANARY) -> AIEndpoint:
        production = default_routing_config(self.settings.ai_fleet_url).ai_endpoints[0]
        return production.model_copy(
            update={
                "version": version,
                "role": role,
                "weight": 0.0,
                "url": fleet_endpoint_url(self.settings.ai_fleet_url, CARE_BOT, version),
            }
        )

    async def use_config(
        self, change: Callable[[RoutingConfig], RoutingConfig] = lambda c: c
    ) -> RoutingConfig:
        """Every intent to AI, care-bot production at weight 100 plus a canary at 0."""
        base = default_routing_config(self.settings.ai_fleet_url)
        production = base.ai_endpoints[0].model_copy(update={"weight": 100.0})
        config = base.model_copy(
            update={
                "intent_map": {},
                "ai_eligible_intents": [],
                "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
                "ai_endpoints": [
                    production,
                    self.endpoint(CANARY_VERSION),
                    *base.ai_endpoints[1:],
                ],
            }
        )
        saved = await asyncio.to_thread(self.store.save_routing_config, change(config), "tests")
        self.deps.configs.invalidate()
        return saved

    async def drive(
        self,
        prefix: str,
        count: int,
        ending: Callable[[int], Ending] = lambda i: "thanks",
        csat: Callable[[int], int | None] = lambda i: None,
    ) -> list[InteractionResult]:
        """``count`` care-bot customers to completion, ``DRIVE_CONCURRENCY`` at a time."""
        semaphore = asyncio.Semaphore(DRIVE_CONCURRENCY)

        async def one(i: int) -> InteractionResult:
            async with semaphore:
                script = care_script(f"{prefix}-{i:03d}", ending(i), csat(i))
                return await drive_interaction(self.client, script)

        return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def start_canary(
        self, request: CanaryRolloutInput, *, wait: bool = True
    ) -> WorkflowHandle[Any, CanaryState]:
        """Start a rollout and, unless ``wait`` is off, return once its first weight is set.

        Facts count from the rollout's start: traffic driven before it would not count.
        """
        handle = await self.client.start_workflow(
            CANARY_WORKFLOW,
            request,
            id=canary_workflow_id(request.agent),
            task_queue=FLEET_TASK_QUEUE,
            result_type=CanaryState,
        )
        for _ in range(int(START_TIMEOUT_SECONDS / START_POLL_SECONDS)):
            if not wait or (await self.status(handle)).state.config_version is not None:
                break
            await asyncio.sleep(START_POLL_SECONDS)
        return handle

    async def status(self, handle: WorkflowHandle[Any, Any]) -> CanaryStatus:
        return await handle.query("status", result_type=CanaryStatus)

    def rejected_signals(self, handle: WorkflowHandle[Any, Any]) -> list[StoredAuditEvent]:
        """``signal_rejected`` events this run of ``handle`` audited on the fleet stream."""
        return [
            event
            for event in self.store.audit_trail(FLEET_AUDIT_STREAM)
            if event.kind == "signal_rejected"
            and event.payload["run_id"] == (handle.result_run_id or handle.run_id)
        ]

    def start_fleet_worker(self) -> None:
        self.fleet_worker = fleet_worker(self.client, self.deps, max_cached_workflows=0)
        self.fleet_task = asyncio.create_task(self.fleet_worker.run())

    async def stop_fleet_worker(self) -> None:
        if self.fleet_worker is not None:
            await self.fleet_worker.shutdown()
        if self.fleet_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.fleet_task
        self.fleet_worker = self.fleet_task = None

    async def record(self, name: str, handle: WorkflowHandle[Any, Any], save: bool = False) -> None:
        """Keep a finished workflow's runs for this session's replay test; ``save`` also
        writes the first run to ``tests/replay/histories_fleet`` when recording is on.

        Fleet workflow ids are reused (one rollout per agent), so runs are pinned by run id:
        the first run, and the last one as ``<name>_final`` if it continued as new.
        """
        first = handle.result_run_id or handle.run_id
        pinned = self.client.get_workflow_handle(handle.id, run_id=first)
        self.recorded.append((name, pinned))
        if save:
            self.saved.append((name, pinned))
        last = (await self.client.get_workflow_handle(handle.id).describe()).run_id
        if last != first:
            final = self.client.get_workflow_handle(handle.id, run_id=last)
            self.recorded.append((f"{name}_final", final))

    async def histories(self, saved_only: bool = False) -> list[tuple[str, WorkflowHistory]]:
        chosen = self.saved if saved_only else self.recorded
        return [(name, await handle.fetch_history()) for name, handle in chosen]


async def register_search_attributes(client: Client) -> None:
    """The test server implements AddSearchAttributes but not the listing that
    ``runtime.temporal_setup.apply_setup`` starts with."""
    request = AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={
            key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
            for key in search_attributes.ALL
        },
    )
    await client.operator_service.add_search_attributes(request)


def test_server_path() -> str:
    return str(Path(sys.executable).parent / "temporal-test-server")


@pytest.fixture(scope="session")
async def fleet_session(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FleetStack]:
    data = tmp_path_factory.mktemp("fleet")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=BOUNDARY_CONVERTER
    )
    await register_search_attributes(env.client)
    store = open_test_store(f"sqlite:///{data / 'warmline.db'}")
    fleet = FleetSimState()
    acd = AcdSimulator(
        TemporalSignaler(env.client), agents_per_queue=HUMAN_AGENTS, time_scale=0.0005
    )
    try:
        async with (
            serve_app(create_ai_fleet_app(fleet)) as ai_url,
            serve_app(create_acd_app(acd)) as acd_url,
        ):
            settings = Settings(ai_fleet_url=ai_url, acd_url=acd_url, data_dir=data)
            async with interaction_deps(
                settings, store=store, classifier=KeywordClassifier(), config_ttl_seconds=30.0
            ) as deps:
                stack = FleetStack(env, store, fleet, acd, deps, settings)
                # Time only moves when a test skips it: drive_interaction awaits results.
                with env.auto_time_skipping_disabled():
                    async with interaction_worker(env.client, deps, settings):
                        stack.start_fleet_worker()
                        try:
                            yield stack
                        finally:
                            await stack.stop_fleet_worker()
                            await _save_histories(stack)
    finally:
        await env.shutdown()


async def _save_histories(stack: FleetStack) -> None:
    if not os.environ.get(RECORD_ENV):
        return
    HISTORIES.mkdir(parents=True, exist_ok=True)
    for name, history in await stack.histories(saved_only=True):
        # Compact JSON: the files are kept in the repository (< 240 KB together).
        compact = json.dumps(json.loads(history.to_json()), separators=(",", ":"))
        (HISTORIES / f"{name}.json").write_text(compact + "\n")


@pytest.fixture
async def stack(fleet_session: FleetStack) -> AsyncIterator[FleetStack]:
    """The shared stack with a fresh registry; faults cleared afterwards."""
    await fleet_session.use_config()
    yield fleet_session
    fleet_session.fleet.clear_faults()
    fleet_session.deps.health.reset()
    # A test that failed half-way must not leave a rollout running for the next one.
    for workflow_id in (canary_workflow_id(CARE_BOT), ab_test_workflow_id(CARE_BOT)):
        with contextlib.suppress(RPCError):
            await fleet_session.client.get_workflow_handle(workflow_id).terminate("test over")
