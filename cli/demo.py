"""``warmline demo``: realistic traffic through the embedded stack, then the WFM summary.

The driver behaves like a CCaaS platform: it starts each interaction with a Temporal client,
sends the customer's turns as ``send_message`` updates, asks for humans, goes silent, and waits
for the outcome. Everything it prints afterwards is read back from the store, the same facts a
WFM platform would poll.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from cli.shadow_views import print_shadow_report
from cli.stack import RunningStack
from models.interaction import (
    INTERACTION_TASK_QUEUE,
    INTERACTION_WORKFLOW,
    InteractionResult,
    Reply,
    interaction_workflow_id,
)
from models.routing import EndpointRole
from models.shadow import ShadowGate, ShadowReportRequest
from runtime.shadow_report import ShadowReporter
from simulators.traffic import ScriptedInteraction, generate_traffic
from store.summary import DemoSummary, summarize
from warmline.default_config import CARE_BOT, default_routing_config, fleet_endpoint_url

INTERACTION_TASK_TIMEOUT = timedelta(seconds=2)
"""The interaction's workflow task timeout, which only the starter can set: a worker killed
in the middle of a task is replaced after it (Temporal's default, 10 s, is a long silence on a
voice call). Long local activities keep the task alive by heartbeat, so 2 s bounds only a
dead or stalled worker."""

CLOSING_WORDS = "Thanks, that's all I needed."
SHADOW_VERSION = "2026.12-shadow"
"""A candidate care-bot version the demo runs as shadow: it answers copies of live turns, and
the demo ends with its shadow report."""
ANGRY_WORDS = "This is useless and ridiculous, I am furious!!!"
CONSENT_WORDS = "Yes, please call me back."


async def _send(handle: WorkflowHandle[Any, Any], text: str, message_id: str) -> Reply:
    return await handle.execute_update(
        "send_message", {"text": text, "message_id": message_id}, result_type=Reply
    )


class InteractionOver(Exception):
    """The interaction closed (a human resolved it) while the customer was still typing."""


async def _turn(handle: WorkflowHandle[Any, Any], text: str, message_id: str) -> Reply:
    try:
        return await _send(handle, text, message_id)
    except (WorkflowUpdateFailedError, RPCError) as exc:
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise InteractionOver from exc
        raise


async def open_interaction(
    client: Client, request: dict[str, Any]
) -> tuple[WorkflowHandle[Any, InteractionResult], Reply]:
    """Start the interaction and get the reply to its first message in one call.

    Update-with-start delivers ``await_reply`` in the workflow's first task, so the reply
    arrives even when the interaction closes at once (deflected, called back, resolved).
    """
    start: WithStartWorkflowOperation[Any, InteractionResult] = WithStartWorkflowOperation(
        INTERACTION_WORKFLOW,
        request,
        id=interaction_workflow_id(request["interaction_id"]),
        task_queue=INTERACTION_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        # An interaction id names one interaction for ever (README, public contract).
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        task_timeout=INTERACTION_TASK_TIMEOUT,
        result_type=InteractionResult,
    )
    reply = await client.execute_update_with_start_workflow(
        "await_reply", {"turn": 1}, start_workflow_operation=start, result_type=Reply
    )
    return await start.workflow_handle(), reply


async def drive_interaction(client: Client, script: ScriptedInteraction) -> InteractionResult:
    """Play one scripted customer against the workflow, as a CCaaS client would."""
    handle, first = await open_interaction(client, script.input)
    try:
        await _converse(handle, script, first)
    except InteractionOver:
        pass
    except RPCError:
        # A signal raced the close (a human resolved it first); the result tells the rest.
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            raise
    return await handle.result()


async def _consent(
    handle: WorkflowHandle[Any, Any], reply: Reply, iid: str, turn: int
) -> tuple[Reply, int]:
    """A scripted customer asked to agree to a callback says yes (a yes books it, so this ends)."""
    while reply.kind == "consent_request":
        turn += 1
        reply = await _turn(handle, CONSENT_WORDS, f"{iid}-{turn}")
    return reply, turn


async def _converse(
    handle: WorkflowHandle[Any, Any], script: ScriptedInteraction, reply: Reply
) -> None:
    iid = script.input["interaction_id"]
    turn = 1
    reply, turn = await _consent(handle, reply, iid, turn)
    for text in script.follow_ups:
        if reply.kind == "closing":
            break
        turn += 1
        reply, turn = await _consent(handle, await _turn(handle, text, f"{iid}-{turn}"), iid, turn)
    if reply.kind != "closing":
        if script.ends_with == "thanks":
            reply = await _turn(handle, CLOSING_WORDS, f"{iid}-end")
        elif script.ends_with == "request_human":
            await handle.signal("request_human", {"reason": "customer asked for an agent"})
        elif script.ends_with == "angry":
            reply = await _turn(handle, ANGRY_WORDS, f"{iid}-end")
    status = await handle.query("status")
    if reply.kind != "closing" and status["state"] == "ai_active":
        # The customer leaves; don't wait for the channel's inactivity timeout.
        await handle.signal("end_interaction", {"reason": "customer_left", "csat": script.csat})


def add_shadow_version(stack: RunningStack) -> None:
    """Register ``SHADOW_VERSION`` of care-bot as shadow (a new config version by ``demo``)."""
    config = stack.store.active_routing_config() or default_routing_config(
        stack.settings.ai_fleet_url
    )
    if any(ep.name == CARE_BOT and ep.role is EndpointRole.SHADOW for ep in config.ai_endpoints):
        return
    production = next(
        ep
        for ep in config.ai_endpoints
        if ep.name == CARE_BOT and ep.role is EndpointRole.PRODUCTION
    )
    shadow = production.model_copy(
        update={
            "version": SHADOW_VERSION,
            "role": EndpointRole.SHADOW,
            "weight": 0.0,
            "url": fleet_endpoint_url(stack.settings.ai_fleet_url, CARE_BOT, SHADOW_VERSION),
        }
    )
    changed = config.model_copy(update={"ai_endpoints": [*config.ai_endpoints, shadow]})
    stack.store.save_routing_config(changed, "demo")


async def render_shadow_report(stack: RunningStack, console: Console) -> None:
    """The shadow version's answers judged against production's (``warmline fleet
    shadow-report`` shows the same through the API)."""
    request = ShadowReportRequest(endpoint=f"{CARE_BOT}:{SHADOW_VERSION}", gate=ShadowGate())
    report = await asyncio.to_thread(ShadowReporter(stack.store).report, request)
    print_shadow_report(report, console)


async def run_demo(
    stack: RunningStack, interactions: int, seed: int, concurrency: int, console: Console
) -> DemoSummary:
    await asyncio.to_thread(add_shadow_version, stack)
    now = datetime.now(UTC)
    scripts = generate_traffic(interactions, seed, run=now.strftime("%Y%m%dT%H%M%S"))
    started = now.isoformat()
    semaphore = asyncio.Semaphore(concurrency)
    failures: list[str] = []
    with Progress(
        TextColumn("[bold]interactions"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console,
    ) as progress:
        task = progress.add_task("demo", total=len(scripts), detail="")
        counts: dict[str, int] = {}

        async def one(script: ScriptedInteraction) -> None:
            async with semaphore:
                try:
                    result = await drive_interaction(stack.client, script)
                    counts[result.pool.value] = counts.get(result.pool.value, 0) + 1
                except Exception as exc:
                    failures.append(f"{script.input['interaction_id']}: {exc!r}")
                progress.update(
                    task,
                    advance=1,
                    detail=" ".join(f"{k}={v}" for k, v in sorted(counts.items())),
                )

        await asyncio.gather(*(one(s) for s in scripts))
    for failure in failures[:10]:
        console.print(f"[red]failed[/red] {failure}")
    return await asyncio.to_thread(summarize, stack.store, started)


def render_summary(summary: DemoSummary, ui_url: str, console: Console) -> None:
    pools = Table(title="Volume by pool")
    pools.add_column("pool")
    pools.add_column("interactions", justify="right")
    pools.add_column("share", justify="right")
    for pool, count in summary.by_pool.items():
        share = count / summary.total if summary.total else 0.0
        pools.add_row(pool, str(count), f"{share:.0%}")
    console.print(pools)

    rate = summary.containment_rate
    console.print(
        f"Containment: [bold]{rate:.1%}[/bold] of {summary.ai_routed} AI-routed interactions"
        if rate is not None
        else "Containment: no AI-routed interactions"
    )
    outcomes = Table(title="Outcomes and escalation reasons")
    outcomes.add_column("kind")
    outcomes.add_column("name")
    outcomes.add_column("count", justify="right")
    for name, count in sorted(summary.by_outcome.items()):
        outcomes.add_row("outcome", name, str(count))
    for name, count in sorted(summary.escalation_reasons.items(), key=lambda kv: -kv[1]):
        outcomes.add_row("escalation", name, str(count))
    console.print(outcomes)

    times = Table(title="Handle time (seconds) per segment")
    for column in ("segment", "n", "p50", "p90", "p95"):
        times.add_column(column, justify="right" if column != "segment" else "left")
    for segment, ht in summary.handle_times.items():
        times.add_row(segment, str(ht.count), *(_fmt(v) for v in (ht.p50, ht.p90, ht.p95)))
    console.print(times)
    console.print(
        f"Parallel pattern: {summary.reservations_released} human reservations released, "
        f"{summary.saved_wait_seconds:.0f} s of estimated wait saved. "
        f"AI cost ${summary.cost_usd:.4f}."
    )
    console.print(f"Temporal UI: [link={ui_url}]{ui_url}[/link] (every interaction's history)")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
