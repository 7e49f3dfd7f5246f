"""``warmline canary``: start a canary rollout and steer it (status, pause, resume, abort,
promote-now).

The rollout is ``CanaryRolloutWorkflow`` on the ``fleet`` task queue with id
``canary-<agent>``: any Temporal client can do what these commands do, and Temporal refuses a
second rollout of the same agent while one runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli import fleet_client as fc
from models.canary import (
    AbortRollout,
    CanaryRolloutInput,
    CanaryState,
    CanaryStatus,
    OperatorCommand,
    PauseRollout,
    PromoteNow,
    ResumeRollout,
    RolloutConfig,
    RolloutStep,
)
from models.fleet import CANARY_WORKFLOW, canary_workflow_id
from models.fleet_analysis import AnalysisTemplate

app = typer.Typer(help="Canary rollouts of AI agent versions.", no_args_is_help=True)

ByOpt = Annotated[str, typer.Option("--by", help="Who acts (audited).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (audited).")]


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"{what}: comma-separated numbers, got {text!r}") from exc


def build_rollout(
    steps: str, bake: float, min_sample: str, poll: float, template: Path | None
) -> RolloutConfig:
    weights = _floats(steps, "--steps")
    samples = [int(n) for n in _floats(min_sample, "--min-sample")]
    if len(samples) == 1:
        samples = samples * len(weights)
    if len(samples) != len(weights):
        raise typer.BadParameter("--min-sample: one number, or one per step")
    analysis = AnalysisTemplate.model_validate_json(template.read_text()) if template else None
    return RolloutConfig(
        steps=[
            RolloutStep(weight_percent=w, bake_seconds=bake, min_sample=n)
            for w, n in zip(weights, samples, strict=True)
        ],
        poll_seconds=poll,
        **({"analysis": analysis} if analysis else {}),
    )


@app.command()
def start(
    agent: Annotated[str, typer.Argument(help="Logical agent, e.g. care-bot.")],
    version: Annotated[str, typer.Argument(help="The registered canary version.")],
    by: ByOpt,
    steps: Annotated[str, typer.Option(help="Canary weights in %.")] = "1,5,25,50,100",
    bake: Annotated[float, typer.Option(min=0, help="Bake seconds per step.")] = 3600.0,
    min_sample: Annotated[
        str, typer.Option(help="Canary interactions per step: one number or one per step.")
    ] = "20,50,100,200,200",
    poll: Annotated[float, typer.Option(min=1, help="Seconds between metric polls.")] = 60.0,
    template: Annotated[
        Path | None, typer.Option(exists=True, help="AnalysisTemplate JSON (checks, limits).")
    ] = None,
    reason: ReasonOpt = "",
) -> None:
    """Start a rollout: each step bakes, gathers its sample, is analysed, then advances."""
    request = CanaryRolloutInput(
        agent=agent,
        canary_version=version,
        rollout=build_rollout(steps, bake, min_sample, poll, template),
        requested_by=by,
        reason=reason,
    )

    started = fc.start_workflow(CANARY_WORKFLOW, request, canary_workflow_id(agent))
    fc.console.print(f"started {started}; follow it with: warmline canary status {agent}")


@app.command()
def status(
    agent: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Where the rollout is, what it waits for, the last analysis and the decisions."""

    view = fc.query_status(canary_workflow_id(agent), CanaryStatus)
    if as_json:
        print(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    fc.console.print(fc.canary_view(view))


def _signal(agent: str, name: str, command: OperatorCommand) -> None:
    fc.signal(canary_workflow_id(agent), name, command)


@app.command()
def pause(agent: Annotated[str, typer.Argument()], by: ByOpt, reason: ReasonOpt = "") -> None:
    """Hold the current weight; nothing advances or promotes until resume."""
    _signal(agent, "pause", PauseRollout(by=by, reason=reason))


@app.command()
def resume(agent: Annotated[str, typer.Argument()], by: ByOpt, reason: ReasonOpt = "") -> None:
    """Continue the current step with a fresh wait window."""
    _signal(agent, "resume", ResumeRollout(by=by, reason=reason))


@app.command()
def abort(agent: Annotated[str, typer.Argument()], by: ByOpt, reason: ReasonOpt = "") -> None:
    """End the rollout: the canary is retired and production takes all traffic again."""
    _signal(agent, "abort", AbortRollout(by=by, reason=reason))


@app.command("promote-now")
def promote_now(agent: Annotated[str, typer.Argument()], by: ByOpt, reason: ReasonOpt = "") -> None:
    """Skip the remaining steps: the canary becomes production, production is kept warm."""
    _signal(agent, "promote_now", PromoteNow(by=by, reason=reason))


@app.command()
def wait(agent: Annotated[str, typer.Argument()]) -> None:
    """Block until the rollout ends; print its outcome."""

    state = fc.wait_result(canary_workflow_id(agent), CanaryState)
    fc.console.print(f"{agent}: {state.phase.value} at step {state.step_index + 1}")
