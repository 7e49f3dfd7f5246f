"""Chaos: interactions under worker crashes and a Temporal restart, none lost or doubled.

The embedded stack as processes: a Temporal dev server on a SQLite file (``--db-filename``, so
a restart keeps every history), two ``warmline worker`` processes, the simulated AI fleet and
ACD in this process. Customers arrive at a steady concurrency; each interaction takes several
turns (every message with its own ``message_id``), then ends - most by the customer, some by
asking for a human, whom the simulated ACD assigns and who resolves it. Meanwhile a worker is
killed with SIGKILL ``--kills`` times at random moments (and restarted at once), the Temporal
server is stopped and restarted once mid-load, and every message that was in flight across a
kill is sent again with the same ``message_id`` (a client retrying), whose reply must be the
one already given.

Prints: started, completed, lost (ended other than completed: failed, terminated, timed out),
duplicate customer-visible replies (a resend answered with a new reply, or more turns than
messages), duplicate ACD transfers (one interaction handed over twice), stuck (still open at
the deadline, with ids), the time from the last fault until all finished, and turn latency
p50/p99 overall and p99 across a kill (turns in flight at a kill or sent within
``KILL_WINDOW_SECONDS`` after it). Goal: 0 lost, 0 duplicate replies, 0 duplicate transfers,
0 stuck.

Run: ``python -m bench.chaos.run [--interactions 300] [--concurrency 16] [--turns 4]
[--kills 20] [--seed 7]``; ``--interactions 40 --kills 3`` for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy

from bench.routing import store_ai_only_routing
from bench.scale.processes import WorkerProcess, free_port, start_worker
from cli.demo import INTERACTION_TASK_TIMEOUT
from cli.stack import temporal_cli
from models import search_attributes
from models.interaction import (
    INTERACTION_TASK_QUEUE,
    INTERACTION_WORKFLOW,
    InteractionResult,
    Reply,
    interaction_workflow_id,
)
from runtime.audit_keys import open_store
from runtime.codec import warmline_data_converter
from runtime.local_secrets import ensure_local_secrets
from runtime.settings import Settings
from simulators.acd import AcdSimulator, TemporalSignaler
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.server import serve_app

KILL_WINDOW_SECONDS = 5.0
"""A turn sent this soon after a kill counts as "across a kill" (it may meet the dead worker's
sticky queue)."""
SERVER_READY_SECONDS = 60.0
RESULT_DEADLINE_SECONDS = 120.0
"""After the last customer action, how long an interaction may take to finish before it is
counted stuck."""
CALL_RETRY_SECONDS = 90.0
"""How long a customer keeps retrying one message (same ``message_id``) through outages."""
HUMAN_SHARE = 0.2
MESSAGES = (
    "I have a question about my bill",
    "Why is there a late fee on it?",
    "Can you waive it this once?",
    "And when is the next payment due?",
    "Can I pay by card?",
    "Thanks, what else should I know?",
)

log = logging.getLogger("bench.chaos")


@dataclass
class Turn:
    started: float
    ended: float
    across_kill: bool = False
    across_restart: bool = False


@dataclass
class Tally:
    started: int = 0
    completed: int = 0
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    duplicate_replies: list[str] = field(default_factory=list)
    resends: int = 0
    retried_calls: int = 0
    turns: list[Turn] = field(default_factory=list)
    finished_at: float = 0.0
    task_timeouts: int = 0
    task_failures: int = 0


@dataclass
class Faults:
    """When each fault happened (``time.monotonic()``), for latency across a kill."""

    kills: list[float] = field(default_factory=list)
    server_restart: float | None = None

    def last(self) -> float:
        return max([*self.kills, self.server_restart or 0.0])

    def near(self, started: float, ended: float) -> bool:
        return any(started - KILL_WINDOW_SECONDS <= k <= ended for k in self.kills)

    def near_restart(self, started: float, ended: float) -> bool:
        at = self.server_restart
        return at is not None and started - KILL_WINDOW_SECONDS <= at <= ended


class DevServer:
    """``temporal server start-dev`` on a SQLite file: stop and start keep every history."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log_file = (self.data / "temporal.log").open("ab")
        self.process = subprocess.Popen(
            [
                temporal_cli(),
                "server",
                "start-dev",
                "--db-filename",
                str(self.data / "temporal.db"),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--headless",
                "--log-level",
                "error",
                *search_attributes.dev_server_args(),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def connect_when_ready(settings: Settings) -> Client:
    deadline = time.monotonic() + SERVER_READY_SECONDS
    while True:
        try:
            return await Client.connect(
                settings.temporal_address, data_converter=warmline_data_converter(settings)
            )
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def retrying(what: str, call: Any, tally: Tally) -> Any:
    """A customer's client: the same call again (same ids) until it answers or the deadline."""
    deadline = time.monotonic() + CALL_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            return await call()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: gave up after {CALL_RETRY_SECONDS:.0f} s") from exc
            tally.retried_calls += 1
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)


class Customers:
    def __init__(self, client: Client, args: argparse.Namespace, faults: Faults) -> None:
        self.client = client
        self.args = args
        self.faults = faults
        self.tally = Tally()
        self.rng = random.Random(args.seed)
        self.count = 0
        self.tag = f"{args.seed}-{int(time.time())}"
        self.task_timeout = (
            timedelta(seconds=args.task_timeout) if args.task_timeout is not None else None
        )
        self.faults_done = False

    async def send(self, handle: WorkflowHandle[Any, Any], iid: str, turn: int, text: str) -> Reply:
        """One customer message; sent again with the same ``message_id`` if it was in flight
        across a kill, and that second answer must be the first one."""
        message = {"text": text, "message_id": f"{iid}-m{turn}"}
        started = time.monotonic()

        async def call() -> Reply:
            return await handle.execute_update("send_message", message, result_type=Reply)

        reply: Reply = await retrying(f"{iid} turn {turn}", call, self.tally)
        ended = time.monotonic()
        across = self.faults.near(started, ended)
        restart = self.faults.near_restart(started, ended)
        self.tally.turns.append(Turn(started, ended, across, restart))
        if across:
            self.tally.resends += 1
            again: Reply = await retrying(f"{iid} resend {turn}", call, self.tally)
            if (again.turn, again.text) != (reply.turn, reply.text):
                self.tally.duplicate_replies.append(f"{iid}: turn {turn} answered twice")
        return reply

    async def open(self, iid: str) -> WorkflowHandle[Any, InteractionResult]:
        request = {
            "interaction_id": iid,
            "channel": "chat",
            "customer": {"id": f"c-{iid}"},
            "first_message": MESSAGES[0],
        }
        workflow_id = interaction_workflow_id(iid)
        started = time.monotonic()

        async def call() -> Reply:
            start: WithStartWorkflowOperation[Any, InteractionResult] = WithStartWorkflowOperation(
                INTERACTION_WORKFLOW,
                request,
                id=workflow_id,
                task_queue=INTERACTION_TASK_QUEUE,
                # A retried start after a lost answer joins the run it created.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                result_type=InteractionResult,
                task_timeout=self.task_timeout,
            )
            try:
                return await self.client.execute_update_with_start_workflow(
                    "await_reply", {"turn": 1}, start_workflow_operation=start, result_type=Reply
                )
            except Exception:
                # The failed operation's handle holds the same error: read it, so a retry
                # (a new operation) does not leave an unretrieved exception behind.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(start.workflow_handle(), 1)
                raise

        await retrying(f"{iid} open", call, self.tally)
        ended = time.monotonic()
        self.tally.turns.append(
            Turn(
                started,
                ended,
                self.faults.near(started, ended),
                self.faults.near_restart(started, ended),
            )
        )
        return self.client.get_workflow_handle(workflow_id, result_type=InteractionResult)

    async def one(self, index: int) -> None:
        iid = f"chaos-{self.tag}-{index}"
        self.tally.started += 1
        turns = self.args.turns
        wants_human = self.rng.random() < HUMAN_SHARE
        try:
            handle = await self.open(iid)
            for turn in range(2, turns + 1):
                await self.send(handle, iid, turn, MESSAGES[(turn - 1) % len(MESSAGES)])
            if wants_human:
                await retrying(
                    f"{iid} request_human",
                    lambda: handle.signal("request_human", {"reason": "customer asked"}),
                    self.tally,
                )
            else:
                await retrying(
                    f"{iid} end",
                    lambda: handle.signal("end_interaction", {"reason": "customer_ended"}),
                    self.tally,
                )
        except Exception as exc:  # the customer gave up: its interaction is judged below
            log.warning("%s: %s", iid, exc)

    async def run(self) -> None:
        """Steady concurrency: a new customer as soon as one is done, at least
        ``--interactions`` of them and until the last fault (so every fault meets load)."""
        semaphore = asyncio.Semaphore(self.args.concurrency)
        running: set[asyncio.Task[None]] = set()
        index = 0
        while index < self.args.interactions or not self.faults_done:
            await semaphore.acquire()
            task = asyncio.create_task(self.one(index))
            task.add_done_callback(lambda _: semaphore.release())
            running.add(task)
            task.add_done_callback(running.discard)
            index += 1
        await asyncio.gather(*running)
        self.count = index

    async def judge(self, acd: AcdSimulator) -> None:
        """Each interaction's end, read from Temporal: completed, lost or stuck."""
        deadline = time.monotonic() + RESULT_DEADLINE_SECONDS
        sem = asyncio.Semaphore(16)

        async def verdict(index: int) -> None:
            iid = f"chaos-{self.tag}-{index}"
            handle = self.client.get_workflow_handle(
                interaction_workflow_id(iid), result_type=InteractionResult
            )
            async with sem:
                while True:
                    try:
                        status = (await handle.describe()).status
                    except Exception:
                        status = None
                    if status == WorkflowExecutionStatus.COMPLETED:
                        result = await handle.result()
                        async for event in handle.fetch_history_events():
                            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                                self.tally.task_timeouts += 1
                            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                                self.tally.task_failures += 1
                        if result.turns > self.args.turns:  # a resend became a turn
                            self.tally.duplicate_replies.append(
                                f"{iid}: {result.turns} turns for {self.args.turns} messages"
                            )
                        self.tally.completed += 1
                        return
                    if status not in (WorkflowExecutionStatus.RUNNING, None):
                        self.tally.lost.append(f"{iid} ({status.name if status else '?'})")
                        return
                    if time.monotonic() > deadline:
                        self.tally.stuck.append(iid)
                        return
                    await asyncio.sleep(0.5)

        await asyncio.gather(*(verdict(i) for i in range(self.count)))
        self.tally.finished_at = time.monotonic()


class Workers:
    """Two ``warmline worker`` processes; ``kill`` SIGKILLs one and starts its replacement."""

    def __init__(self, env: dict[str, str], data: Path, count: int) -> None:
        self.env = env
        self.data = data
        self.started = 0
        self.processes = [self._start() for _ in range(count)]
        self.ready: list[asyncio.Task[None]] = [
            asyncio.create_task(p.ready()) for p in self.processes
        ]

    def _start(self) -> WorkerProcess:
        self.started += 1
        return start_worker(self.env, self.data, self.started)

    async def all_ready(self) -> None:
        await asyncio.gather(*self.ready)

    async def kill_one(self, rng: random.Random) -> None:
        """Kill a polling worker while the other polls too (never leave none), and restart."""
        await self.all_ready()
        index = rng.randrange(len(self.processes))
        victim = self.processes[index]
        victim.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(victim.process.wait)
        replacement = self._start()
        self.processes[index] = replacement
        self.ready[index] = asyncio.create_task(replacement.ready())

    def stop(self) -> None:
        for ready in self.ready:
            ready.cancel()
        for worker in self.processes:
            worker.stop()


async def chaos(
    args: argparse.Namespace,
    workers: Workers,
    server: DevServer,
    faults: Faults,
) -> None:
    """Kill workers at random moments over the expected load, the server once midway."""
    rng = random.Random(args.seed + 1)
    moments = sorted(rng.uniform(0.05, 0.9) * args.fault_span for _ in range(args.kills))
    restart_after = len(moments) // 2
    began = time.monotonic()
    for n, moment in enumerate(moments):
        await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
        await workers.kill_one(rng)
        faults.kills.append(time.monotonic())
        print(f"  kill {n + 1}/{len(moments)} at {time.monotonic() - began:.0f} s", flush=True)
        if n + 1 == restart_after:
            await workers.all_ready()
            server.stop()
            faults.server_restart = time.monotonic()
            server.start()
            print(f"  Temporal server restarted at {time.monotonic() - began:.0f} s", flush=True)


def percentile(samples: list[float], percent: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


async def main(args: argparse.Namespace) -> int:
    data = Path(tempfile.mkdtemp(prefix="warmline-chaos-"))
    server = DevServer(data)
    settings = Settings(data_dir=data, temporal_address=server.address, payload_keys=None)
    ensure_local_secrets(settings)  # an embedded stack: it makes its keys
    server.start()
    began = time.monotonic()
    workers: Workers | None = None
    try:
        client = await connect_when_ready(settings)
        store = open_store(settings)
        fleet = FleetSimState(default_latency_ms=args.ai_latency_ms)
        acd = AcdSimulator(
            TemporalSignaler(client),
            {"general": 40, "billing": 40, "technical": 40},
            time_scale=0.001,
        )
        async with (
            serve_app(create_ai_fleet_app(fleet)) as ai_url,
            serve_app(create_acd_app(acd)) as acd_url,
        ):
            store_ai_only_routing(store, ai_url)
            env = {
                "WARMLINE_TEMPORAL_ADDRESS": server.address,
                "WARMLINE_DATABASE_URL": settings.resolved_database_url,
                "WARMLINE_DATA_DIR": str(data),
                "WARMLINE_AI_FLEET_URL": ai_url,
                "WARMLINE_ACD_URL": acd_url,
                "WARMLINE_CLASSIFIER_THREADS": "1",
            }
            workers = Workers(env, data, 2)
            await workers.all_ready()
            print(
                f"stack up in {time.monotonic() - began:.0f} s ({data}); {args.interactions} "
                f"interactions x {args.turns} turns at concurrency {args.concurrency}, "
                f"{args.kills} worker kills, 1 server restart",
                flush=True,
            )
            faults = Faults()
            customers = Customers(client, args, faults)
            load_began = time.monotonic()
            load = asyncio.create_task(customers.run())
            await chaos(args, workers, server, faults)
            customers.faults_done = True
            await load
            load_seconds = time.monotonic() - load_began
            await customers.judge(acd)
            tally = customers.tally
            per_interaction = Counter(t.request.context.workflow_id for t in acd.transfers.values())
            duplicate_transfers = sorted(wf for wf, n in per_interaction.items() if n > 1)
            humans = sum(per_interaction.values())
    finally:
        if workers is not None:
            await asyncio.to_thread(workers.stop)
        server.stop()

    turn_ms = [(t.ended - t.started) * 1000 for t in tally.turns]
    across_ms = [
        (t.ended - t.started) * 1000 for t in tally.turns if t.across_kill and not t.across_restart
    ]
    restart_ms = [(t.ended - t.started) * 1000 for t in tally.turns if t.across_restart]
    recovery = tally.finished_at - faults.last()
    print(f"load ran {load_seconds:.0f} s; {len(turn_ms)} turns; {humans} handed to humans")
    print(f"started:                     {tally.started}")
    print(f"completed:                   {tally.completed}")
    print(f"lost:                        {len(tally.lost)} {tally.lost[:10]}")
    print(
        f"duplicate replies:           {len(tally.duplicate_replies)} {tally.duplicate_replies[:5]}"
    )
    print(f"duplicate ACD transfers:     {len(duplicate_transfers)} {duplicate_transfers[:5]}")
    print(f"stuck:                       {len(tally.stuck)} {tally.stuck[:20]}")
    print(f"last fault -> all finished:  {recovery:.1f} s")
    print(
        f"workflow tasks timed out:    {tally.task_timeouts} (held by a killed worker or the "
        f"stopped server); failed: {tally.task_failures}"
    )
    print(
        f"turn latency p50 / p99:      {statistics.median(turn_ms):.0f} / "
        f"{percentile(turn_ms, 99):.0f} ms"
    )
    print(
        f"p99 turn across a kill:      {percentile(across_ms, 99):.0f} ms "
        f"({len(across_ms)} turns, the server restart's excluded; {tally.resends} messages "
        f"resent, {tally.retried_calls} client retries)"
    )
    print(
        f"p99 turn across the restart:  {percentile(restart_ms, 99):.0f} ms "
        f"({len(restart_ms)} turns)"
    )
    bad = tally.lost or tally.stuck or tally.duplicate_replies or duplicate_transfers
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument(
        "--fault-span", type=float, default=240.0, help="seconds over which faults are spread"
    )
    parser.add_argument("--ai-latency-ms", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--task-timeout",
        type=float,
        default=INTERACTION_TASK_TIMEOUT.total_seconds(),
        help="workflow task timeout the customers' client starts interactions with (default: "
        "the reference client's); bounds takeover after a kill during a task",
    )
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
