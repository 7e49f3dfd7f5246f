"""The CPU per workflow ``bench/throughput`` prints: sums over the measured stretches only, and
the dev server found among this process's children."""

from __future__ import annotations

from pathlib import Path

from bench.throughput.cpu import CpuClock, CpuReading, CpuTally, _server_stat


def test_cpu_per_workflow_sums_each_sides_stretches() -> None:
    tally = CpuTally(CpuClock())
    tally.add("bare", CpuReading(1.0, 10.0), CpuReading(1.2, 10.5), workflows=100)
    tally.add("bare", CpuReading(5.0, 20.0), CpuReading(5.2, 20.5), workflows=100)
    tally.add("interaction", CpuReading(2.0, None), CpuReading(2.5, None), workflows=50)
    assert tally.per_workflow("bare") == "this process   2.0 ms, Temporal server   5.0 ms"
    assert tally.per_workflow("interaction") == ("this process  10.0 ms, Temporal server not read")
    assert tally.per_workflow("unsandboxed") == "not measured"


def test_a_measured_block_is_tallied_against_its_side() -> None:
    tally = CpuTally(CpuClock())
    with tally.measure("interaction", workflows=4):
        sum(i * i for i in range(200_000))  # CPU the block spends
    process = float(tally.per_workflow("interaction").split()[2])
    assert process > 0


def _stat(proc: Path, pid: int, name: str, parent: int) -> None:
    (proc / str(pid)).mkdir()
    fields = ["S", str(parent), *["0"] * 11]  # state, ppid, then up to utime and stime
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) {' '.join(fields)}\n")


def test_the_server_is_this_processs_temporal_child(tmp_path: Path) -> None:
    _stat(tmp_path, 10, "temporal", parent=1)  # someone else's server
    _stat(tmp_path, 11, "python) x (y", parent=7)  # a name with brackets in it
    assert _server_stat(tmp_path, parent=7) is None
    _stat(tmp_path, 12, "temporal", parent=7)
    assert _server_stat(tmp_path, parent=7) == tmp_path / "12" / "stat"
