"""``bench/throughput``'s alternating rounds: the overall rate weighs each round by the time it
took, and the round-by-round ratios show how far one stretch strays from the whole."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from bench.throughput.run import interleaved_rates


def _side(rates: list[float], calls: list[str], name: str) -> Callable[[int], Awaitable[float]]:
    given: Iterator[float] = iter(rates)

    async def rate(count: int) -> float:
        calls.append(name)
        assert count == 10
        return next(given)

    return rate


def test_rounds_alternate_and_the_overall_rate_is_count_over_time() -> None:
    calls: list[str] = []
    result = asyncio.run(
        interleaved_rates(
            30,
            3,
            {
                "bare": _side([100.0, 50.0, 100.0], calls, "bare"),
                "interaction": _side([60.0, 40.0, 50.0], calls, "interaction"),
            },
        )
    )
    assert calls == ["bare", "interaction"] * 3
    # 30 workflows in 0.1 + 0.2 + 0.1 s, not the mean of the three rates
    assert result.overall["bare"] == pytest.approx(75.0)
    assert result.overall["interaction"] == pytest.approx(30 / (1 / 6 + 1 / 4 + 1 / 5))
    assert result.rounds["interaction"] == [60.0, 40.0, 50.0]
    assert result.round_ratios("interaction", "bare") == pytest.approx((0.5, 0.8))
