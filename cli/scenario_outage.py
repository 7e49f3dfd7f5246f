"""``warmline demo --scenario outage``: an AI platform outage under steady traffic, watched live.

Customers keep arriving (the demo's scripted traffic, a dozen at a time). A few seconds in, the
care-bot platform goes down in the simulated fleet; the worker's breakers open, interactions
spill to humans (and billing intents stay with billing-bot), WFM receives a capacity event with
the extra volume and agents needed; when the platform comes back the half-open probe closes the
breaker and the session cap ramps traffic back. Everything shown is read from the store, as
``warmline health status`` would show it from another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from cli.demo import drive_interaction
from cli.health import breaker_table, reasons_table, wfm_table
from cli.scenarios import scenario
from cli.stack import RunningStack
from models.health import WFM_EVENTS_STREAM, EndpointHealthReport
from runtime.health_sync import breaker_config_from_settings, fleet_reports
from simulators.ai_fleet import FaultMode, FaultRule
from simulators.traffic import generate_traffic
from store.health import HealthStore
from warmline.default_config import CARE_BOT

CUSTOMERS = 12
STEADY_SECONDS = 8.0
OUTAGE_SECONDS = 22.0
RECOVERY_TIMEOUT_SECONDS = 60.0
AFTERGLOW_SECONDS = 5.0
DRAIN_TIMEOUT_SECONDS = 60.0
PHASES = ("steady", "outage", "recovery", "recovered")


class OutageDemo:
    def __init__(self, stack: RunningStack, console: Console) -> None:
        self.stack = stack
        self.console = console
        self.health = HealthStore(stack.store)
        self.health.init_schema()
        self.phase = PHASES[0]
        self.started = time.time()
        self.outage_at: float | None = None
        self.by_phase: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
        self.failures: list[str] = []
        self.stop = asyncio.Event()
        run = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.started))
        self.scripts = iter(generate_traffic(20_000, seed=23, run=run))

    async def customer(self) -> None:
        while not self.stop.is_set():
            script = next(self.scripts)
            phase = self.phase
            try:
                result = await drive_interaction(self.stack.client, script)
            except Exception as exc:  # reported at the end; the workflow itself lives on
                self.failures.append(f"{script.input['interaction_id']}: {exc!r}")
                continue
            self.by_phase[phase][result.pool.value] += 1
            if result.outcome.value in ("deflected", "callback", "abandoned"):
                self.by_phase[phase][result.outcome.value] += 1

    def reports(self) -> list[EndpointHealthReport]:
        settings = self.stack.settings
        return fleet_reports(
            self.health,
            time.time(),
            breaker_config_from_settings(settings),
            settings.health_stale_seconds,
        )

    def wfm_events(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.stack.store.audit_trail(WFM_EVENTS_STREAM)]

    def spillover_table(self) -> Table:
        table = Table(title="Where finished interactions went, by the phase they started in")
        columns = ("ai_contained", "ai_assisted", "human_only", "deflected", "callback")
        table.add_column("phase")
        for column in columns:
            table.add_column(column.replace("_", " "), justify="right")
        for phase in PHASES:
            counts = self.by_phase[phase]
            table.add_row(phase, *(str(counts[c]) for c in columns))
        return table

    async def view(self) -> Group:
        reports, events = await asyncio.gather(
            asyncio.to_thread(self.reports), asyncio.to_thread(self.wfm_events)
        )
        clock = time.time() - self.started
        headline = {
            "steady": "steady traffic; every breaker closed",
            "outage": f"care-bot platform DOWN (injected in the simulated fleet); {CUSTOMERS} "
            "customers keep arriving",
            "recovery": "care-bot back up; waiting for the half-open probe to close the breaker",
            "recovered": "recovered: traffic returns to AI, ramped by the session cap",
        }[self.phase]
        return Group(
            Panel(f"[bold]t={clock:5.1f}s[/bold]  {headline}", title="outage scenario"),
            breaker_table(reports),
            reasons_table(reports),
            self.spillover_table(),
            wfm_table(events),
        )

    def care_bot_closed(self) -> bool:
        states = [r.breaker for r in self.reports() if r.name == CARE_BOT]
        return bool(states) and all(s == "closed" for s in states)

    async def run(self) -> int:
        # During an outage every failed AI call is logged with a traceback by the SDK; that is
        # the point of the scenario, and it would scroll the live view away.
        activity_log = logging.getLogger("temporalio.activity")
        level = activity_log.level
        activity_log.setLevel(logging.ERROR)
        customers = [asyncio.create_task(self.customer()) for _ in range(CUSTOMERS)]
        try:
            with Live(await self.view(), console=self.console, refresh_per_second=4) as live:

                async def show_until(done: Any, timeout: float) -> None:
                    deadline = time.time() + timeout
                    while time.time() < deadline and not await asyncio.to_thread(done):
                        live.update(await self.view())
                        await asyncio.sleep(0.25)

                await show_until(lambda: False, STEADY_SECONDS)
                self.phase, self.outage_at = "outage", time.time()
                self.stack.fleet.set_fault(FaultRule(name=CARE_BOT, mode=FaultMode.DOWN))
                await show_until(lambda: False, OUTAGE_SECONDS)
                self.phase = "recovery"
                self.stack.fleet.clear_faults()
                await show_until(self.care_bot_closed, RECOVERY_TIMEOUT_SECONDS)
                self.phase = "recovered"
                await show_until(lambda: False, AFTERGLOW_SECONDS)
                self.stop.set()
                live.update(await self.view())
                await asyncio.wait(customers, timeout=DRAIN_TIMEOUT_SECONDS)
                live.update(await self.view())
        finally:
            activity_log.setLevel(level)
            for task in customers:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*customers, return_exceptions=True)
        return self.summary()

    def summary(self) -> int:
        events = [
            e
            for e in self.wfm_events()
            if self.outage_at is not None and str(e.get("endpoint", "")).startswith(CARE_BOT)
        ]
        for event in events:
            self.console.print(f"WFM: {event['what_changed']}")
        opened = [e for e in events if e["to_state"] == "open"]
        if opened and self.outage_at is not None:
            first = min(datetime.fromisoformat(e["emitted_at"]).timestamp() for e in opened)
            self.console.print(
                f"First WFM capacity event {max(0.0, first - self.outage_at):.1f} s after the "
                "outage began (reference best practice: under 60 s)."
            )
        for failure in self.failures[:10]:
            self.console.print(f"[yellow]driver gave up on[/yellow] {failure}")
        total = sum(sum(c.values()) for c in self.by_phase.values())
        self.console.print(
            f"{total} interactions finished while the demo watched; {len(self.failures)} driver "
            "call(s) gave up waiting (their workflows keep running durably)."
        )
        restored = any(e["kind"] == "capacity_restored" for e in events)
        return 0 if opened and restored else 1


@scenario("outage")
async def run_outage(stack: RunningStack, console: Console) -> int:
    return await OutageDemo(stack, console).run()
