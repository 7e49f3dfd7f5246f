"""One way for benchmarks to print their figures: a name, the value, the goal if it has one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def print_figures(figures: Mapping[str, Any], goals: Mapping[str, float]) -> None:
    """``goals`` is keyed by figure name, or by the name without a ``recall_`` prefix."""
    width = max(len(key) for key in figures) + 2
    for key, value in figures.items():
        goal = goals.get(key, goals.get(key.removeprefix("recall_")))
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:{width}s} {shown:>12s}" + (f"   goal {goal}" if goal is not None else ""))
