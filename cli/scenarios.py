"""Demo scenarios beyond the default traffic run, registered by name.

Each capability that has a story to show (a canary rollout, an AI outage) registers a
coroutine here; ``warmline demo --scenario NAME`` runs it on the embedded stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.console import Console

from cli.stack import RunningStack

Scenario = Callable[[RunningStack, Console], Awaitable[int]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(run: Scenario) -> Scenario:
        SCENARIOS[name] = run
        return run

    return register


def load_all() -> dict[str, Scenario]:
    """Import the modules that register scenarios (they import this one, hence the late import)."""
    from cli import scenario_canary, scenario_handoff, scenario_outage  # noqa: F401

    return SCENARIOS
