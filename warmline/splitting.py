"""Deterministic traffic splitting by hashing a stable key (the interaction id).

Why a hash and not a random draw: a workflow replays its decisions, a retried routing step must
land on the same model version, and an A/B analysis needs every interaction to stay in one arm.
SHA-256 keeps buckets uniform for any id scheme; the salt decorrelates independent splits
(a canary of one agent and an A/B test of another should not pick the same customers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_BUCKET_BYTES = 8
_BUCKET_SPACE = float(1 << (8 * _BUCKET_BYTES))


def bucket(key: str, salt: str = "") -> float:
    """Map ``key`` to a uniform point in [0, 1); same key and salt, same point, everywhere."""
    material = f"{salt}\x1f{key}" if salt else key
    digest = hashlib.sha256(material.encode("utf-8")).digest()
    return int.from_bytes(digest[:_BUCKET_BYTES], "big") / _BUCKET_SPACE


def pick_weighted(
    key: str, options: Sequence[T], weight: Callable[[T], float], salt: str = ""
) -> T | None:
    """Pick one option with probability proportional to its weight, deterministically by key.

    Negative weights count as zero; ``None`` when no option has weight. The order of
    ``options`` matters (it lays out the buckets), so callers pass them in a stable order.
    """
    weights = [max(0.0, weight(option)) for option in options]
    total = sum(weights)
    if total <= 0.0:
        return None
    target = bucket(key, salt) * total
    cumulative = 0.0
    chosen: T | None = None
    for option, option_weight in zip(options, weights, strict=True):
        if option_weight <= 0.0:
            continue
        chosen = option
        cumulative += option_weight
        if target < cumulative:
            return option
    # Floating-point sums can leave target a hair above the last edge: that is the last option.
    return chosen
