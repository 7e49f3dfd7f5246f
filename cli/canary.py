"""``warmline canary``: start a canary rollout and steer it (status, pause, resume, abort,
promote-now).

The rollout is ``CanaryRolloutWorkflow`` on the ``fleet`` task queue with id
``canary-<agent>``; these commands ask the API (``cli.api_client``), which records the caller's
identity as who started or steered it. Temporal refuses a second rollout of the same agent while
one runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli import fleet_views as views
from cli.api_client import call
from models.canary import (
    CanaryStart,
    CanaryState,
    CanaryStatus,
    RolloutConfig,
    RolloutStep,
)
from models.fleet import OperatorNote
from models.fleet_analysis import AnalysisTemplate
from models.shadow import ShadowGate

app = typer.Typer(help="Canary rollouts of AI agent versions.", no_args_is_help=True)

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
    steps: Annotated[str, typer.Option(help="Canary weights in %.")] = "1,5,25,50,100",
    bake: Annotated[float, typer.Option(min=0, help="Bake seconds per step.")] = 3600.0,
    min_sample: Annotated[
        str, typer.Option(help="Canary interactions per step: one number or one per step.")
    ] = "20,50,100,200,200",
    poll: Annotated[float, typer.Option(min=1, help="Seconds between metric polls.")] = 60.0,
    template: Annotated[
        Path | None, typer.Option(exists=True, help="AnalysisTemplate JSON (checks, limits).")
    ] = None,
    require_shadow_report: Annotated[
        bool,
        typer.Option(
            "--require-shadow-report",
            help="Judge the version's shadow answers first; only a passed report starts it.",
        ),
    ] = False,
    reason: ReasonOpt = "",
) -> None:
    """Start a rollout: each step bakes, gathers its sample, is analysed, then advances."""
    rollout = build_rollout(steps, bake, min_sample, poll, template)
    if require_shadow_report:
        rollout = rollout.model_copy(update={"shadow_gate": ShadowGate()})
    request = CanaryStart(agent=agent, canary_version=version, rollout=rollout, reason=reason)
    started = call(lambda api: api.post("/v1/canaries", request.model_dump(mode="json")))
    views.console.print(
        f"started {started['workflow_id']}; follow it with: warmline canary status {agent}"
    )


@app.command()
def status(
    agent: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Where the rollout is, what it waits for, the last analysis and the decisions."""
    view = CanaryStatus.model_validate(call(lambda api: api.get(f"/v1/canaries/{agent}")))
    if as_json:
        print(json.dumps(view.model_dump(mode="json"), indent=2))
        return
    views.console.print(views.canary_view(view))


def _command(agent: str, command: str, reason: str) -> None:
    body = OperatorNote(reason=reason).model_dump(mode="json")
    sent = call(lambda api: api.post(f"/v1/canaries/{agent}/{command}", body))
    views.console.print(f"{sent['sent']} sent to {sent['workflow_id']}")


@app.command()
def pause(agent: Annotated[str, typer.Argument()], reason: ReasonOpt = "") -> None:
    """Hold the current weight; nothing advances or promotes until resume."""
    _command(agent, "pause", reason)


@app.command()
def resume(agent: Annotated[str, typer.Argument()], reason: ReasonOpt = "") -> None:
    """Continue the current step with a fresh wait window."""
    _command(agent, "resume", reason)


@app.command()
def abort(agent: Annotated[str, typer.Argument()], reason: ReasonOpt = "") -> None:
    """End the rollout: the canary is retired and production takes all traffic again."""
    _command(agent, "abort", reason)


@app.command("promote-now")
def promote_now(agent: Annotated[str, typer.Argument()], reason: ReasonOpt = "") -> None:
    """Skip the remaining steps: the canary becomes production, production is kept warm."""
    _command(agent, "promote-now", reason)


@app.command()
def wait(agent: Annotated[str, typer.Argument()]) -> None:
    """Block until the rollout ends; print its outcome."""
    result = call(lambda api: api.wait_result(f"/v1/canaries/{agent}/result"))
    state = CanaryState.model_validate(result)
    views.console.print(f"{agent}: {state.phase.value} at step {state.step_index + 1}")
