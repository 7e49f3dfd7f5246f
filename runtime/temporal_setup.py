"""Temporal set-up as a deploy step: the namespace, its retention and Warmline's search attributes.

``warmline setup`` applies it on a self-hosted cluster through the operator service (admin
rights, once per deploy); workers only check it (``require_search_attributes``) and refuse to
start when something is missing, instead of leaving interactions stuck at their first upsert.
On Temporal Cloud the operator calls are not allowed to a namespace's own clients: the same
state is set with ``tcld`` (``cloud_commands``) or in the Cloud UI.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from models.search_attributes import ALL, CLI_TYPES

VISIBLE_TIMEOUT_SECONDS: Final = 30.0
"""How long setup waits for newly added attributes to show in the namespace's list."""


class SetupRequired(RuntimeError):
    """The namespace is not set up for Warmline; the message says what is missing and how to fix
    it."""


@dataclass
class SetupReport:
    namespace: str
    created_namespace: bool = False
    retention_days: int = 0
    retention_changed: bool = False
    added_attributes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        created = "created" if self.created_namespace else "exists"
        retention = "set" if self.retention_changed else "unchanged"
        added = ", ".join(self.added_attributes) or "none (all present)"
        return [
            f"namespace {self.namespace}: {created}",
            f"retention: {self.retention_days} days ({retention})",
            f"search attributes added: {added}",
        ]


def _type_name(key: SearchAttributeKey[Any]) -> str:
    return CLI_TYPES[key.indexed_value_type.name]


def cloud_commands(namespace: str, retention_days: int) -> list[str]:
    """The ``tcld`` commands that do on Temporal Cloud what ``apply_setup`` does self-hosted
    (namespace ids there are ``<namespace>.<account>``)."""
    attributes = " ".join(f"--search-attribute '{key.name}={_type_name(key)}'" for key in ALL)
    return [
        f"tcld namespace retention set --namespace {namespace} --retention-days {retention_days}",
        f"tcld namespace search-attributes add --namespace {namespace} {attributes}",
    ]


async def _registered(client: Client, namespace: str) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(listed.custom_attributes)


def _problems(registered: dict[str, int]) -> list[str]:
    problems = []
    for key in ALL:
        wanted = key.indexed_value_type.value
        if key.name not in registered:
            problems.append(f"{key.name} ({_type_name(key)}) is missing")
        elif registered[key.name] != wanted:
            actual = IndexedValueType.Name(registered[key.name])  # type: ignore[arg-type]
            problems.append(f"{key.name} is {actual}, expected {_type_name(key)}")
    return problems


async def require_search_attributes(client: Client) -> None:
    """Raise ``SetupRequired`` unless every Warmline search attribute exists with its type.

    Workers call this before polling: a missing attribute would fail every interaction's first
    upsert, over and over, with nothing but a workflow task failure to show for it.
    """
    try:
        registered = await _registered(client, client.namespace)
    except RPCError as err:
        raise SetupRequired(
            f"cannot list the search attributes of namespace {client.namespace!r} ({err}); "
            "is the namespace there? Run `warmline setup` (self-hosted) or `warmline setup "
            "--cloud` for the Temporal Cloud commands"
        ) from err
    problems = _problems(registered)
    if problems:
        raise SetupRequired(
            f"namespace {client.namespace!r} is not set up for Warmline: {'; '.join(problems)}. "
            "Run `warmline setup` against it (self-hosted, needs admin rights), or on Temporal "
            "Cloud register them with `warmline setup --cloud` commands or the Cloud UI"
        )


async def _ensure_namespace(client: Client, report: SetupReport, retention: timedelta) -> None:
    period = Duration()
    period.FromTimedelta(retention)
    try:
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=report.namespace)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=report.namespace,
                description="Warmline interactions",
                workflow_execution_retention_period=period,
            )
        )
        report.created_namespace = report.retention_changed = True
        await _until_known(client, report.namespace)
        return
    current = described.config.workflow_execution_retention_ttl.ToTimedelta()
    if current != retention:
        await client.workflow_service.update_namespace(
            UpdateNamespaceRequest(
                namespace=report.namespace,
                config=NamespaceConfig(workflow_execution_retention_ttl=period),
            )
        )
        report.retention_changed = True


async def _until_known(client: Client, namespace: str) -> None:
    """A new namespace reaches the servers' namespace caches within seconds; until then the
    operator service answers NOT_FOUND."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + VISIBLE_TIMEOUT_SECONDS
    while True:
        try:
            await _registered(client, namespace)
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or loop.time() >= deadline:
                raise
        await asyncio.sleep(0.5)


async def _wait_until_listed(client: Client, namespace: str, timeout: float) -> list[str]:
    """Poll the list until every attribute shows (a new one reaches the cache within seconds);
    returns what is still wrong when the time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.2
    while True:
        problems = _problems(await _registered(client, namespace))
        if not problems or loop.time() >= deadline:
            return problems
        await asyncio.sleep(delay)
        delay = min(2.0, delay * 2)


async def apply_setup(
    client: Client,
    namespace: str,
    retention_days: int,
    *,
    visible_timeout: float = VISIBLE_TIMEOUT_SECONDS,
) -> SetupReport:
    """Create or update the namespace with ``retention_days`` and add the missing search
    attributes; idempotent, so every deploy may run it."""
    report = SetupReport(namespace=namespace, retention_days=retention_days)
    await _ensure_namespace(client, report, timedelta(days=retention_days))
    registered = await _registered(client, namespace)
    wrong_type = [p for p in _problems(registered) if "expected" in p]
    if wrong_type:
        raise SetupRequired(
            f"namespace {namespace!r} has Warmline search attributes of the wrong type "
            f"({'; '.join(wrong_type)}); a type cannot change: remove them first"
        )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in ALL
        if key.name not in registered
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        report.added_attributes = sorted(missing)
    still = await _wait_until_listed(client, namespace, visible_timeout)
    if still:
        raise SetupRequired(f"search attributes not visible after setup: {'; '.join(still)}")
    return report
