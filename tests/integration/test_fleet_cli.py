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
from models.canary import CanaryPhase, CanaryState, DecisionKind
from models.fleet import (
    ABTestState,
    RollbackState,
    ab_test_workflow_id,
    canary_workflow_id,
    rollback_workflow_id,
)
from models.routing import EndpointRole, RoutingConfig
from tests.integration.conftest import Stack, StackApi
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


@pytest.fixture
def as_release_manager(stack_api: StackApi) -> dict[str, str]:
    return stack_api.env("rm@example.com", "release_manager", "operator")


async def warmline(env: dict[str, str], app: typer.Typer, *args: str) -> str:
    """One CLI command through the stack's API, as the identity ``env`` carries; its output."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return str(result.output)


async def test_canary_commands_start_steer_and_wait(
    cli_stack: Stack, as_release_manager: dict[str, str]
) -> None:
    stack, env = cli_stack, as_release_manager
    started = await warmline(env, canary.app, "start", CARE_BOT, CANARY, "--bake", "3600")
    assert f"started {canary_workflow_id(CARE_BOT)}" in started

    async def status() -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            await warmline(env, canary.app, "status", CARE_BOT, "--json")
        )
        return document

    first = await until(status, lambda s: s["state"]["config_version"] is not None, "step 1")
    assert first["workflow_id"] == canary_workflow_id(CARE_BOT)
    paused = await warmline(env, canary.app, "pause", CARE_BOT)
    assert paused.strip() == f"pause sent to {canary_workflow_id(CARE_BOT)}"
    await until(status, lambda s: s["state"]["phase"] == CanaryPhase.PAUSED, "paused")
    await warmline(env, canary.app, "abort", CARE_BOT, "--reason", "cli test")
    waited = await warmline(env, canary.app, "wait", CARE_BOT)
    assert waited.strip() == f"{CARE_BOT}: aborted at step 1"
    # Who paused and aborted is the token's identity, not anything typed.
    handle = stack.client.get_workflow_handle(canary_workflow_id(CARE_BOT), result_type=CanaryState)
    state = await handle.result()
    steered = [d.by for d in state.decisions if d.kind in (DecisionKind.PAUSE, DecisionKind.ABORT)]
    assert steered == ["rm@example.com", "rm@example.com"]


async def test_ab_test_commands_start_report_and_stop(
    cli_stack: Stack, as_release_manager: dict[str, str]
) -> None:
    stack, env = cli_stack, as_release_manager
    ab_id = ab_test_workflow_id(CARE_BOT)
    arms = (CARE_BOT_VERSION, CANARY)
    started = await warmline(env, fleet.app, "ab-test", "start", CARE_BOT, *arms, "--poll", "1")
    assert f"started {ab_id}" in started

    async def status() -> str:
        return await warmline(env, fleet.app, "ab-test", "status", CARE_BOT)

    shown = await until(status, lambda text: "blended containment" in text, "a first report")
    assert shown.startswith(f"{CARE_BOT}: running")
    stopped = await warmline(env, fleet.app, "ab-test", "stop", CARE_BOT)
    assert stopped.strip() == f"stop sent to {ab_id}"
    handle = stack.client.get_workflow_handle(ab_id, result_type=ABTestState)
    state = await asyncio.wait_for(handle.result(), timeout=TIMEOUT_SECONDS)
    assert state.phase.value == "stopped"


async def test_registry_commands_then_a_rollback_and_its_status(
    cli_stack: Stack, as_release_manager: dict[str, str]
) -> None:
    stack, env = cli_stack, as_release_manager
    weighted = await warmline(env, fleet.app, "set-weight", CARE_BOT, CANARY, "0.25")
    assert "AI fleet (routing config v" in weighted
    stack.deps.configs.invalidate()
    await warmline(env, rollback.app, "start", "--mode", "instant", "--agent", CARE_BOT)
    handle = stack.client.get_workflow_handle(
        rollback_workflow_id(CARE_BOT), result_type=RollbackState
    )
    done = await asyncio.wait_for(handle.result(), timeout=TIMEOUT_SECONDS)
    assert done.plan is not None and done.plan.from_version == CANARY
    document = json.loads(await warmline(env, rollback.app, "status", CARE_BOT, "--json"))
    assert document["phase"] == "done" and document["shifts_applied"] == 1
