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
from pydantic import BaseModel, ValidationError
from rich.console import Console

from models import acd, canary, fleet, interaction, routing, supervision
from runtime.settings import load_settings

app = typer.Typer(
    name="warmline",
    help="Durable orchestration of AI and human agents for contact centers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Versioned routing config in the store.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"warmline {version('warmline')}")
        raise typer.Exit()


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
                f"ACD {settings.acd_url}. `warmline` commands on this machine act through the "
                f"API with the local key in {settings.data_dir / 'api-token'}. Ctrl-C to stop."
            )
            await asyncio.Event().wait()

    raise typer.Exit(_run(main()))


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
    from cli.demo import render_shadow_report, render_summary, run_demo
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
            await render_shadow_report(stack, console)
            from cli.scenario_handoff import show_handoffs

            await show_handoffs(stack, console)
            if stack.desk is not None:
                d = stack.desk.stats
                console.print(
                    f"Supervisors reviewed held AI drafts: {d.approved} approved, "
                    f"{d.edited} edited, {d.rejected} rejected."
                )
            return 0 if summary.total >= interactions else 1

    raise typer.Exit(_run(main()))


@app.command()
def worker() -> None:
    """Run an interaction worker against the configured Temporal, ACD and AI endpoints."""
    from workers.main import run_worker

    raise typer.Exit(_run(run_worker(load_settings())))


@app.callback()
def options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Bearer token for the API (an OIDC access token or a Warmline API key); "
            "default: WARMLINE_API_TOKEN.",
        ),
    ] = None,
) -> None:
    """Durable orchestration of AI and human agents for contact centers."""
    from cli.api_client import use_token

    use_token(token)


@app.command()
def api() -> None:
    """Serve the HTTP API (reviews, rollouts, routing, WFM reads, access, the codec server);
    Prometheus metrics also on WARMLINE_METRICS_PORT for an internal scraper."""
    import uvicorn

    from api.app import create_api_app
    from runtime.audit_keys import open_store
    from runtime.logs import configure_logging
    from runtime.metrics import start_metrics_server

    settings = load_settings()
    configure_logging(settings)
    store = open_store(settings)
    served = create_api_app(store, settings)  # refuses without its keys, before binding a port
    start_metrics_server(settings.metrics_port, addr=settings.metrics_host)
    # log_config=None: uvicorn's loggers go through the handler above (JSON when configured).
    uvicorn.run(served, host=settings.api_host, port=settings.api_port, log_config=None)


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


@config_app.command("show")
def config_show(version: Annotated[int | None, typer.Option()] = None) -> None:
    """Print the active (or a given) routing config version as JSON."""
    from cli.api_client import call

    path = f"/v1/routing-config/versions/{version}" if version else "/v1/routing-config"
    print(json.dumps(call(lambda api: api.get(path)), indent=2))


@config_app.command("versions")
def config_versions() -> None:
    """List stored routing config versions with author and time."""
    from cli.api_client import call

    for row in call(lambda api: api.get("/v1/routing-config/versions")):
        console.print(f"v{row['version']}  {row['created_at']}  {row['author']}")


@config_app.command("set")
def config_set(file: Annotated[Path, typer.Argument(exists=True, readable=True)]) -> None:
    """Store a routing config document as a new version, authored by you (workers pick it up
    within seconds)."""
    from cli.api_client import call

    try:
        config = routing.RoutingConfig.model_validate_json(file.read_text())
    except ValidationError as exc:
        console.print(f"[red]{file} is not a routing config:[/red] {exc}")
        raise typer.Exit(2) from exc
    body = config.model_dump(mode="json")
    saved = call(lambda api: api.post("/v1/routing-config", body))
    console.print(f"stored routing config v{saved['version']} by {saved['author']}")


def _mount_capabilities() -> None:
    """Sub-commands live in their own modules, one per capability."""
    from cli import (
        access,
        audit,
        canary,
        classifier,
        corpus,
        db,
        fleet,
        health,
        redact,
        retention,
        rollback,
        safety,
        setup,
        supervise,
        wfm,
    )
    from cli import routing as routing_cli

    app.command("setup")(setup.setup)

    for name, module in (
        ("access", access),
        ("classifier", classifier),
        ("fleet", fleet),
        ("canary", canary),
        ("rollback", rollback),
        ("supervise", supervise),
        ("health", health),
        ("corpus", corpus),
        ("audit", audit),
        ("retention", retention),
        ("db", db),
        ("safety", safety),
        ("wfm", wfm),
        ("routing", routing_cli),
    ):
        app.add_typer(module.app, name=name)
    app.command("redact")(redact.redact)


_mount_capabilities()


def main() -> None:
    """The ``warmline`` command. Every sub-command's exit code is kept, then the process leaves
    without interpreter teardown: the Temporal SDK's native threads have crashed it at exit
    (SIGABRT) after the work was done, turning a success into a failure."""
    from runtime.api_key_secret import ApiKeySecretError
    from runtime.secret_files import MissingSecret
    from warmline.audit import AuditKeyError

    try:
        app()
        code = 0
    except (MissingSecret, AuditKeyError, ApiKeySecretError) as exc:
        # No key, or a broken one: refuse to start, saying which setting (never invent one).
        Console(stderr=True).print(f"[red]warmline: refusing to start:[/red] {exc}", soft_wrap=True)
        code = 2
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
