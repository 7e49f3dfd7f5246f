"""One way for benchmarks to print their figures: a name, the value, the goal if it has one."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def print_figures(figures: Mapping[str, Any], goals: Mapping[str, float]) -> None:
    """``goals`` is keyed by figure name, or by the name without a ``recall_`` prefix."""
    width = max(len(key) for key in figures) + 2
    for key, value in figures.items():
        goal = goals.get(key, goals.get(key.removeprefix("recall_")))
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:{width}s} {shown:>12s}" + (f"   goal {goal}" if goal is not None else ""))


def report(figures: dict[str, Any], goals: Mapping[str, float], json_out: Path | None) -> None:
    """Add the load average (cores may be shared), print, and write ``json_out`` if given."""
    figures["load_average"] = os.getloadavg()[0]
    print_figures(figures, goals)
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2) + "\n")
