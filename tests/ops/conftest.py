"""A bare Temporal dev server for the operations tests, started once per session.

Bare on purpose: no search attributes are registered at start (unlike the integration stack),
so the tests see a cluster as an operator gets it and ``warmline setup`` has real work to do.
Each test that sets something up uses a namespace of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.stack import temporal_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
async def bare_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_log_level="error"
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def namespace() -> str:
    return f"ops-{uuid.uuid4().hex[:10]}"


def target_of(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def client_for(env: WorkflowEnvironment, namespace: str) -> Client:
    return await Client.connect(target_of(env), namespace=namespace)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def warmline_command(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``warmline`` entry point from this worktree in a child process."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
