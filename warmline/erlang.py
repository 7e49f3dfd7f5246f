"""Erlang C: how many human agents hold a service level for a given volume and handle time.

WFM plans human staffing with Erlang C; a WFM capacity event that says "12 more interactions
per 15 minutes" is only actionable once it also says "that is 2 more agents to stay at 80/20".
The probability of waiting is computed through the Erlang B recursion, which never forms the
huge powers and factorials of the textbook formula and so stays exact for hundreds of agents.
"""

from __future__ import annotations

import math

MAX_AGENTS = 10_000
"""Search bound for ``agents_needed``; far above any single queue."""


def traffic_erlangs(
    arrivals_per_interval: float, aht_seconds: float, interval_seconds: float
) -> float:
    """Offered load A = arrival rate x handle time (in Erlangs)."""
    if arrivals_per_interval < 0 or aht_seconds < 0 or interval_seconds <= 0:
        raise ValueError("arrivals and handle time must be >= 0 and the interval > 0")
    return arrivals_per_interval * aht_seconds / interval_seconds


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
    traffic = traffic_erlangs(arrivals_per_interval, aht_seconds, interval_seconds)
    if traffic <= 0:
        return 0
    agents = max(1, math.floor(traffic) + 1)
    while agents <= MAX_AGENTS:
        meets_sl = (
            service_level(agents, traffic, aht_seconds, answer_seconds) >= target_service_level
        )
        meets_occupancy = max_occupancy is None or traffic / agents <= max_occupancy
        if meets_sl and meets_occupancy:
            return agents
        agents += 1
    raise ValueError(f"more than {MAX_AGENTS} agents needed for {traffic:.1f} Erlangs")
