"""``warmline fleet``: the model registry (list, register, set-weight, retire) and A/B tests.

Through the API (``cli.api_client``): each registry command stores one new routing config
version authored by the caller's identity and one event on the ``fleet`` audit stream; workers
route on it within seconds. A new version registers as canary at weight 0 (it takes no traffic
until a rollout or an operator gives it some), with the capability profile of the agent's
production version unless told otherwise.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cli import fleet_views as views
from cli.api_client import call
from cli.shadow_views import print_shadow_report
from models.commands import RegisterVersion, RegistryEdit
from models.fleet import (
    ABDesign,
    ABTestConfig,
    ABTestStart,
    ABTestState,
    OperatorNote,
    RegistryChangeResult,
    RegistryView,
    RetireEndpoint,
    SetWeight,
)
from models.routing import EndpointRole
from models.shadow import ShadowReport

app = typer.Typer(help="AI agent versions: registry, weights, A/B tests.", no_args_is_help=True)
ab_app = typer.Typer(help="A/B tests between versions of one agent.", no_args_is_help=True)
app.add_typer(ab_app, name="ab-test")

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (audited).")]


@app.command("list")
def list_versions(
    agent: Annotated[str | None, typer.Option(help="Only this agent.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Every registered version with its role, weight and share of its agent's traffic."""
    view = RegistryView.model_validate(call(lambda api: api.get("/v1/fleet/registry", agent=agent)))
    if as_json:
        print(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    views.console.print(views.registry_view_table(view))


@app.command("shadow-report")
def shadow_report(
    endpoint: Annotated[str, typer.Argument(help="The shadow version, name:version.")],
    since_hours: Annotated[
        float | None, typer.Option(min=0.001, help="Only answers this recent.")
    ] = None,
    min_answers: Annotated[int, typer.Option(min=1, help="Fewer: inconclusive.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """A shadow version's answers judged against production's: agreement, policy, escalation,
    errors, cost and latency, and the verdict a canary's shadow gate would get."""
    report = ShadowReport.model_validate(
        call(
            lambda api: api.get(
                "/v1/fleet/shadow-report",
                endpoint=endpoint,
                since_hours=since_hours,
                min_answers=min_answers,
            )
        )
    )
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    print_shadow_report(report, views.console)


def _show(result: RegistryChangeResult) -> None:
    """What changed, and the touched agents' registry as it now stands."""
    views.console.print(f"v{result.config_version}: {'; '.join(result.reasons)}")
    views.console.print(
        views.registry_view_table(
            RegistryView(config_version=result.config_version, endpoints=result.endpoints)
        )
    )


def _edit(body: RegistryEdit) -> None:
    _show(
        RegistryChangeResult.model_validate(
            call(lambda api: api.post("/v1/fleet/changes", body.model_dump(mode="json")))
        )
    )


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
    body = RegisterVersion(
        agent=agent,
        version=version,
        url=url,
        role=role,
        weight=weight,
        like=like,
        capability=_pairs(capability, "--capability"),
        region=region,
        cost_per_1k_tokens=cost_per_1k,
        max_concurrent=max_concurrent,
        model=model,
        reason=reason,
    )
    result = call(lambda api: api.post("/v1/fleet/versions", body.model_dump(mode="json")))
    _show(RegistryChangeResult.model_validate(result))


@app.command("set-weight")
def set_weight(
    agent: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    weight: Annotated[float, typer.Argument(min=0)],
    reason: ReasonOpt = "",
) -> None:
    """Set a live version's weight (relative to the agent's other live versions)."""
    _edit(
        RegistryEdit(
            changes=[SetWeight(agent=agent, version=version, weight=weight)], reason=reason
        )
    )


@app.command()
def retire(
    agent: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    force: Annotated[
        bool, typer.Option(help="Even if it carries all of the agent's traffic.")
    ] = False,
    reason: ReasonOpt = "",
) -> None:
    """Retire a version: weight 0, never called again."""
    change = RetireEndpoint(agent=agent, version=version, force=force)
    _edit(RegistryEdit(changes=[change], reason=reason))


@ab_app.command("start")
def ab_start(
    agent: Annotated[str, typer.Argument()],
    versions: Annotated[list[str], typer.Argument(help="Arms; the first is the control.")],
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
    request = ABTestStart(
        agent=agent,
        versions=versions,
        split=_pairs(split, "--split"),
        config=ABTestConfig(
            design=design,
            sample_size_per_arm=sample_size,
            poll_seconds=poll,
            restore_on_finish=not keep_split,
        ),
        reason=reason,
    )
    started = call(lambda api: api.post("/v1/ab-tests", request.model_dump(mode="json")))
    views.console.print(
        f"started {started['workflow_id']}; follow it with: warmline fleet ab-test status {agent}"
    )


@ab_app.command("status")
def ab_status(agent: Annotated[str, typer.Argument()]) -> None:
    """Split, arms, lift with confidence intervals and the blended containment for WFM."""
    state = ABTestState.model_validate(call(lambda api: api.get(f"/v1/ab-tests/{agent}")))
    views.console.print(f"{agent}: {state.phase.value}; split {state.split}")
    report = state.last_report
    if report is None:
        views.console.print("no analysis yet")
        return
    views.console.print(
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
    views.console.print(table)
    for reason in report.reasons:
        views.console.print(reason)


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


@ab_app.command("stop")
def ab_stop(agent: Annotated[str, typer.Argument()], reason: ReasonOpt = "") -> None:
    """Conclude the A/B test now with the evidence so far."""
    note = OperatorNote(reason=reason).model_dump(mode="json")
    sent = call(lambda api: api.post(f"/v1/ab-tests/{agent}/stop", note))
    views.console.print(f"{sent['sent']} sent to {sent['workflow_id']}")
