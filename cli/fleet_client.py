"""What the fleet commands share: store edits with audit, Temporal calls, rich views.

Registry edits from the CLI go straight to the store (like ``warmline config set``): one new
routing config version with the operator as author and one event on the ``fleet`` audit
stream, in one transaction. Rollouts, A/B tests and rollbacks are workflows, reached through
any Temporal client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console, Group
from rich.table import Table
from temporalio.client import Client
from temporalio.service import RPCError

from models.canary import CanaryStatus
from models.fleet import FLEET_AUDIT_STREAM, FLEET_TASK_QUEUE, EndpointShare, RegistryChange
from models.fleet_analysis import AnalysisOutcome
from models.routing import RoutingConfig
from runtime.audit_keys import open_store
from runtime.settings import Settings, load_settings
from store.repository import Store
from warmline.default_config import default_routing_config
from warmline.registry import RegistryError, apply_changes, endpoint_shares

T = TypeVar("T")
console = Console()
OUTCOME_STYLE = {
    AnalysisOutcome.SUCCESSFUL: "green",
    AnalysisOutcome.FAILED: "red",
    AnalysisOutcome.INCONCLUSIVE: "yellow",
}


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run one client call; Temporal errors become a message and exit code 1."""
    try:
        return asyncio.run(main)
    except RPCError as exc:
        console.print(f"[red]Temporal:[/red] {exc.message}")
        raise typer.Exit(1) from exc


async def client(settings: Settings | None = None) -> Client:
    from runtime.temporal_client import connect

    return await connect(settings or load_settings())


def temporal(call: Callable[[Client], Awaitable[T]]) -> T:
    """Connect with this process's settings and make one call (Temporal errors: exit 1)."""

    async def main() -> T:
        return await call(await client())

    return run(main())


def start_workflow(workflow: str, request: BaseModel, workflow_id: str) -> str:
    """Start a fleet workflow on the ``fleet`` queue; Temporal refuses a second one with the
    same id while the first runs (one rollout, test or rollback per agent)."""

    async def call(temporal_client: Client) -> str:
        handle = await temporal_client.start_workflow(
            workflow, request, id=workflow_id, task_queue=FLEET_TASK_QUEUE
        )
        return handle.id

    return temporal(call)


def query_status(workflow_id: str, result_type: type[T]) -> T:
    """The workflow's ``status`` query, as ``result_type``."""
    return temporal(
        lambda c: c.get_workflow_handle(workflow_id).query("status", result_type=result_type)
    )


def signal(workflow_id: str, name: str, payload: BaseModel) -> None:
    temporal(lambda c: c.get_workflow_handle(workflow_id).signal(name, payload))
    console.print(f"{name} sent to {workflow_id}")


def wait_result(workflow_id: str, result_type: type[T]) -> T:
    """Block until the workflow ends; its result as ``result_type``."""
    return temporal(lambda c: c.get_workflow_handle(workflow_id, result_type=result_type).result())


def active_config(store: Store, settings: Settings) -> RoutingConfig:
    """The active routing config; a fresh store gets the default first, as workers do."""
    config = store.active_routing_config()
    if config is None:
        config = store.save_routing_config(
            default_routing_config(settings.ai_fleet_url), "bootstrap"
        )
    return config


def apply(
    changes: Sequence[RegistryChange], author: str, reason: str = ""
) -> tuple[RoutingConfig, list[str]]:
    """Apply registry changes as one audited config version; refuse with the reason why."""
    settings = load_settings()
    store = open_store(settings)
    active_config(store, settings)
    try:
        config, _, reasons = store.apply_registry_edit(
            f"cli:{uuid.uuid4()}",
            author,
            lambda base: apply_changes(base, changes),
            stream=FLEET_AUDIT_STREAM,
            kind="registry_change",
            payload={
                "reason": reason,
                "changes": [change.model_dump(mode="json") for change in changes],
            },
        )
    except RegistryError as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    return config, reasons


def apply_and_show(
    changes: Sequence[RegistryChange], author: str, reason: str, agent: str
) -> RoutingConfig:
    """``apply``, then print what changed and the agent's registry as it now stands."""
    saved, reasons = apply(changes, author, reason)
    console.print(f"v{saved.version}: {'; '.join(reasons)}")
    console.print(registry_table(saved, agent))
    return saved


def endpoints_table(rows: Sequence[EndpointShare], title: str = "AI fleet") -> Table:
    table = Table(title=title)
    for column in ("agent", "version", "role", "weight", "share", "region", "$/1k tok", "max"):
        table.add_column(
            column, justify="left" if column in ("agent", "version", "role") else "right"
        )
    for row in rows:
        style = {"canary": "yellow", "retired": "dim", "rollback": "cyan"}.get(row.role.value, "")
        table.add_row(
            row.name,
            row.version,
            f"[{style}]{row.role.value}[/{style}]" if style else row.role.value,
            f"{row.weight:g}",
            f"{row.share_percent:.1f}%",
            row.region,
            f"{row.cost_per_1k_tokens:g}",
            str(row.max_concurrent),
        )
    return table


def registry_table(config: RoutingConfig, agent: str | None = None) -> Table:
    return endpoints_table(
        endpoint_shares(config, agent), f"AI fleet (routing config v{config.version})"
    )


def canary_view(status: CanaryStatus) -> Group:
    """A rollout at a glance: plan, where it is, sample sizes, the last verdicts, decisions."""
    state = status.state
    plan = Table(
        title=f"{status.workflow_id}: {state.canary_version} vs "
        f"{', '.join(state.baseline_versions) or '-'} ({state.phase.value})"
    )
    for column in ("step", "weight", "bake s", "min sample", ""):
        plan.add_column(column, justify="right" if column else "left")
    current = {
        "promoted": "passed",
        "rolled_back": "[red]failed: rolled back[/red]",
        "aborted": "aborted",
    }.get(state.phase.value, f"<- {status.waiting_for}")
    for index, step in enumerate(status.steps):
        marker = "passed" if index < state.step_index else ""
        if index == state.step_index:
            marker = current
        plan.add_row(
            str(index + 1),
            f"{step.weight_percent:g}%",
            f"{step.bake_seconds:g}",
            str(step.min_sample),
            marker,
        )
    parts: list[Any] = [plan]
    observation = state.last_observation
    if observation is not None:
        parts.append(
            f"sample this step: canary {observation.step_canary_sample}, baseline "
            f"{observation.step_baseline_sample}; since start: canary "
            f"{observation.canary_interactions} ({_pct(observation.canary_containment)} "
            f"contained), baseline {observation.baseline_interactions} "
            f"({_pct(observation.baseline_containment)})"
        )
    analysis = state.last_analysis
    if analysis is not None:
        verdicts = Table(title=f"last analysis: {analysis.outcome.value}")
        for column in ("metric", "canary", "baseline", "p", "verdict"):
            verdicts.add_column(column)
        for v in analysis.verdicts:
            style = OUTCOME_STYLE[v.outcome]
            verdicts.add_row(
                v.metric.value + (" (guardrail)" if v.guardrail else ""),
                _num(v.canary_value),
                _num(v.baseline_value),
                "-" if v.p_value is None else f"{v.p_value:.3g}",
                f"[{style}]{v.outcome.value}[/{style}]",
            )
        parts.append(verdicts)
    for decision in state.decisions[-4:]:
        parts.append(f"[bold]{decision.kind.value}[/bold] ({decision.by}): {decision.reasons[0]}")
    return Group(*parts)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
