"""WFM interval arithmetic: interval boundaries and handle-time percentiles from a histogram.

WFM platforms plan in fixed UTC intervals (15 minutes by default, 30 or 60 by choice). Handle
time percentiles per interval come from a fixed histogram, because the database computes them
(``store.intervals``) and SQLite has no percentile function: the SQL rollup counts samples per
bucket and interpolates inside the bucket that holds the nearest-rank sample, exactly as
``histogram_percentile`` does here, so the pure function is the specification the SQL is tested
against. The error is bounded by the bucket width (5 s below a minute, widening with the time).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Final

INTERVAL_CHOICES: Final = (15, 30, 60)
"""Interval lengths (minutes) a deployment may plan in."""

# fmt: off
HANDLE_TIME_EDGES: Final[tuple[int, ...]] = (
    0, 5, 10, 15, 20, 30, 45, 60, 90, 120, 150, 180, 240, 300, 360, 420, 480, 600, 720, 900,
    1200, 1500, 1800, 2400, 3000, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200, 86400,
    172800, 345600, 604800,
)
"""Lower edges (seconds) of the handle-time buckets; the last bucket is open-ended."""
# fmt: on

SEGMENTS: Final = ("ai", "queue", "human", "after_transfer")
"""Handle-time segments per interval: AI, waiting for a human, the human, after the transfer."""

PERCENTILES: Final = (50, 90)


def interval_start(epoch_seconds: float, minutes: int) -> int:
    """Start (epoch seconds) of the ``minutes``-long UTC interval holding ``epoch_seconds``."""
    length = minutes * 60
    return int(epoch_seconds) // length * length


def bucket_of(seconds: float) -> int:
    """Index of the bucket whose lower edge is the largest one <= ``seconds``."""
    return max(0, bisect.bisect_right(HANDLE_TIME_EDGES, seconds) - 1)


def bucket_width(index: int) -> int:
    """Width of a bucket; 0 for the open-ended last one (its percentile is its lower edge)."""
    if index + 1 >= len(HANDLE_TIME_EDGES):
        return 0
    return HANDLE_TIME_EDGES[index + 1] - HANDLE_TIME_EDGES[index]


def nearest_rank(percent: int, count: int) -> int:
    """1-based rank of the ``percent`` percentile among ``count`` samples (ceil, in integers)."""
    return max(1, (percent * count + 99) // 100)


def histogram(samples: Iterable[float]) -> list[int]:
    counts = [0] * len(HANDLE_TIME_EDGES)
    for value in samples:
        counts[bucket_of(value)] += 1
    return counts


def histogram_percentile(counts: Sequence[int], percent: int) -> float | None:
    """The ``percent`` percentile of a histogram: the nearest-rank sample's bucket, linearly
    interpolated by its rank within the bucket. ``None`` without samples."""
    total = sum(counts)
    if total == 0:
        return None
    rank = nearest_rank(percent, total)
    before = 0
    for index, count in enumerate(counts):
        if count and before + count >= rank:
            return HANDLE_TIME_EDGES[index] + float((rank - before) * bucket_width(index)) / count
        before += count
    raise AssertionError("unreachable: the ranks fall inside the histogram")


def covering_ranges(starts: Iterable[int], length_seconds: int) -> list[tuple[int, int]]:
    """Contiguous ``[from, to)`` epoch ranges covering the given interval starts, merged where
    they touch, so a rollup re-reads a few ranges instead of one query per interval."""
    ranges: list[tuple[int, int]] = []
    for start in sorted(set(starts)):
        if ranges and ranges[-1][1] >= start:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], start + length_seconds))
        else:
            ranges.append((start, start + length_seconds))
    return ranges
