"""``warmline setup``: the namespace, its retention, Warmline's search attributes and Schedules.

A deploy step with admin rights, run before workers start (compose runs it as the one-off
``warmline-setup`` service); workers only check the result. ``--cloud`` prints the ``tcld``
commands that do the same on Temporal Cloud, where a namespace's clients may not.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from temporalio.service import RPCError

from runtime.schedules import ensure_schedules
from runtime.settings import load_settings
from runtime.temporal_client import connect
from runtime.temporal_setup import SetupReport, SetupRequired, apply_setup, cloud_commands

console = Console()


async def run_setup(retention_days: int | None = None) -> SetupReport:
    settings = load_settings()
    client = await connect(settings)
    report = await apply_setup(
        client,
        settings.temporal_namespace,
        retention_days or settings.temporal_retention_days,
    )
    await ensure_schedules(client, settings)
    return report


def setup(
    cloud: Annotated[
        bool, typer.Option("--cloud", help="Print the Temporal Cloud (tcld) commands instead.")
    ] = False,
    retention_days: Annotated[
        int | None,
        typer.Option(min=1, help="History retention; default WARMLINE_TEMPORAL_RETENTION_DAYS."),
    ] = None,
) -> None:
    """Create or update the namespace (retention) and register Warmline's search attributes."""
    settings = load_settings()
    days = retention_days or settings.temporal_retention_days
    if cloud:
        for line in cloud_commands(settings.temporal_namespace, days):
            print(line)
        return
    try:
        report = asyncio.run(run_setup(days))
    except SetupRequired as err:
        console.print(f"[red]setup failed:[/red] {err}")
        raise typer.Exit(1) from None
    except RPCError as err:
        console.print(
            f"[red]Temporal refused the set-up ({err.status.name}: {err.message}).[/red] "
            "It needs admin rights on a self-hosted cluster; on Temporal Cloud run the "
            "commands of `warmline setup --cloud` instead."
        )
        raise typer.Exit(1) from None
    for line in report.lines():
        console.print(line)
