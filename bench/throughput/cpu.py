"""CPU time per workflow on each side of the benchmark: this process (the worker, the client
and the in-process simulators) and the Temporal dev server it started.

Rates on a shared two-core machine move by a quarter between back-to-back runs; the CPU a
workflow costs moves far less, so it is what shows where a change saved work, and on whose
side (Warmline's worker or Temporal's server).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class CpuReading:
    process: float
    server: float | None


class CpuClock:
    """Cumulative CPU seconds of this process and of its dev server child (Linux ``/proc``;
    the server's side reads None elsewhere or when no such child is found)."""

    def __init__(self) -> None:
        self._server = _server_stat()
        self._ticks = os.sysconf("SC_CLK_TCK") if self._server is not None else 1

    def read(self) -> CpuReading:
        return CpuReading(time.process_time(), self._server_seconds())

    def _server_seconds(self) -> float | None:
        if self._server is None:
            return None
        try:
            fields = self._server.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self._ticks  # utime + stime


def _server_stat(proc: Path = PROC, parent: int | None = None) -> Path | None:
    """``<proc>/<pid>/stat`` of the Temporal CLI ``parent`` (default: this process) started."""
    me = os.getpid() if parent is None else parent
    for entry in proc.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and name.startswith("temporal"):
            return entry / "stat"
    return None


class CpuTally:
    """CPU milliseconds per workflow, summed over the measured stretches of each side."""

    def __init__(self, clock: CpuClock) -> None:
        self.clock = clock
        self._spent: dict[str, list[float]] = {}
        self._count: dict[str, int] = {}
        self._server_read: set[str] = set()

    @contextmanager
    def measure(self, side: str, workflows: int) -> Iterator[None]:
        """Tally the CPU spent inside the block against ``workflows`` of ``side``."""
        before = self.clock.read()
        yield
        self.add(side, before, self.clock.read(), workflows)

    def add(self, side: str, before: CpuReading, after: CpuReading, workflows: int) -> None:
        spent = self._spent.setdefault(side, [0.0, 0.0])
        spent[0] += after.process - before.process
        if before.server is not None and after.server is not None:
            spent[1] += after.server - before.server
            self._server_read.add(side)
        self._count[side] = self._count.get(side, 0) + workflows

    def per_workflow(self, side: str) -> str:
        count = self._count.get(side, 0)
        if not count:
            return "not measured"
        process, server = (1000 * part / count for part in self._spent[side])
        shown = f"this process {process:5.1f} ms"
        if side not in self._server_read:
            return f"{shown}, Temporal server not read"
        return f"{shown}, Temporal server {server:5.1f} ms"
