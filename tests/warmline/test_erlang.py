"""Erlang C against textbook values."""

from __future__ import annotations

import math

import pytest

from warmline.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    traffic_erlangs,
)


def test_small_systems_match_the_closed_form() -> None:
    # C(N, A) for N=2, A=1 is 1/3; for N=3, A=2 it is 4/9 (hand-computable).
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("agents", "wait", "sl_20s", "asa"),
    [
        # The classic worked example: 100 calls per 30 minutes, AHT 180 s -> A = 10 Erlangs.
        (11, 0.6821, 0.3896, 122.8),
        (12, 0.4494, 0.6402, 40.4),
        (13, 0.2853, 0.7956, 17.1),
        (14, 0.1741, 0.8884, 7.8),
    ],
)
def test_the_ten_erlang_table(agents: int, wait: float, sl_20s: float, asa: float) -> None:
    traffic = traffic_erlangs(100, 180, 1800)
    assert traffic == pytest.approx(10.0)
    assert erlang_c(agents, traffic) == pytest.approx(wait, abs=5e-5)
    assert service_level(agents, traffic, 180, 20) == pytest.approx(sl_20s, abs=5e-5)
    assert average_speed_of_answer(agents, traffic, 180) == pytest.approx(asa, abs=0.05)


def test_agents_needed_for_80_in_20_is_14_in_the_classic_example() -> None:
    assert agents_needed(100, 180, 1800, 0.8, 20) == 14
    assert agents_needed(100, 180, 1800, 0.7, 20) == 13
    # An occupancy cap can demand more agents than the service level alone.
    assert agents_needed(100, 180, 1800, 0.8, 20, max_occupancy=0.65) == 16


def test_understaffed_and_idle_edges() -> None:
    assert erlang_c(10, 10.0) == 1.0 and service_level(9, 10.0, 180, 20) == 0.0
    assert average_speed_of_answer(10, 10.0, 180) == math.inf
    assert erlang_c(3, 0.0) == 0.0 and service_level(0, 0.0, 180, 20) == 1.0
    assert average_speed_of_answer(1, 0.0, 180) == 0.0
    assert agents_needed(0, 180, 900, 0.8, 20) == 0


def test_large_queues_stay_numerically_stable() -> None:
    # 3,000 contacts per 15 minutes at 6 minutes AHT is 1,200 Erlangs.
    needed = agents_needed(3000, 360, 900, 0.8, 20)
    assert 1_200 < needed < 1_300
    assert 0.0 < erlang_c(needed, 1_200.0) < 1.0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        traffic_erlangs(10, 180, 0)
    with pytest.raises(ValueError):
        agents_needed(10, 180, 900, 1.0, 20)
    with pytest.raises(ValueError):
        erlang_b(-1, 1.0)
