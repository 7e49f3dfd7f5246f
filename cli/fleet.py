"""``warmline fleet``: the model registry (list, register, set-weight, retire) and A/B tests.

Each registry command stores one new routing config version authored by ``--author`` and one
event on the ``fleet`` audit stream; workers route on it within seconds. A new version
registers as canary at weight 0 (it takes no traffic until a rollout or an operator gives it
some), with the capability profile of the agent's production version unless told otherwise.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from cli import fleet_client as fc
from models.fleet import (
    AB_TEST_WORKFLOW,
    ABDesign,
    ABTestConfig,
    ABTestInput,
    ABTestState,
    RegisterEndpoint,
    RetireEndpoint,
    SetWeight,
    StopABTest,
    ab_test_workflow_id,
)
from models.routing import AIEndpoint, EndpointRole
from runtime.settings import load_settings
from warmline.default_config import fleet_endpoint_url
from warmline.registry import versions_of

app = typer.Typer(help="AI agent versions: registry, weights, A/B tests.", no_args_is_help=True)
ab_app = typer.Typer(help="A/B tests between versions of one agent.", no_args_is_help=True)
app.add_typer(ab_app, name="ab-test")

AuthorOpt = Annotated[str, typer.Option("--author", help="Who makes the change (audited).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (audited).")]


@app.command("list")
def list_versions(
    agent: Annotated[str | None, typer.Option(help="Only this agent.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Every registered version with its role, weight and share of its agent's traffic."""
    from warmline.registry import endpoint_shares

    settings = load_settings()
    config = fc.active_config(fc.open_store(settings), settings)
    if as_json:
        rows = [row.model_dump(mode="json") for row in endpoint_shares(config, agent)]
        print(json.dumps({"config_version": config.version, "endpoints": rows}, indent=2))
        return
    fc.console.print(fc.registry_table(config, agent))


def _pairs(values: list[str], what: str) -> dict[str, float]:
    """``key=number`` options into a dict, refusing anything else with the option named."""
    result: dict[str, float] = {}
    for value in values:
        key, sep, number = value.partition("=")
        try:
            result[key] = float(number)
        except ValueError:
            sep = ""
        if not sep or not key:
            raise typer.BadParameter(f"{what}: expected name=number, got {value!r}")
    return result


@app.command()
def register(
    agent: Annotated[str, typer.Argument(help="Logical agent, e.g. care-bot.")],
    version: Annotated[str, typer.Argument()],
    author: AuthorOpt,
    url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible base URL; default: simulated fleet.")
    ] = None,
    role: Annotated[EndpointRole, typer.Option(help="Initial role.")] = EndpointRole.CANARY,
    weight: Annotated[float, typer.Option(min=0, help="Live weight (canary/production).")] = 0.0,
    like: Annotated[
        str | None, typer.Option(help="Copy the profile of this version (default: production).")
    ] = None,
    capability: Annotated[
        list[str], typer.Option(help="intent=probability, repeatable; overrides the copy.")
    ] = [],  # noqa: B006 - typer needs a literal default
    region: Annotated[str | None, typer.Option()] = None,
    cost_per_1k: Annotated[float | None, typer.Option("--cost-per-1k", min=0)] = None,
    max_concurrent: Annotated[int | None, typer.Option(min=1)] = None,
    model: Annotated[str | None, typer.Option(help="`model` sent to the endpoint.")] = None,
    reason: ReasonOpt = "",
) -> None:
    """Register a new version of an agent (canary at weight 0 unless told otherwise)."""
    settings = load_settings()
    config = fc.active_config(fc.open_store(settings), settings)
    siblings = versions_of(config, agent)
    template = next((e for e in siblings if e.version == like), None) if like else None
    template = template or next((e for e in siblings if e.role is EndpointRole.PRODUCTION), None)
    if like and (template is None or template.version != like):
        raise typer.BadParameter(f"--like: {agent}:{like} is not registered")
    base: dict[str, Any] = template.model_dump() if template else {"capability": {"*": 0.8}}
    base.update(
        name=agent,
        version=version,
        role=role,
        weight=weight,
        url=url or fleet_endpoint_url(settings.ai_fleet_url, agent, version),
    )
    if capability:
        base["capability"] = {**base.get("capability", {}), **_pairs(capability, "--capability")}
    for field, value in (
        ("region", region),
        ("cost_per_1k_tokens", cost_per_1k),
        ("max_concurrent", max_concurrent),
        ("model", model),
    ):
        if value is not None:
            base[field] = value
    endpoint = AIEndpoint.model_validate(base)
    fc.apply_and_show([RegisterEndpoint(endpoint=endpoint)], author, reason, agent)


