"""Many open interactions: turn latency, worker memory and the sticky cache as N grows.

For each worker count and each N: a fresh dev server, ``warmline setup``, the simulated AI
fleet (fixed latency) and ACD in this process, and ``warmline worker`` processes. N
interactions are opened (each answers its first message, then waits for its customer, as
chats and e-mails do); then turns arrive at a steady rate, each on an interaction drawn at
random, so every open interaction is equally likely to be touched. Per N it prints turn
p50/p95, worker RSS, memory per open interaction, and from the workers' SDK metrics the
sticky-cache hit rate (share of workflow tasks answered from the cache, without replaying
history) and the evictions.

Run: ``python -m bench.scale.run [--sizes 1000,5000,10000] [--workers 1,2] [--turns 300]
[--rate 20] [--max-cached 1000]``. Develop with ``--sizes 200 --turns 50``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bench.routing import store_ai_only_routing
from bench.scale.processes import WorkerProcess, start_worker
from cli.demo import open_interaction
from cli.stack import temporal_cli
from runtime.codec import format_key_ring, new_key, warmline_data_converter
from runtime.local_secrets import ensure_local_secrets
from runtime.sdk_metrics import (
    STICKY_CACHE_EVICTED,
    STICKY_CACHE_HIT,
    WORKFLOW_TASK_EXECUTION,
)
from runtime.settings import Settings
from runtime.temporal_setup import apply_setup
from simulators.acd import AcdSimulator, TemporalSignaler
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.server import serve_app
from store.repository import Store

OPENING_MESSAGE = "I have a question about my bill"
MB = 1024 * 1024


@dataclass
class Figures:
    workers: int
    open: int
    opened: int
    cache: int
    open_rate: float
    turn_ms: list[float]
    rss_before: int
    rss_after: int
    hit_rate: float
    evictions: float
    failed: int

    def row(self) -> str:
        p50 = statistics.median(self.turn_ms)
        p95 = percentile(self.turn_ms, 95)
        per = (self.rss_after - self.rss_before) / max(1, self.opened) / 1024
        return (
            f"{self.workers:>7} {self.open:>6} {self.cache:>6} {self.open_rate:>8.0f} "
            f"{p50:>7.0f} {p95:>7.0f} {self.rss_after / MB:>9.0f} {per:>8.1f} "
            f"{self.hit_rate:>9.1%} {self.evictions:>9.0f} {self.failed:>6}"
        )


HEADER = (
    "workers   open  cache  opened/s  p50 ms  p95 ms  RSS MB(all) KB/open  cache hit  evictions"
)


def percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def sdk_totals(workers: list[WorkerProcess]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for worker in workers:
        for name, value in worker.sdk_metrics().items():
            totals[name] = totals.get(name, 0.0) + value
    return totals


async def open_many(
    client: Client, count: int, concurrency: int, tag: str
) -> tuple[list[Any], int]:
    """The interactions that opened (first reply from the AI), and how many did not: on an
    overloaded machine workflow tasks can fail (deadlock detector), which is a finding to
    print, not a reason to lose the run."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> WorkflowHandle[Any, Any]:
        async with semaphore:
            iid = f"scale-{tag}-{i}"
            request = {
                "interaction_id": iid,
                "channel": "chat",
                "customer": {"id": f"c-{i}"},
                "first_message": OPENING_MESSAGE,
            }
            handle, reply = await open_interaction(client, request)
            if reply.sender != "ai":
                raise RuntimeError(f"{iid} answered by {reply.sender}, not the AI")
            return handle

    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    opened = [r for r in results if not isinstance(r, BaseException)]
    return opened, len(results) - len(opened)


