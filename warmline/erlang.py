"""Erlang C: how many human agents hold a service level for a given volume and handle time.

The one staffing module: WFM capacity events (``warmline.wfm_signal``), the WFM views and the
``warmline wfm staffing`` command all size human queues here. A capacity event that says "12
more interactions per 15 minutes" is only actionable once it also says "that is 2 more agents
to stay at 80/20".

Two kinds of arithmetic on purpose:

- The probability of waiting goes through the Erlang B recursion, which never forms the huge
  powers and factorials of the textbook formula and so stays stable for thousands of agents.
  Service level and ASA follow from it in floating point (they contain ``exp``).
- Limits a published case can sit exactly on are decided in exact rationals: the offered load
  ``arrivals x AHT / interval``, occupancy ``A / N`` against a maximum, and scheduled agents
  ``N / (1 - shrinkage)``. In floating point 153 calls of 180 s per 30 minutes on 18 agents
  is an occupancy of 0.8500000000000001 (over an 85% cap), and 21 productive agents at 30%
  shrinkage are 30.000000000000004 scheduled (rounded up to 31); exactly they are 85% and 30.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

MAX_AGENTS = 10_000
"""Search bound for the staffing searches; far above any single queue."""

Number = int | float | Decimal | Fraction


def exact(value: Number) -> Fraction:
    """The decimal a person typed, as an exact rational: 0.3 is 3/10, not the nearest double."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return Fraction(repr(value))
    return Fraction(value)


def offered_load(
    arrivals_per_interval: Number, aht_seconds: Number, interval_seconds: Number
) -> Fraction:
    """Offered load A = arrivals x handle time / interval (Erlangs), exactly."""
    arrivals, aht, interval = (
        exact(arrivals_per_interval),
        exact(aht_seconds),
        exact(interval_seconds),
    )
    if arrivals < 0 or aht < 0 or interval <= 0:
        raise ValueError("arrivals and handle time must be >= 0 and the interval > 0")
    return arrivals * aht / interval


def traffic_erlangs(
    arrivals_per_interval: float, aht_seconds: float, interval_seconds: float
) -> float:
    """Offered load A = arrival rate x handle time (in Erlangs)."""
    return float(offered_load(arrivals_per_interval, aht_seconds, interval_seconds))


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability with ``agents`` servers and no queue."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must be >= 0")
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that an arriving contact waits (1.0 when the queue grows without bound)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1 - b))


def service_level(agents: int, traffic: float, aht_seconds: float, answer_seconds: float) -> float:
    """Share of contacts answered within ``answer_seconds``."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    wait = erlang_c(agents, traffic)
    return 1.0 - wait * math.exp(-(agents - traffic) * answer_seconds / aht_seconds)


def average_speed_of_answer(agents: int, traffic: float, aht_seconds: float) -> float:
    """Mean wait in seconds over all contacts (infinite when understaffed)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_seconds / (agents - traffic)


def occupancy(agents: int, traffic: Number) -> Fraction:
    """Share of staffed time spent handling contacts, A / N, exactly (capped at 1)."""
    if agents <= 0:
        return Fraction(1) if exact(traffic) > 0 else Fraction(0)
    return min(Fraction(1), exact(traffic) / agents)


def within_occupancy(agents: int, traffic: Number, max_occupancy: Number | None) -> bool:
    """Whether ``agents`` keep occupancy at or below the cap (decided exactly)."""
    return max_occupancy is None or occupancy(agents, traffic) <= exact(max_occupancy)


def scheduled_agents(productive_agents: int, shrinkage: Number = 0) -> int:
    """Agents to schedule so that ``productive_agents`` remain after shrinkage (breaks,
    training, absence): ``ceil(N / (1 - shrinkage))``, exactly."""
    share = exact(shrinkage)
    if not 0 <= share < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    return math.ceil(Fraction(productive_agents) / (1 - share))


