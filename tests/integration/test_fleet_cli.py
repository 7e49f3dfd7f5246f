"""``warmline canary``, ``warmline fleet ab-test`` and ``warmline rollback`` against the real dev
server and the stack's fleet worker: start, status, signals and waiting, as an operator types
them (each command runs its own event loop, so through a thread, as in a terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import typer
from temporalio.service import RPCError
from typer.testing import CliRunner

from cli import canary, fleet, rollback
from models.canary import CanaryPhase
from models.fleet import (
    ABTestState,
    RollbackState,
    ab_test_workflow_id,
    canary_workflow_id,
    rollback_workflow_id,
)
from models.routing import EndpointRole, RoutingConfig
from tests.audit_keys import TEST_AUDIT_KEYS_SETTING
from tests.integration.conftest import Stack
from tests.polling import until
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION, fleet_endpoint_url
from warmline.registry import find

pytestmark = pytest.mark.integration

CANARY = "2026.11"
TIMEOUT_SECONDS = 30.0


@pytest.fixture
async def cli_stack(stack: Stack) -> AsyncIterator[Stack]:
    """care-bot with a registered canary at weight 0; no fleet workflow left running after."""
    await stack.use_config(with_canary)
    yield stack
    for workflow_id in (
        canary_workflow_id(CARE_BOT),
        ab_test_workflow_id(CARE_BOT),
        rollback_workflow_id(CARE_BOT),
    ):
        with contextlib.suppress(RPCError):  # finished, or never started
            await stack.client.get_workflow_handle(workflow_id).terminate("test over")


def with_canary(config: RoutingConfig) -> RoutingConfig:
    production = find(config, CARE_BOT, CARE_BOT_VERSION)
    base_url = production.url.split("/agents/")[0]
    added = production.model_copy(
        update={
            "version": CANARY,
            "role": EndpointRole.CANARY,
            "weight": 0.0,
            "url": fleet_endpoint_url(base_url, CARE_BOT, CANARY),
        }
    )
    return config.model_copy(update={"ai_endpoints": [*config.ai_endpoints, added]})


async def warmline(stack: Stack, app: typer.Typer, *args: str) -> str:
    """One CLI command against this stack's server and store; its output."""
    env = {
        "WARMLINE_DATABASE_URL": stack.store.engine.url.render_as_string(hide_password=False),
        "WARMLINE_TEMPORAL_ADDRESS": stack.client.service_client.config.target_host,
        "WARMLINE_TEMPORAL_NAMESPACE": stack.client.namespace,
        "WARMLINE_AI_FLEET_URL": stack.settings.ai_fleet_url,
        "WARMLINE_AUDIT_KEYS": TEST_AUDIT_KEYS_SETTING,
    }
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return str(result.output)


async def test_canary_commands_start_steer_and_wait(cli_stack: Stack) -> None:
    stack = cli_stack
    started = await warmline(
        stack, canary.app, "start", CARE_BOT, CANARY, "--by", "rm", "--bake", "3600"
    )
    assert f"started {canary_workflow_id(CARE_BOT)}" in started

    async def status() -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            await warmline(stack, canary.app, "status", CARE_BOT, "--json")
        )
        return document

    first = await until(status, lambda s: s["state"]["config_version"] is not None, "step 1")
    assert first["workflow_id"] == canary_workflow_id(CARE_BOT)
    paused = await warmline(stack, canary.app, "pause", CARE_BOT, "--by", "rm")
    assert paused.strip() == f"pause sent to {canary_workflow_id(CARE_BOT)}"
    await until(status, lambda s: s["state"]["phase"] == CanaryPhase.PAUSED, "paused")
    await warmline(stack, canary.app, "abort", CARE_BOT, "--by", "rm", "--reason", "cli test")
    waited = await warmline(stack, canary.app, "wait", CARE_BOT)
    assert waited.strip() == f"{CARE_BOT}: aborted at step 1"


async def test_ab_test_commands_start_report_and_stop(cli_stack: Stack) -> None:
    stack = cli_stack
    ab_id = ab_test_workflow_id(CARE_BOT)
    arms = (CARE_BOT_VERSION, CANARY)
    started = await warmline(
        stack, fleet.app, "ab-test", "start", CARE_BOT, *arms, "--by", "rm", "--poll", "1"
    )
    assert f"started {ab_id}" in started

    async def status() -> str:
        return await warmline(stack, fleet.app, "ab-test", "status", CARE_BOT)

    shown = await until(status, lambda text: "blended containment" in text, "a first report")
    assert shown.startswith(f"{CARE_BOT}: running")
    stopped = await warmline(stack, fleet.app, "ab-test", "stop", CARE_BOT, "--by", "rm")
    assert stopped.strip() == f"stop sent to {ab_id}"
    handle = stack.client.get_workflow_handle(ab_id, result_type=ABTestState)
    state = await asyncio.wait_for(handle.result(), timeout=TIMEOUT_SECONDS)
    assert state.phase.value == "stopped"


async def test_registry_commands_then_a_rollback_and_its_status(cli_stack: Stack) -> None:
    stack = cli_stack
    weighted = await warmline(
        stack, fleet.app, "set-weight", CARE_BOT, CANARY, "0.25", "--author", "rm"
    )
    assert "AI fleet (routing config v" in weighted
    stack.deps.configs.invalidate()
    await warmline(
        stack, rollback.app, "start", "--mode", "instant", "--agent", CARE_BOT, "--by", "ops"
    )
    handle = stack.client.get_workflow_handle(
        rollback_workflow_id(CARE_BOT), result_type=RollbackState
    )
    done = await asyncio.wait_for(handle.result(), timeout=TIMEOUT_SECONDS)
    assert done.plan is not None and done.plan.from_version == CANARY
    document = json.loads(await warmline(stack, rollback.app, "status", CARE_BOT, "--json"))
    assert document["phase"] == "done" and document["shifts_applied"] == 1
