"""Worker processes for ``bench/scale``: the real ``warmline worker``, measured from outside.

Each worker is its own process, as in production, so its resident memory is its own (not the
driver's, the simulators' or the dev server's) and its Temporal SDK metrics come from its own
Prometheus endpoint, the one operators scrape.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from runtime.sdk_metrics import parse_samples

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    sdk_metrics_port: int
    log: Path

    def rss(self) -> int:
        return rss_bytes(self.process.pid)

    def sdk_metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.sdk_metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return parse_samples(response.read().decode())

    async def ready(self) -> None:
        """Wait until the worker polls its task queues (its SDK reports pollers)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited ({self.process.returncode}); see {self.log}")
            try:
                samples = await asyncio.to_thread(self.sdk_metrics)
                if samples.get("temporal_num_pollers", 0) > 0:
                    return
            except OSError:
                pass
            if loop.time() > deadline:
                raise RuntimeError(f"worker not polling after {READY_TIMEOUT_SECONDS:.0f} s")
            await asyncio.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_worker(env: dict[str, str], data: Path, index: int) -> WorkerProcess:
    """``warmline worker`` with ``env`` (the stack's settings) and ports of its own."""
    sdk_port = free_port()
    log = data / f"worker-{index}.log"
    child_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        **env,
        "WARMLINE_METRICS_PORT": str(free_port()),
        "WARMLINE_TEMPORAL_METRICS_PORT": str(sdk_port),
        "WARMLINE_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker"],
            cwd=ROOT,
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return WorkerProcess(process, sdk_port, log)