def _search(traffic: Fraction, meets: Callable[[int], bool]) -> int:
    if traffic <= 0:
        return 0
    agents = math.floor(traffic) + 1
    while agents <= MAX_AGENTS:
        if meets(agents):
            return agents
        agents += 1
    raise ValueError(f"more than {MAX_AGENTS} agents needed for {float(traffic):.1f} Erlangs")


def agents_for_service_level(
    traffic: Number,
    aht_seconds: float,
    target_service_level: float,
    answer_seconds: float,
    max_occupancy: Number | None = None,
) -> int:
    """Fewest productive agents answering ``target_service_level`` within ``answer_seconds``
    (and keeping occupancy at or below ``max_occupancy`` when given)."""
    if not 0.0 <= target_service_level < 1.0:
        raise ValueError("target service level must be in [0, 1)")
    load = exact(traffic)
    return _search(
        load,
        lambda n: (
            within_occupancy(n, load, max_occupancy)
            and service_level(n, float(load), aht_seconds, answer_seconds) >= target_service_level
        ),
    )


def agents_for_asa(
    traffic: Number,
    aht_seconds: float,
    target_asa_seconds: float,
    max_occupancy: Number | None = None,
) -> int:
    """Fewest productive agents whose average speed of answer is at most the target."""
    if target_asa_seconds < 0:
        raise ValueError("target ASA must be >= 0")
    load = exact(traffic)
    return _search(
        load,
        lambda n: (
            within_occupancy(n, load, max_occupancy)
            and average_speed_of_answer(n, float(load), aht_seconds) <= target_asa_seconds
        ),
    )


def agents_needed(
    arrivals_per_interval: float,
    aht_seconds: float,
    interval_seconds: float,
    target_service_level: float,
    answer_seconds: float,
    max_occupancy: float | None = None,
) -> int:
    """Fewest agents that answer ``target_service_level`` of contacts within ``answer_seconds``
    (and keep occupancy A/N at or below ``max_occupancy`` if given)."""
    if not 0.0 <= target_service_level < 1.0:
        raise ValueError("target service level must be in [0, 1)")
    traffic = offered_load(arrivals_per_interval, aht_seconds, interval_seconds)
    return agents_for_service_level(
        traffic, aht_seconds, target_service_level, answer_seconds, max_occupancy
    )


@dataclass(frozen=True)
class Staffing:
    """What ``warmline wfm staffing`` prints: the requirement and the metrics it yields."""

    traffic_erlangs: float
    raw_agents: int
    """Productive agents (on the phones): the Erlang C answer."""
    scheduled_agents: int
    """Agents to schedule so that ``raw_agents`` remain after shrinkage."""
    service_level: float
    p_wait: float
    asa_s: float | None
    """``None`` when the queue grows without bound (too few agents)."""
    occupancy: float


def staffing(
    *,
    arrivals: Number,
    interval_seconds: Number,
    aht_seconds: Number,
    target_sl: float,
    target_answer_seconds: float,
    max_occupancy: Number | None = None,
    shrinkage: Number = 0,
    target_asa_seconds: float | None = None,
    agents: int | None = None,
) -> Staffing:
    """Productive and scheduled agents for one interval and queue, or, given ``agents``
    (productive), the metrics that count yields."""
    load = offered_load(arrivals, aht_seconds, interval_seconds)
    aht = float(exact(aht_seconds))
    if agents is not None:
        if agents < 0:
            raise ValueError("agents must be >= 0")
        productive = agents
    else:
        productive = agents_for_service_level(
            load, aht, target_sl, target_answer_seconds, max_occupancy
        )
        if target_asa_seconds is not None:
            productive = max(
                productive, agents_for_asa(load, aht, target_asa_seconds, max_occupancy)
            )
    traffic = float(load)
    asa = average_speed_of_answer(productive, traffic, aht)
    return Staffing(
        traffic_erlangs=traffic,
        raw_agents=productive,
        scheduled_agents=scheduled_agents(productive, shrinkage),
        service_level=service_level(productive, traffic, aht, target_answer_seconds),
        p_wait=erlang_c(productive, traffic),
        asa_s=None if math.isinf(asa) else asa,
        occupancy=float(occupancy(productive, load)),
    )
