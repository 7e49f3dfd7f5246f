"""What counts as an AI-routed interaction resolved, for calibration and capability scores.

One definition for both, so a threshold and a capability score never disagree about what
success was: the AI contained it, the customer did not come back about it, and the CSAT (when
given) is not below the target's floor. Escalated and abandoned AI conversations are failures;
interactions the AI never handled (deflected, callback, human only) are not evidence.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from models.calibration import OutcomeSample, QualityTarget

AI_ROUTES = frozenset({"ai", "ai_monitored"})
EVIDENCE_OUTCOMES = frozenset({"contained", "escalated", "abandoned"})
NOT_THE_AIS_DOING = frozenset({"ai_unavailable"})


def is_evidence(sample: OutcomeSample) -> bool:
    """Whether the sample tells anything about the AI: routed to it, and it had the outcome."""
    return (
        sample.route in AI_ROUTES
        and sample.outcome in EVIDENCE_OUTCOMES
        and sample.escalation_trigger not in NOT_THE_AIS_DOING
    )


def is_resolved(sample: OutcomeSample, target: QualityTarget) -> bool:
    if sample.outcome != "contained" or sample.repeat_contact:
        return False
    return sample.csat is None or sample.csat >= target.csat_floor


def repeat_contact(
    keyed: bool,
    started: datetime,
    following: datetime | None,
    now: datetime | None,
    window: timedelta,
) -> bool | None:
    """Whether the customer came back within ``window`` of ``started`` (``following``: their
    next start, if any); None when unknown (no customer key, or the window is still open at
    ``now``, or no ``now`` to tell). An open window is not a "no": the customer may still come
    back, so the evidence reports it as unknown rather than as a customer who stayed away."""
    if not keyed:
        return None
    if following is not None and following - started <= window:
        return True
    if now is not None and now - started >= window:
        return False
    return None


def wilson_lower(successes: int, n: int, z: float) -> float:
    """Lower end of the Wilson score interval; the observed rate when ``z`` is 0."""
    if n <= 0:
        return 0.0
    p = successes / n
    if z == 0.0:
        return p
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z2 / n))
