"""How the fleet commands show things: the registry as a table, a canary rollout at a glance.

Rendering only; the commands get what they show from the API (``cli.api_client``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from models.canary import CanaryStatus
from models.fleet import EndpointShare, RegistryView
from models.fleet_analysis import AnalysisOutcome
from models.routing import RoutingConfig
from warmline.registry import endpoint_shares

console = Console()
OUTCOME_STYLE = {
    AnalysisOutcome.SUCCESSFUL: "green",
    AnalysisOutcome.FAILED: "red",
    AnalysisOutcome.INCONCLUSIVE: "yellow",
}


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


def registry_view_table(view: RegistryView) -> Table:
    return endpoints_table(view.endpoints, f"AI fleet (routing config v{view.config_version})")


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
