"""The ``warmline`` command: embedded stack, demo, production processes, schemas, config."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console

from models import acd, canary, fleet, interaction, routing, supervision
from runtime.settings import Settings, load_settings

app = typer.Typer(
    name="warmline",
    help="Durable orchestration of AI and human agents for contact centers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Versioned routing config in the store.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()

PUBLIC_SCHEMAS: dict[str, type[BaseModel]] = {
    "InteractionInput": interaction.InteractionInput,
    "CustomerMessage": interaction.CustomerMessage,
    "Reply": interaction.Reply,
    "AwaitReply": interaction.AwaitReply,
    "RequestHuman": interaction.RequestHuman,
    "SwitchChannel": interaction.SwitchChannel,
    "ChannelSwitched": interaction.ChannelSwitched,
    "HumanAccepted": interaction.HumanAccepted,
    "HumanResolved": interaction.HumanResolved,
    "EndInteraction": interaction.EndInteraction,
    "StatusView": interaction.StatusView,
    "InteractionResult": interaction.InteractionResult,
    "ContextPackage": acd.ContextPackage,
    "TransferRequest": acd.TransferRequest,
    "RoutingConfig": routing.RoutingConfig,
    "ReviewResponse": supervision.ReviewResponse,
    "SupervisionPolicy": supervision.SupervisionPolicy,
    "CanaryRolloutInput": canary.CanaryRolloutInput,
    "CanaryStatus": canary.CanaryStatus,
    "RollbackInput": fleet.RollbackInput,
    "ABTestInput": fleet.ABTestInput,
    "ABTestState": fleet.ABTestState,
}


def _run(main: Coroutine[Any, Any, int | None]) -> int:
    """Run to completion; SIGTERM behaves like Ctrl-C so every component shuts down cleanly."""

    async def wrapper() -> int | None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await main

    try:
        return asyncio.run(wrapper()) or 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("stopped")
        return 0


def _exit(code: int) -> None:
    """Leave without interpreter teardown: the SDK's native threads have crashed it at exit."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@app.command()
def dev() -> None:
    """Start Temporal (SQLite file), workers, API and simulators; Ctrl-C stops them all."""
    from cli.stack import embedded_stack

    settings = load_settings()

    async def main() -> None:
        # No simulated supervisors here: reviews wait for you (`warmline supervise`, `temporal`).
        async with embedded_stack(
            settings, ai_latency_ms=80, handle_time_scale=0.02, supervisors=0
        ) as stack:
            console.print(
                f"[bold green]Warmline is running.[/bold green] Temporal "
                f"{settings.temporal_address} (UI {stack.ui_url}), API "
                f"http://127.0.0.1:{settings.api_port}, AI fleet {settings.ai_fleet_url}, "
                f"ACD {settings.acd_url}. Ctrl-C to stop."
            )
            await asyncio.Event().wait()

    _exit(_run(main()))


@app.command()
def demo(
    interactions: Annotated[int, typer.Option(min=1, help="How many interactions.")] = 300,
    seed: Annotated[int, typer.Option(help="Traffic seed.")] = 7,
    concurrency: Annotated[int, typer.Option(min=1, help="Concurrent customers.")] = 24,
    scenario: Annotated[
        str, typer.Option(help="default, or a named scenario (canary, outage, ...)")
    ] = "default",
) -> None:
    """Run realistic traffic end to end on the embedded stack and print the WFM summary."""
    from cli.demo import render_summary, run_demo
    from cli.scenarios import load_all
    from cli.stack import embedded_stack

    scenarios = load_all()
    if scenario != "default" and scenario not in scenarios:
        available = ", ".join(["default", *sorted(scenarios)])
        raise typer.BadParameter(f"unknown scenario {scenario!r}; available: {available}")
    settings = load_settings()

    async def main() -> int:
        async with embedded_stack(
            settings,
            ai_latency_ms=60,
            human_agents={"general": 6, "billing": 3, "retention": 3, "fraud": 2, "tech": 3},
            handle_time_scale=0.01,
        ) as stack:
            console.print(f"Embedded stack up; Temporal UI at {stack.ui_url}")
            if scenario != "default":
                return await scenarios[scenario](stack, console)
            summary = await run_demo(stack, interactions, seed, concurrency, console)
            render_summary(summary, stack.ui_url, console)
            if stack.desk is not None:
                d = stack.desk.stats
                console.print(
                    f"Supervisors reviewed held AI drafts: {d.approved} approved, "
                    f"{d.edited} edited, {d.rejected} rejected."
                )
            return 0 if summary.total >= interactions else 1

    _exit(_run(main()))


@app.command()
def worker() -> None:
    """Run an interaction worker against the configured Temporal, ACD and AI endpoints."""
    from workers.main import run_worker

    _exit(_run(run_worker(load_settings())))


@app.command()
def api() -> None:
    """Serve the HTTP API (WFM polling, routing config, /metrics, the codec server)."""
    import uvicorn

    from api.app import create_api_app
    from store.repository import Store

    settings = load_settings()
    store = Store.from_url(settings.resolved_database_url)
    uvicorn.run(create_api_app(store, settings), host="0.0.0.0", port=settings.api_port)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Directory for one file per schema.")] = None,
) -> None:
    """Export the JSON Schemas of the public workflow contract."""
    schemas = {name: model.model_json_schema() for name, model in PUBLIC_SCHEMAS.items()}
    if out is None:
        print(json.dumps(schemas, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, body in schemas.items():
        (out / f"{name}.schema.json").write_text(json.dumps(body, indent=2) + "\n")
    console.print(f"wrote {len(schemas)} schemas to {out}")


def _store(settings: Settings) -> Any:
    from store.repository import Store

    return Store.from_url(settings.resolved_database_url)


@config_app.command("show")
def config_show(version: Annotated[int | None, typer.Option()] = None) -> None:
    """Print the active (or a given) routing config version as JSON."""
    store = _store(load_settings())
    config = store.get_routing_config(version) if version else store.active_routing_config()
    if config is None:
        console.print("no routing config stored yet (workers store the default on first use)")
        raise typer.Exit(1)
    print(config.model_dump_json(indent=2))


@config_app.command("versions")
def config_versions() -> None:
    """List stored routing config versions with author and time."""
    for version, author, created in _store(load_settings()).list_routing_configs():
        console.print(f"v{version}  {created}  {author}")


@config_app.command("set")
def config_set(
    file: Annotated[Path, typer.Argument(exists=True, readable=True)],
    author: Annotated[str, typer.Option(help="Who makes this change (audited).")],
) -> None:
    """Store a routing config document as a new version (workers pick it up within seconds)."""
    settings = load_settings()
    store = _store(settings)
    config = routing.RoutingConfig.model_validate_json(file.read_text())
    saved = store.save_routing_config(config, author)
    console.print(f"stored routing config v{saved.version} by {author}")


def _mount_capabilities() -> None:
    """Sub-commands live in their own modules, one per capability."""
    from cli import canary, classifier, fleet, health, rollback, supervise, wfm

    for name, module in (
        ("classifier", classifier),
        ("fleet", fleet),
        ("canary", canary),
        ("rollback", rollback),
        ("supervise", supervise),
        ("health", health),
        ("wfm", wfm),
    ):
        app.add_typer(module.app, name=name)


_mount_capabilities()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
