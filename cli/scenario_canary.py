"""``warmline demo --scenario canary``: a good canary promoted, a bad one rolled back, live.

Customers keep arriving (the demo's scripted traffic). A new care-bot version is registered
as canary and ``CanaryRolloutWorkflow`` walks it through 25 -> 50 -> 100 % with short bake
times, analysing containment, CSAT, handle time, escalation reasons, cost, errors and p95
latency against production at each step: it is promoted and the old production is kept warm.
Then a second version, made worse in the simulated fleet (it hands most conversations to a
human), starts the same way and is rolled back automatically at the first step where the
evidence is significant. The display is the workflow's own ``status`` query.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from cli.demo import drive_interaction
from cli.fleet_views import canary_view, registry_table
from cli.scenarios import scenario
from cli.stack import RunningStack
from models.canary import (
    CanaryPhase,
    CanaryRolloutInput,
    CanaryState,
    CanaryStatus,
    RolloutConfig,
    RolloutStep,
)
from models.fleet import (
    CANARY_WORKFLOW,
    FLEET_AUDIT_STREAM,
    FLEET_TASK_QUEUE,
    RegisterEndpoint,
    canary_workflow_id,
)
from models.fleet_analysis import AnalysisTemplate, default_checks
from models.routing import EndpointRole, RoutingConfig
from simulators.ai_fleet import FaultMode, FaultRule
from simulators.traffic import generate_traffic
from warmline.default_config import (
    CARE_BOT,
    HUMAN_ONLY_INTENTS,
    default_routing_config,
    fleet_endpoint_url,
)
from warmline.intents import OUT_OF_SCOPE
from warmline.registry import apply_changes, versions_of

CUSTOMERS = 16
STEPS = (25.0, 50.0, 100.0)
BAKE_SECONDS = 20.0
SETTLE_SECONDS = 15.0
"""Most escalated demo conversations (queue + human) close within this."""
MIN_SAMPLE = 6
POLL_SECONDS = 2.0
REFRESH_SECONDS = 0.5
ROLLOUT_TIMEOUT_SECONDS = 240.0
DRAIN_TIMEOUT_SECONDS = 30.0
BAD_ESCALATION_RATE = 0.9
"""Share of conversations the bad version hands to a human on its first turn."""


def demo_rollout() -> RolloutConfig:
    """Short bakes and small samples so a rollout fits in a demo; the checks are the defaults."""
    checks = [check.model_copy(update={"min_sample": MIN_SAMPLE}) for check in default_checks()]
    return RolloutConfig(
        steps=[
            RolloutStep(weight_percent=w, bake_seconds=BAKE_SECONDS, min_sample=MIN_SAMPLE)
            for w in STEPS
        ],
        poll_seconds=POLL_SECONDS,
        settle_seconds=SETTLE_SECONDS,
        max_step_seconds=ROLLOUT_TIMEOUT_SECONDS,
        inconclusive_grace_seconds=BAKE_SECONDS * 2,
        analysis=AnalysisTemplate(checks=checks),
    )


def fresh_version(config: RoutingConfig, base: str) -> str:
    """``base`` unless a previous demo run registered it already: then ``base.N``."""
    taken = {e.version for e in versions_of(config, CARE_BOT)}
    candidate, n = base, 1
    while candidate in taken:
        candidate, n = f"{base}.{n}", n + 1
    return candidate


class CanaryDemo:
    def __init__(self, stack: RunningStack, console: Console) -> None:
        self.stack = stack
        self.console = console
        self.stop = asyncio.Event()
        self.served: Counter[str] = Counter()
        self.failures: list[str] = []
        # A new seed per run: facts are idempotent on the interaction id. Customers whose
        # intent always goes to a person only queue at the ACD here; they are left out.
        self.scripts = (
            script
            for script in generate_traffic(50_000, seed=int(time.time()) % 1_000_000)
            if script.intent not in HUMAN_ONLY_INTENTS and script.intent != OUT_OF_SCOPE
        )

    async def customer(self) -> None:
        while not self.stop.is_set():
            script = next(self.scripts)
            try:
                result = await drive_interaction(self.stack.client, script)
            except Exception as exc:  # shown at the end; the workflow itself lives on
                self.failures.append(f"{script.input['interaction_id']}: {exc!r}")
                continue
            self.served[result.model_version or result.pool.value] += 1

    def config(self) -> RoutingConfig:
        config = self.stack.store.active_routing_config()
        if config is None:
            config = self.stack.store.save_routing_config(
                default_routing_config(self.stack.settings.ai_fleet_url), "bootstrap"
            )
        return config

    def register_canary(self, version: str) -> None:
        production = next(
            e for e in versions_of(self.config(), CARE_BOT) if e.role is EndpointRole.PRODUCTION
        )
        endpoint = production.model_copy(
            update={
                "version": version,
                "role": EndpointRole.CANARY,
                "weight": 0.0,
                "url": fleet_endpoint_url(self.stack.settings.ai_fleet_url, CARE_BOT, version),
            }
        )
        self.stack.store.apply_registry_edit(
            f"demo:register:{version}:{time.time_ns()}",
            "demo@warmline",
            lambda config: apply_changes(config, [RegisterEndpoint(endpoint=endpoint)]),
            stream=FLEET_AUDIT_STREAM,
            kind="registry_change",
            payload={"reason": "canary demo"},
        )

    async def rollout(self, version: str, title: str) -> CanaryState:
        handle = await self.stack.client.start_workflow(
            CANARY_WORKFLOW,
            CanaryRolloutInput(
                agent=CARE_BOT,
                canary_version=version,
                rollout=demo_rollout(),
                requested_by="demo@warmline",
                reason=title,
            ),
            id=canary_workflow_id(CARE_BOT),
            task_queue=FLEET_TASK_QUEUE,
            result_type=CanaryState,
        )
        deadline = time.monotonic() + ROLLOUT_TIMEOUT_SECONDS
        with Live(console=self.console, refresh_per_second=4) as live:
            while True:
                status = await handle.query("status", result_type=CanaryStatus)
                live.update(self.view(title, status))
                if status.state.terminal or time.monotonic() > deadline:
                    break
                await asyncio.sleep(REFRESH_SECONDS)
        if not status.state.terminal:
            await handle.signal("abort", {"by": "demo", "reason": "demo timeout"})
        self.console.print()
        return await handle.result()

    def view(self, title: str, status: CanaryStatus) -> Group:
        traffic = Table(title="traffic since the demo began (by answering version)")
        traffic.add_column("served by")
        traffic.add_column("interactions", justify="right")
        for name, count in sorted(self.served.items()):
            traffic.add_row(name, str(count))
        return Group(f"[bold]{title}[/bold]", canary_view(status), traffic)

    async def run(self) -> int:
        good = fresh_version(self.config(), "2026.11")
        self.register_canary(good)
        customers = [asyncio.create_task(self.customer()) for _ in range(CUSTOMERS)]
        try:
            first = await self.rollout(good, f"Rollout 1: care-bot {good} (healthy)")
            self.console.print(f"[bold]{good}: {first.phase.value}[/bold]")
            bad = fresh_version(self.config(), "2026.12")
            self.register_canary(bad)
            self.stack.fleet.set_fault(
                FaultRule(
                    name=CARE_BOT, version=bad, mode=FaultMode.ESCALATE, rate=BAD_ESCALATION_RATE
                )
            )
            second = await self.rollout(
                bad, f"Rollout 2: care-bot {bad} (hands {BAD_ESCALATION_RATE:.0%} to humans)"
            )
            self.console.print(f"[bold]{bad}: {second.phase.value}[/bold]")
        finally:
            self.stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*customers), DRAIN_TIMEOUT_SECONDS)
        self.summary()
        ok = first.phase is CanaryPhase.PROMOTED and second.phase is CanaryPhase.ROLLED_BACK
        return 0 if ok else 1

    def summary(self) -> None:
        self.console.print(registry_table(self.config(), CARE_BOT))
        trail = Table(title="fleet audit trail (latest)")
        for column in ("at", "kind", "actor", "what"):
            trail.add_column(column)
        for event in self.stack.store.audit_trail(FLEET_AUDIT_STREAM)[-12:]:
            payload: dict[str, Any] = event.payload
            what = (payload.get("reasons") or [""])[0]
            trail.add_row(event.at[11:19], event.kind, event.actor, str(what)[:90])
        self.console.print(trail)
        for failure in self.failures[:5]:
            self.console.print(f"[red]failed[/red] {failure}")
        self.console.print(f"Temporal UI: {self.stack.ui_url} (workflow id canary-{CARE_BOT})")


@scenario("canary")
async def canary_scenario(stack: RunningStack, console: Console) -> int:
    return await CanaryDemo(stack, console).run()
