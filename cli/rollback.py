"""``warmline rollback``: take traffic off a bad AI version, or send an agent's work to humans.

``start --mode instant`` gives the bad version's share to the target at once (the target must
be warm); ``graduated`` moves it in steps (``--step-percent`` or ``--intervals``, one every
``--interval`` seconds); ``failover`` sets every AI version of the agents to weight 0 and tells
WFM. The workflow is ``RollbackWorkflow`` (id ``rollback-<agent>``), started through the API
with the caller's identity as requester; the health monitor starts the same workflow with
``runtime.rollback_start.start_rollback``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import fleet_views as views
from cli.api_client import WarmlineApi, call
from models.fleet import RollbackMode, RollbackStart, RollbackState, rollback_agent

app = typer.Typer(help="Instant, graduated or to-human rollbacks.", no_args_is_help=True)


class CliMode(StrEnum):
    INSTANT = "instant"
    GRADUATED = "graduated"
    FAILOVER = "failover"


MODES = {
    CliMode.INSTANT: RollbackMode.INSTANT,
    CliMode.GRADUATED: RollbackMode.GRADUATED,
    CliMode.FAILOVER: RollbackMode.FAILOVER_TO_HUMAN,
}


@app.command()
def start(
    mode: Annotated[CliMode, typer.Option(help="instant | graduated | failover (to human).")],
    agent: Annotated[
        list[str], typer.Option(help="Agent; repeatable for failover (none = every agent).")
    ] = [],  # noqa: B006 - typer needs a literal default
    from_version: Annotated[str | None, typer.Option("--from", help="Version to drain.")] = None,
    to_version: Annotated[str | None, typer.Option("--to", help="Version to restore.")] = None,
    step_percent: Annotated[float, typer.Option(min=0.1, max=100)] = 10.0,
    intervals: Annotated[int | None, typer.Option(min=1, help="Instead of --step-percent.")] = None,
    interval: Annotated[float, typer.Option(min=1, help="Seconds between shifts.")] = 60.0,
    expected_minutes: Annotated[
        float | None, typer.Option(help="Failover: expected duration, for WFM.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (audited, sent to WFM).")] = "",
    wait: Annotated[bool, typer.Option(help="Wait for the rollback to finish.")] = False,
) -> None:
    """Start a rollback workflow."""
    workflow_mode = MODES[mode]
    if workflow_mode is not RollbackMode.FAILOVER_TO_HUMAN and len(agent) != 1:
        raise typer.BadParameter("--agent: exactly one agent for instant and graduated")
    request = RollbackStart(
        mode=workflow_mode,
        agent=agent[0] if workflow_mode is not RollbackMode.FAILOVER_TO_HUMAN else None,
        agents=agent if workflow_mode is RollbackMode.FAILOVER_TO_HUMAN else [],
        from_version=from_version,
        to_version=to_version,
        step_percent=step_percent,
        intervals=intervals,
        interval_seconds=interval,
        expected_duration_minutes=expected_minutes,
        reason=reason,
    )

    def work(api: WarmlineApi) -> tuple[str, dict[str, Any] | None]:
        started = api.post("/v1/rollbacks", request.model_dump(mode="json"))
        if not wait:
            return started["workflow_id"], None
        return started["workflow_id"], api.wait_result(
            "/v1/rollbacks/result", agent=rollback_agent(request)
        )

    workflow_id, result = call(work)
    if result is None:
        views.console.print(f"started {workflow_id}; follow it with: warmline rollback status")
        return
    _show(RollbackState.model_validate(result))


@app.command()
def status(
    agent: Annotated[
        str | None, typer.Argument(help="Agent; none for an all-agent failover.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The plan, the shifts applied so far and the WFM event, if any."""
    state = RollbackState.model_validate(
        call(lambda api: api.get("/v1/rollbacks/status", agent=agent))
    )
    if as_json:
        print(json.dumps(state.model_dump(mode="json"), indent=2))
        return
    _show(state)


def _show(state: RollbackState) -> None:
    views.console.print(f"{state.mode.value} rollback: {state.phase.value}")
    if state.plan is not None:
        plan = state.plan
        views.console.print(
            f"{plan.agent}: {plan.from_version} -> {plan.to_version}, "
            f"{state.shifts_applied}/{len(plan.shifts)} shifts"
        )
        for index, shares in enumerate(plan.shifts):
            done = "x" if index < state.shifts_applied else " "
            views.console.print(
                f"  [{done}] " + ", ".join(f"{v} {s:g}%" for v, s in shares.items())
            )
    if state.wfm_event is not None:
        event = state.wfm_event
        views.console.print(
            f"WFM told: {event.kind.value}, ~{event.ai_interactions_per_minute:g} interactions/"
            f"min to humans ({', '.join(event.agents)})"
        )
    for reason in state.reasons:
        views.console.print(f"- {reason}")