@app.command("set-weight")
def set_weight(
    agent: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    weight: Annotated[float, typer.Argument(min=0)],
    author: AuthorOpt,
    reason: ReasonOpt = "",
) -> None:
    """Set a live version's weight (relative to the agent's other live versions)."""
    fc.apply_and_show(
        [SetWeight(agent=agent, version=version, weight=weight)], author, reason, agent
    )


@app.command()
def retire(
    agent: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    author: AuthorOpt,
    force: Annotated[
        bool, typer.Option(help="Even if it carries all of the agent's traffic.")
    ] = False,
    reason: ReasonOpt = "",
) -> None:
    """Retire a version: weight 0, never called again."""
    change = RetireEndpoint(agent=agent, version=version, force=force)
    fc.apply_and_show([change], author, reason, agent)


@ab_app.command("start")
def ab_start(
    agent: Annotated[str, typer.Argument()],
    versions: Annotated[list[str], typer.Argument(help="Arms; the first is the control.")],
    by: Annotated[str, typer.Option("--by", help="Who starts it (audited).")],
    split: Annotated[
        list[str], typer.Option(help="version=percent, repeatable; default equal.")
    ] = [],  # noqa: B006 - typer needs a literal default
    design: Annotated[ABDesign, typer.Option()] = ABDesign.FIXED,
    sample_size: Annotated[int, typer.Option(min=2, help="Per arm (pre-registered).")] = 400,
    poll: Annotated[float, typer.Option(min=1, help="Seconds between analyses.")] = 300.0,
    keep_split: Annotated[
        bool, typer.Option(help="Leave the test split in place when it ends.")
    ] = False,
    reason: ReasonOpt = "",
) -> None:
    """Start an A/B test: a fixed split until the sample or a sequential test concludes."""
    request = ABTestInput(
        agent=agent,
        versions=versions,
        split=_pairs(split, "--split"),
        config=ABTestConfig(
            design=design,
            sample_size_per_arm=sample_size,
            poll_seconds=poll,
            restore_on_finish=not keep_split,
        ),
        requested_by=by,
        reason=reason,
    )

    started = fc.start_workflow(AB_TEST_WORKFLOW, request, ab_test_workflow_id(agent))
    fc.console.print(f"started {started}; follow it with: warmline fleet ab-test status {agent}")


@ab_app.command("status")
def ab_status(agent: Annotated[str, typer.Argument()]) -> None:
    """Split, arms, lift with confidence intervals and the blended containment for WFM."""

    state = fc.query_status(ab_test_workflow_id(agent), ABTestState)
    fc.console.print(f"{agent}: {state.phase.value}; split {state.split}")
    report = state.last_report
    if report is None:
        fc.console.print("no analysis yet")
        return
    fc.console.print(
        f"blended containment for WFM: {report.blended_containment or 0:.1%} "
        f"[{report.blended_ci_low or 0:.1%}, {report.blended_ci_high or 0:.1%}]"
    )
    table = Table(title=f"variants against control {report.control}")
    for column in ("variant", "metric", "control", "variant value", "difference", "95% CI", "p"):
        table.add_column(column)
    for comparison in report.comparisons:
        for lift in (comparison.containment, comparison.average_handle_time, comparison.csat):
            table.add_row(
                comparison.variant,
                lift.metric,
                _g(lift.control_value),
                _g(lift.variant_value),
                _g(lift.difference) + (" *" if lift.significant else ""),
                f"[{_g(lift.ci_low)}, {_g(lift.ci_high)}]",
                _g(lift.p_value),
            )
    fc.console.print(table)
    for reason in report.reasons:
        fc.console.print(reason)


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


@ab_app.command("stop")
def ab_stop(
    agent: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by")],
    reason: ReasonOpt = "",
) -> None:
    """Conclude the A/B test now with the evidence so far."""

    fc.signal(ab_test_workflow_id(agent), "stop", StopABTest(by=by, reason=reason))
