"""Propose the routing matrix's per-intent confidence cut-offs from evaluation data.

For each intent, consider the evaluation utterances the model assigns to it and does not flag
out-of-scope (the router handles flagged ones apart). Sorted by confidence, ``ai_min`` is the
lowest confidence at which the utterances at or above it are right at least ``precision`` of
the time; ``monitored_min`` is the same for the lower ``monitored_precision``. Too little
support, or a target never met, gives no rule for the intent: the routing config's wildcard
rule keeps applying, and the reason says so. A wildcard rule from all intents pooled comes
first, so the proposal is usable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classifier.evaluation import Scored
from models.routing import ANY, ThresholdRule

DEFAULT_PRECISION = 0.95
DEFAULT_MONITORED_PRECISION = 0.85
MIN_SUPPORT = 5


@dataclass
class Suggestion:
    intent: str
    support: int
    rule: ThresholdRule | None
    precision_at_ai_min: float | None = None
    coverage_at_ai_min: float | None = None
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "support": self.support,
            "rule": self.rule.model_dump() if self.rule else None,
            "precision_at_ai_min": self.precision_at_ai_min,
            "coverage_at_ai_min": self.coverage_at_ai_min,
            "reasons": self.reasons,
        }


def lowest_cutoff(
    pairs: list[tuple[float, bool]], target: float
) -> tuple[float, float, int] | None:
    """Lowest confidence c with precision(confidence >= c) >= target: (c, precision, count)."""
    best = None
    right = 0
    ordered = sorted(pairs, key=lambda p: -p[0])
    for k, (conf, ok) in enumerate(ordered, start=1):
        right += ok
        # Only cut between distinct confidences, so ties are all in or all out.
        if k < len(ordered) and ordered[k][0] == conf:
            continue
        if right / k >= target:
            best = (conf, right / k, k)
    return best


def _suggest(
    intent: str, pairs: list[tuple[float, bool]], precision: float, monitored: float
) -> Suggestion:
    suggestion = Suggestion(intent=intent, support=len(pairs), rule=None)
    if len(pairs) < MIN_SUPPORT:
        suggestion.reasons.append(f"only {len(pairs)} predictions (< {MIN_SUPPORT}): no rule")
        return suggestion
    ai = lowest_cutoff(pairs, precision)
    if ai is None:
        suggestion.reasons.append(f"precision {precision:.2f} is never reached: no rule")
        return suggestion
    mon = lowest_cutoff(pairs, monitored)
    ai_min = round(ai[0], 4)
    monitored_min = min(ai_min, round(mon[0], 4)) if mon else ai_min
    suggestion.rule = ThresholdRule(intent=intent, ai_min=ai_min, monitored_min=monitored_min)
    suggestion.precision_at_ai_min = round(ai[1], 4)
    suggestion.coverage_at_ai_min = round(ai[2] / len(pairs), 4)
    suggestion.reasons.append(
        f"{ai[2]} of {len(pairs)} predictions at confidence >= {ai_min} are "
        f"{ai[1]:.1%} right (target {precision:.0%})"
    )
    return suggestion


def suggest_thresholds(
    scored: Scored,
    precision: float = DEFAULT_PRECISION,
    monitored_precision: float = DEFAULT_MONITORED_PRECISION,
) -> list[Suggestion]:
    """One suggestion per intent the model predicted, after a pooled wildcard suggestion."""
    if not 0 < monitored_precision <= precision <= 1:
        raise ValueError("need 0 < monitored_precision <= precision <= 1")
    per_intent: dict[str, list[tuple[float, bool]]] = {}
    flagged = scored.flagged()
    confidence = scored.decisions.confidence.tolist()
    for i, (truth, intent) in enumerate(
        zip(scored.data.labels, scored.predicted_intents(), strict=True)
    ):
        if flagged[i]:
            continue
        per_intent.setdefault(intent, []).append((confidence[i], truth == intent))
    pooled = [pair for pairs in per_intent.values() for pair in pairs]
    out = [_suggest(ANY, pooled, precision, monitored_precision)]
    out += [_suggest(k, v, precision, monitored_precision) for k, v in sorted(per_intent.items())]
    return out
