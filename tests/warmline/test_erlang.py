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


# -- exact limits, shrinkage, ASA targets, the staffing summary --------------------------------
from fractions import Fraction  # noqa: E402

from warmline.erlang import (  # noqa: E402
    agents_for_asa,
    occupancy,
    offered_load,
    scheduled_agents,
    staffing,
    within_occupancy,
)


def test_call_centre_helper_worked_example() -> None:
    """Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example":
    100 calls per 30 minutes, AHT 180 s, 80% in 20 s, max occupancy 85%, shrinkage 30%:
    10 Erlangs, 14 agents (SL 88.8%, P(wait) 17.4%, ASA 7.8 s, occupancy 71.4%),
    14 / (1 - 0.3) = 20 agents scheduled."""
    result = staffing(
        arrivals=100,
        interval_seconds=1800,
        aht_seconds=180,
        target_sl=0.8,
        target_answer_seconds=20,
        max_occupancy=0.85,
        shrinkage=0.3,
    )
    assert result.traffic_erlangs == 10.0
    assert (result.raw_agents, result.scheduled_agents) == (14, 20)
    assert result.service_level == pytest.approx(0.8884, abs=5e-5)
    assert result.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert result.asa_s == pytest.approx(7.8, abs=0.05)
    assert result.occupancy == pytest.approx(10 / 14)


def test_westbay_worked_example_at_a_given_head_count() -> None:
    """Mitan Ltd, "The Erlang-C Formula" (the step-by-step calculation page): 360 calls
    per half hour, 4 minutes each, 55 agents, 15 s target:
    48 Erlangs, occupancy 87.3%, P(wait) 23.9%, ASA 8.2 s, service level 84.6%."""
    result = staffing(
        arrivals=360,
        interval_seconds=1800,
        aht_seconds=240,
        target_sl=0.8,
        target_answer_seconds=15,
        agents=55,
    )
    assert result.traffic_erlangs == 48.0
    assert result.raw_agents == 55
    assert result.occupancy == pytest.approx(0.8727, abs=5e-5)
    assert result.p_wait == pytest.approx(0.2387, abs=5e-4)
    assert result.asa_s == pytest.approx(8.2, abs=0.05)
    assert result.service_level == pytest.approx(0.846, abs=5e-4)


def test_occupancy_exactly_on_the_cap_is_within_it() -> None:
    # 153 calls of 180 s per 30 minutes on 18 agents: 15.3 / 18 = 0.85 exactly. In floating
    # point it is 0.8500000000000001 and a float check would demand a 19th agent.
    assert 153 * 180 / 1800 / 18 > 0.85
    assert occupancy(18, offered_load(153, 180, 1800)) == Fraction(17, 20)
    assert within_occupancy(18, offered_load(153, 180, 1800), 0.85)
    assert not within_occupancy(17, offered_load(153, 180, 1800), 0.85)
    sized = staffing(
        arrivals=153,
        interval_seconds=1800,
        aht_seconds=180,
        target_sl=0.0,
        target_answer_seconds=20,
        max_occupancy=0.85,
    )
    assert sized.raw_agents == 18


def test_shrinkage_exactly_on_a_whole_agent() -> None:
    # 21 / 0.7 = 30 exactly; in floating point 30.000000000000004, which rounds up to 31.
    assert math.ceil(21 / (1 - 0.3)) == 31
    assert scheduled_agents(21, 0.3) == 30
    assert scheduled_agents(14, 0.3) == 20
    assert scheduled_agents(15, 0.3) == 22
    assert scheduled_agents(7, 0) == 7
    with pytest.raises(ValueError):
        scheduled_agents(7, 1.0)


def test_asa_target_sizes_to_the_first_head_count_under_it() -> None:
    # The ten-Erlang table: ASA 17.1 s at 13 agents, 7.8 s at 14.
    assert agents_for_asa(10, 180, 20.0) == 13
    assert agents_for_asa(10, 180, 10.0) == 14
    both = staffing(
        arrivals=100,
        interval_seconds=1800,
        aht_seconds=180,
        target_sl=0.7,
        target_answer_seconds=20,
        target_asa_seconds=10,
    )
    assert both.raw_agents == 14  # SL alone would be 13; the ASA target needs 14


def test_understaffed_head_count_reports_no_asa() -> None:
    result = staffing(
        arrivals=100,
        interval_seconds=1800,
        aht_seconds=180,
        target_sl=0.8,
        target_answer_seconds=20,
        agents=9,
    )
    assert result.asa_s is None and result.p_wait == 1.0 and result.service_level == 0.0
    assert result.occupancy == 1.0
