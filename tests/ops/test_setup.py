"""``warmline setup`` on a real dev server, and workers that refuse to start without it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from models.search_attributes import ALL, INTENT
from runtime.temporal_setup import (
    SetupRequired,
    apply_setup,
    cloud_commands,
    require_search_attributes,
)
from tests.ops.conftest import client_for, free_port, target_of, warmline_command

pytestmark = pytest.mark.integration


def env_for(server: WorkflowEnvironment, namespace: str, **extra: str) -> dict[str, str]:
    return {
        "WARMLINE_TEMPORAL_ADDRESS": target_of(server),
        "WARMLINE_TEMPORAL_NAMESPACE": namespace,
        "WARMLINE_PAYLOAD_ENCRYPTION": "false",
        "WARMLINE_METRICS_PORT": str(free_port()),
        "WARMLINE_TEMPORAL_METRICS_PORT": str(free_port()),
        **extra,
    }


async def register_bare(server: WorkflowEnvironment, namespace: str) -> None:
    """A namespace made by hand (one day retention), as an operator might have."""
    await server.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86_400)
        )
    )


async def retention_of(server: WorkflowEnvironment, namespace: str) -> timedelta:
    described = await server.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    return described.config.workflow_execution_retention_ttl.ToTimedelta()


async def test_worker_refuses_to_start_until_setup_has_run(
    bare_server: WorkflowEnvironment, namespace: str
) -> None:
    env = env_for(bare_server, namespace, WARMLINE_TEMPORAL_RETENTION_DAYS="5")
    refused = await asyncio.to_thread(warmline_command, ["worker"], env)
    assert refused.returncode == 2, refused.stderr
    assert "refusing to start" in refused.stderr
    assert "warmline setup" in refused.stderr

    done = await asyncio.to_thread(warmline_command, ["setup"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"namespace {namespace}: created" in done.stdout
    assert "retention: 5 days (set)" in done.stdout
    assert await retention_of(bare_server, namespace) == timedelta(days=5)
    client = await client_for(bare_server, namespace)
    await require_search_attributes(client)  # no longer raises

    again = await asyncio.to_thread(warmline_command, ["setup"], env)
    assert again.returncode == 0
    assert "exists" in again.stdout and "unchanged" in again.stdout
    assert "none (all present)" in again.stdout


async def test_missing_attributes_are_named(
    bare_server: WorkflowEnvironment, namespace: str
) -> None:
    await register_bare(bare_server, namespace)
    client = await client_for(bare_server, namespace)
    with pytest.raises(SetupRequired) as refused:
        await require_search_attributes(client)
    for key in ALL:
        assert f"{key.name} (" in str(refused.value)

    report = await apply_setup(client, namespace, retention_days=2)
    assert not report.created_namespace and report.retention_changed
    assert report.added_attributes == sorted(key.name for key in ALL)
    assert await retention_of(bare_server, namespace) == timedelta(days=2)


async def test_an_attribute_of_the_wrong_type_is_refused(
    bare_server: WorkflowEnvironment, namespace: str
) -> None:
    await register_bare(bare_server, namespace)
    await bare_server.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={INTENT.name: IndexedValueType.INDEXED_VALUE_TYPE_TEXT},
        )
    )
    client = await client_for(bare_server, namespace)
    with pytest.raises(SetupRequired, match="WarmlineIntent is INDEXED_VALUE_TYPE_TEXT"):
        await apply_setup(client, namespace, retention_days=3)
    with pytest.raises(SetupRequired, match="expected Keyword"):
        await require_search_attributes(client)


def test_cloud_commands_cover_every_attribute_and_the_retention() -> None:
    retention, attributes = cloud_commands("warmline.acct1", 7)
    assert retention.endswith("--namespace warmline.acct1 --retention-days 7")
    for key in ALL:
        assert f"'{key.name}=" in attributes
    printed = warmline_command(["setup", "--cloud"], {"WARMLINE_TEMPORAL_NAMESPACE": "n.a"})
    assert printed.returncode == 0
    assert printed.stdout.splitlines() == cloud_commands("n.a", 3)