async def steady_turns(
    handles: list[Any], turns: int, rate: float, seed: int
) -> tuple[list[float], int]:
    """``turns`` updates started every ``1/rate`` s on random interactions, not waiting for
    one another (customers do not queue behind each other); the latencies of the answered
    ones and the number that failed."""
    chooser = random.Random(seed)
    samples: list[float] = []

    async def turn(handle: WorkflowHandle[Any, Any], i: int) -> None:
        started = time.perf_counter()
        reply = await handle.execute_update("send_message", {"text": f"And item {i} on it?"})
        samples.append((time.perf_counter() - started) * 1000)
        if reply["sender"] != "ai":
            raise RuntimeError(f"turn {i} answered by {reply['sender']}")

    tasks = []
    start = time.perf_counter()
    for i in range(turns):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(turn(chooser.choice(handles), i)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return samples, sum(1 for r in results if isinstance(r, BaseException))


async def measure(size: int, worker_count: int, args: argparse.Namespace, keys: str) -> Figures:
    data = Path(tempfile.mkdtemp(prefix="warmline-scale-"))
    ensure_local_secrets(Settings(data_dir=data))  # an embedded stack: it makes its keys
    settings = Settings(data_dir=data, payload_keys=SecretStr(keys))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=warmline_data_converter(settings),
        dev_server_log_level="error",
    )
    await apply_setup(env.client, env.client.namespace, settings.temporal_retention_days)
    store = Store.from_url(f"sqlite:///{data / 'warmline.db'}")
    fleet = FleetSimState(default_latency_ms=args.ai_latency_ms)
    acd = AcdSimulator(TemporalSignaler(env.client), time_scale=0.001)
    workers: list[WorkerProcess] = []
    try:
        async with (
            serve_app(create_ai_fleet_app(fleet)) as ai_url,
            serve_app(create_acd_app(acd)) as acd_url,
        ):
            store_ai_only_routing(store, ai_url)
            worker_env = {
                "WARMLINE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "WARMLINE_DATABASE_URL": f"sqlite:///{data / 'warmline.db'}",
                "WARMLINE_DATA_DIR": str(data),
                "WARMLINE_AI_FLEET_URL": ai_url,
                "WARMLINE_ACD_URL": acd_url,
                "WARMLINE_PAYLOAD_KEYS": keys,
                "WARMLINE_WORKER_MAX_CACHED_WORKFLOWS": str(args.max_cached),
            }
            workers = [start_worker(worker_env, data, i) for i in range(worker_count)]
            await asyncio.gather(*(w.ready() for w in workers))
            tag = uuid.uuid4().hex[:6]
            await open_many(env.client, 20, 8, f"{tag}-warm")  # model, pools, caches
            rss_before = sum(w.rss() for w in workers)
            started = time.perf_counter()
            handles, failed_opens = await open_many(env.client, size, args.open_concurrency, tag)
            open_rate = size / (time.perf_counter() - started)
            rss_after = sum(w.rss() for w in workers)
            before = await asyncio.to_thread(sdk_totals, workers)
            turn_ms, failed_turns = await steady_turns(handles, args.turns, args.rate, seed=size)
            after = await asyncio.to_thread(sdk_totals, workers)
    finally:
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
        await env.shutdown()

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    tasks = delta(f"{WORKFLOW_TASK_EXECUTION}_count") or 1.0
    return Figures(
        workers=worker_count,
        open=size,
        opened=len(handles),
        cache=args.max_cached,
        open_rate=open_rate,
        turn_ms=turn_ms,
        rss_before=rss_before,
        rss_after=rss_after,
        hit_rate=delta(STICKY_CACHE_HIT) / tasks,
        evictions=delta(STICKY_CACHE_EVICTED),
        failed=failed_opens + failed_turns,
    )


async def main(args: argparse.Namespace) -> None:
    keys = format_key_ring(dict([new_key("scale")]))
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"turns: {args.turns} at {args.rate:g}/s on random open interactions; simulated AI "
        f"{args.ai_latency_ms} ms; max_cached_workflows per worker {args.max_cached}"
    )
    print(HEADER, flush=True)
    results: dict[int, list[Figures]] = {}
    for worker_count in (int(w) for w in args.workers.split(",")):
        for size in sizes:
            figures = await measure(size, worker_count, args, keys)
            results.setdefault(worker_count, []).append(figures)
            print(figures.row(), flush=True)
    for worker_count, rows in results.items():
        base, top = rows[0], rows[-1]
        ratio = percentile(top.turn_ms, 95) / percentile(base.turn_ms, 95)
        print(
            f"{worker_count} worker(s): p95 at {top.open} open / at {base.open} = {ratio:.2f} "
            f"(goal <= 2.0); worker RSS at {top.open}: {top.rss_after / MB / worker_count:.0f} "
            f"MB per worker (goal <= 2048), before opening: "
            f"{base.rss_before / MB / worker_count:.0f} MB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--workers", default="1,2", help="worker process counts to run")
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="turns per second")
    parser.add_argument("--ai-latency-ms", type=int, default=80)
    parser.add_argument("--open-concurrency", type=int, default=16)
    parser.add_argument("--max-cached", type=int, default=Settings().worker_max_cached_workflows)
    asyncio.run(main(parser.parse_args()))
