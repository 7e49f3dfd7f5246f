"""Worker Versioning on the dev server: pinned interactions keep their build, long-running
workflows move to the new one, with the workers configured by ``workers.versioning`` and the
current version set with the documented ``temporal worker deployment`` command."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import VersioningBehavior
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.stack import temporal_cli
from runtime.settings import Settings
from tests.ops.conftest import target_of
from tests.polling import eventually
from workers.versioning import INTERACTIONS, LONG_RUNNING, worker_options

pytestmark = pytest.mark.integration


class _Waits:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


@workflow.defn(name="Versioned", sandboxed=False)
class BuildOne(_Waits):
    """The workflow as build v1 has it: answers with its build's label."""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "v1"


@workflow.defn(name="Versioned", sandboxed=False)
class BuildTwo(_Waits):
    """The same workflow type as build v2 has it."""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "v2"


BUILDS = {"v1": BuildOne, "v2": BuildTwo}


def set_current(server: WorkflowEnvironment, deployment: str, build_id: str) -> None:
    """What the deploy docs tell an operator to run once the new workers poll."""
    subprocess.run(
        [
            temporal_cli(),
            "worker",
            "deployment",
            "set-current-version",
            "--address",
            target_of(server),
            "--deployment-name",
            deployment,
            "--build-id",
            build_id,
            "--yes",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def set_current_when_polled(
    server: WorkflowEnvironment, deployment: str, build_id: str
) -> None:
    async def done() -> bool:
        try:
            await asyncio.to_thread(set_current, server, deployment, build_id)
        except subprocess.CalledProcessError:
            return False  # the version is not registered until its workers poll
        return True

    await eventually(done, f"{deployment}.{build_id} to become current", timeout=60)


def versioned_worker(
    client: Client, queue: str, deployment: str, build_id: str, behavior: VersioningBehavior
) -> Worker:
    settings = Settings(worker_deployment_name=deployment, worker_build_id=build_id)
    return Worker(
        client,
        task_queue=queue,
        workflows=[BUILDS[build_id]],
        **worker_options(settings, behavior),
    )


async def started_and_run(client: Client, queue: str, name: str) -> Any:
    handle = await client.start_workflow("Versioned", id=f"{queue}-{name}", task_queue=queue)

    async def ran() -> bool:
        described = await handle.describe()
        return described.raw_description.workflow_execution_info.HasField("versioning_info")

    await eventually(ran, f"{name} to take its first task")
    return handle


async def scenario(
    bare_server: WorkflowEnvironment, behavior: VersioningBehavior
) -> tuple[str, str]:
    """Start one workflow on build v1, deploy v2 and make it current, start another; release
    both and return what each finished on."""
    client = bare_server.client
    deployment = f"wl{uuid.uuid4().hex[:8]}"
    queue = f"versioned-{deployment}"
    make: Callable[[str], Worker] = lambda build_id: versioned_worker(  # noqa: E731
        client, queue, deployment, build_id, behavior
    )
    async with make("v1"):
        await set_current_when_polled(bare_server, deployment, "v1")
        old = await started_and_run(client, queue, "old")
        async with make("v2"):
            await set_current_when_polled(bare_server, deployment, "v2")
            new = await started_and_run(client, queue, "new")
            await old.signal("proceed")
            await new.signal("proceed")
            return await old.result(), await new.result()


async def test_pinned_interactions_finish_on_the_build_they_started_on(
    bare_server: WorkflowEnvironment,
) -> None:
    assert INTERACTIONS is VersioningBehavior.PINNED
    assert await scenario(bare_server, INTERACTIONS) == ("v1", "v2")


async def test_long_running_workflows_move_to_the_current_build(
    bare_server: WorkflowEnvironment,
) -> None:
    assert LONG_RUNNING is VersioningBehavior.AUTO_UPGRADE
    assert await scenario(bare_server, LONG_RUNNING) == ("v2", "v2")


def test_without_a_build_id_workers_are_unversioned() -> None:
    options = worker_options(Settings(worker_build_id=None), INTERACTIONS)
    assert "deployment_config" not in options
    assert options["graceful_shutdown_timeout"].total_seconds() == 60
