"""Human oversight as pure decisions: which supervision mode, when a semi-autonomous AI must
ask, which interactions QA samples, when an intent's phase moves, how many supervisors it takes.

No Temporal, HTTP or database here: workflows call these on replay and tests walk every branch
without a server. Every decision carries its reasons.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from models.supervision import (
    ANY,
    SemiAutonomousTrigger,
    SemiAutonomousTriggers,
    SupervisionMode,
    SupervisionPolicy,
    TriggerAction,
    TriggerKind,
)
from models.supervision_phase import (
    PHASE_MODE,
    PHASE_ORDER,
    Phase,
    PhaseCriteria,
    PhaseEvidence,
    PhaseVerdict,
    PromotionCriteria,
    RegressionCriteria,
    StaffingImpact,
    SupervisionPhaseState,
    VerdictAction,
)
from warmline.amounts import find_worded_amounts
from warmline.splitting import bucket

MONITORED_ROUTE = "ai_monitored"
QA_SAMPLE_SALT = "qa-sample"
"""Salt of the QA draw, so QA samples are independent of canary and A/B buckets."""
SEMI_AUTONOMOUS_SHARE_ESTIMATE = 0.3
"""Share of semi-autonomous interactions assumed to need a supervisor until observed."""
_SECONDS_PER_HOUR = 3600.0
_ROUNDING = 1e-9  # 10.000000001 supervisors is 10, not 11

# -- modes -------------------------------------------------------------------------------------


def mode_for(
    policy: SupervisionPolicy, intent: str, channel: str, route: str | None = None
) -> tuple[SupervisionMode, str]:
    """The supervision mode of one interaction and why.

    The most specific matching cell wins (intent x channel, then intent alone, then channel
    alone): the intent carries the risk (payments, legal), the channel only shapes it. A
    mid-confidence route (``ai_monitored``) may tighten the mode, never loosen it.
    """
    matching = [
        rule
        for rule in policy.modes
        if rule.intent in (ANY, intent) and rule.channel in (ANY, channel)
    ]
    if matching:
        best = max(matching, key=lambda r: (r.specificity(), r.intent != ANY))
        mode = best.mode
        reason = (
            f"policy v{policy.version}: rule intent={best.intent} channel={best.channel} "
            f"-> {mode.value}"
        )
    else:
        mode = policy.default_mode
        reason = f"policy v{policy.version}: no rule for {intent}/{channel}, default {mode.value}"
    floor = policy.monitored_route_mode
    if route == MONITORED_ROUTE and floor.strictness > mode.strictness:
        reason += f"; routed ai_monitored, tightened to {floor.value}"
        mode = floor
    return mode, reason


# -- semi-autonomous triggers --------------------------------------------------------------

_SYMBOL = r"[$€£¥₹]"
_CODE = r"(?:usd|eur|gbp|cad|aud|chf|jpy|inr)"
_WORD = r"(?:dollars?|bucks|euros?|pounds?|quid|yen|rupees?)"
_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,250.00
    r"|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?"  # 1.250,00
    r"|\d+(?:[.,]\d{1,2})?)"  # 300, 12.50, 12,50
)
_SCALE = r"(?:\s?(?P<scale{n}>k|m|thousand|million)\b)?"
_AMOUNT_RES = (
    re.compile(
        rf"(?:{_SYMBOL}|\b{_CODE})\s?(?P<num0>{_NUMBER}){_SCALE.format(n=0)}", re.IGNORECASE
    ),
    re.compile(
        rf"(?<![\d.,])(?P<num1>{_NUMBER}){_SCALE.format(n=1)}\s?(?:{_SYMBOL}|{_CODE}\b|{_WORD}\b)",
        re.IGNORECASE,
    ),
)
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}


def _number(text: str) -> float:
    """Read 1,250.00 / 1.250,00 / 12,50 / 1.250; an ambiguous separator reads as the larger
    amount (1.250 -> 1250), because over-reading only costs a human's glance."""
    if "," in text and "." in text:
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        return float(text.replace(thousands, "").replace(decimal, "."))
    for separator in ",.":
        if separator in text:
            head, _, tail = text.rpartition(separator)
            if len(tail) == 3:
                return float(text.replace(separator, ""))
            return float(f"{head.replace(separator, '')}.{tail}")
    return float(text)


def find_amounts(text: str) -> list[float]:
    """Monetary amounts written in ``text`` ("$1,250.00", "€300", "500 dollars", "USD 2k",
    "five thousand dollars").

    Currencies are not converted: thresholds compare face values, which errs towards asking
    a human for weak currencies rather than missing a large transaction.
    """
    amounts: list[float] = []
    for index, pattern in enumerate(_AMOUNT_RES):
        for match in pattern.finditer(text):
            value = _number(match.group(f"num{index}"))
            scale = match.group(f"scale{index}")
            amounts.append(value * _SCALES[scale.lower()] if scale else value)
    return amounts + find_worded_amounts(text)


def _topic_pattern(topic: str) -> re.Pattern[str]:
    phrase = r"\s+".join(re.escape(word) for word in topic.split())
    return re.compile(rf"\b{phrase}(?:s|es)?\b", re.IGNORECASE)


def _flagged(text: str, topics: Iterable[str], flagged: list[str]) -> str | None:
    given = {topic.strip().lower() for topic in topics}
    for topic in flagged:
        if topic in given or _topic_pattern(topic).search(text):
            return topic
    return None


def semi_autonomous_triggers(
    text: str,
    amount: float | None,
    sentiment: float | None,
    duration: float | None,
    topics: Iterable[str],
    policy: SupervisionPolicy | SemiAutonomousTriggers,
) -> list[SemiAutonomousTrigger]:
    """Every semi-autonomous condition that fires, handovers before approvals.

    ``text`` is the (redacted) customer turn and/or AI draft; ``amount`` a transaction amount
    known from elsewhere (CRM, metadata); ``topics`` labels the caller already detected.
    """
    rules = policy.triggers if isinstance(policy, SupervisionPolicy) else policy
    fired: list[SemiAutonomousTrigger] = []

    def fire(kind: TriggerKind, detail: str, value: float | str, threshold: float | str) -> None:
        fired.append(
            SemiAutonomousTrigger(
                kind=kind,
                action=rules.action_for(kind),
                detail=detail,
                value=value,
                threshold=threshold,
            )
        )

    limit = rules.monetary_amount_above
    largest = max([*find_amounts(text), *([amount] if amount is not None else [])], default=None)
    if limit is not None and largest is not None and largest > limit:
        fire(TriggerKind.MONETARY_AMOUNT, f"amount {largest:,.2f} > {limit:,.2f}", largest, limit)
    floor = rules.sentiment_below
    if floor is not None and sentiment is not None and sentiment < floor:
        fire(TriggerKind.SENTIMENT, f"sentiment {sentiment:.2f} < {floor:.2f}", sentiment, floor)
    longest = rules.duration_above_seconds
    if longest is not None and duration is not None and duration > longest:
        fire(TriggerKind.DURATION, f"duration {duration:.0f}s > {longest:.0f}s", duration, longest)
    topic = _flagged(text, topics, rules.flagged_topics)
    if topic is not None:
        fire(TriggerKind.FLAGGED_TOPIC, f"flagged topic: {topic}", topic, topic)
    # Stable sort: handovers first (the stronger action), then the order above.
    return sorted(fired, key=lambda t: t.action is not TriggerAction.HANDOVER)


def semi_autonomous_check(
    text: str,
    amount: float | None,
    sentiment: float | None,
    duration: float | None,
    topics: Iterable[str],
    policy: SupervisionPolicy | SemiAutonomousTriggers,
) -> SemiAutonomousTrigger | None:
    """The trigger that decides this turn (see ``semi_autonomous_triggers``), or None."""
    fired = semi_autonomous_triggers(text, amount, sentiment, duration, topics, policy)
    return fired[0] if fired else None


# -- QA sampling -------------------------------------------------------------------------------


def qa_sampled(interaction_id: str, rate: float) -> bool:
    """Whether the interaction goes to post-interaction QA, the same answer on every replay.

    A hash and not ``random``: the decision must survive replay and retries, and an auditor can
    recompute which interactions should have been sampled.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within [0, 1], got {rate}")
    return bucket(interaction_id, QA_SAMPLE_SALT) < rate


# -- phases ------------------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def _promotion_gaps(gate: PromotionCriteria, ev: PhaseEvidence) -> tuple[list[str], list[str]]:
    """(met, unmet) reasons; a metric without data is unmet (inconclusive never promotes)."""
    met: list[str] = []
    unmet: list[str] = []

    def check(ok: bool, text: str) -> None:
        (met if ok else unmet).append(text)

    check(ev.days_in_phase >= gate.min_days, f"days {ev.days_in_phase:.1f} >= {gate.min_days}")
    check(ev.volume >= gate.min_volume, f"volume {ev.volume} >= {gate.min_volume}")
    if gate.min_reviewed_drafts:
        check(
            ev.reviewed_drafts >= gate.min_reviewed_drafts,
            f"reviewed drafts {ev.reviewed_drafts} >= {gate.min_reviewed_drafts}",
        )
    minimums = (
        ("draft approval", ev.draft_approval_rate, gate.min_draft_approval_rate),
        ("containment", ev.containment_rate, gate.min_containment_rate),
        ("csat delta", ev.csat_delta, gate.min_csat_delta),
    )
    for name, value, least in minimums:
        if least is not None:
            check(value is not None and value >= least, f"{name} {_rate(value)} >= {least}")
    if gate.min_qa_resolution_accuracy is not None:
        check(
            ev.qa_samples >= gate.min_qa_samples,
            f"qa samples {ev.qa_samples} >= {gate.min_qa_samples}",
        )
        value = ev.qa_resolution_accuracy
        least = gate.min_qa_resolution_accuracy
        check(value is not None and value >= least, f"qa accuracy {_rate(value)} >= {least}")
    return met, unmet


def _regressions(rule: RegressionCriteria, ev: PhaseEvidence) -> tuple[list[str], str | None]:
    """(breaches, why no judgment was possible)."""
    if ev.window_volume < rule.min_window_volume:
        return [], f"window volume {ev.window_volume} < {rule.min_window_volume}: no judgment"
    breaches: list[str] = []
    floors = (
        ("draft approval", ev.draft_approval_rate, rule.draft_approval_rate_below),
        ("containment", ev.containment_rate, rule.containment_rate_below),
        ("csat delta", ev.csat_delta, rule.csat_delta_below),
    )
    for name, value, floor in floors:
        if floor is not None and value is not None and value < floor:
            breaches.append(f"{name} {value:.3f} < {floor}")
    accuracy, floor = ev.qa_resolution_accuracy, rule.qa_resolution_accuracy_below
    if (
        floor is not None
        and accuracy is not None
        and ev.qa_samples >= rule.min_qa_samples
        and accuracy < floor
    ):
        breaches.append(f"qa accuracy {accuracy:.3f} < {floor} ({ev.qa_samples} samples)")
    return breaches, None


def evaluate_phase(
    state: SupervisionPhaseState, evidence: PhaseEvidence, criteria: PhaseCriteria | None = None
) -> PhaseVerdict:
    """Promote-ready, hold or demote, with reasons: one step at a time, regression first.

    A regression demotes at once (the customer is at risk now); a promotion is only ever
    *ready*, since a human signs it off. Maturity is the last phase.
    """
    rules = criteria or state.criteria
    phase = state.phase
    notes: list[str] = []
    if phase is not Phase.PILOT:
        regression = (
            rules.scaling_regression if phase is Phase.SCALING else rules.maturity_regression
        )
        breaches, no_judgment = _regressions(regression, evidence)
        if breaches:
            target = PHASE_ORDER[PHASE_ORDER.index(phase) - 1]
            return PhaseVerdict(
                action=VerdictAction.DEMOTE,
                phase=phase,
                target=target,
                reasons=[f"regression in {phase.value}: {b}" for b in breaches],
            )
        notes.append(no_judgment or "no regression")
    if phase is Phase.MATURITY:
        return PhaseVerdict(
            action=VerdictAction.HOLD, phase=phase, reasons=[*notes, "maturity is the last phase"]
        )
    target = PHASE_ORDER[PHASE_ORDER.index(phase) + 1]
    gate = rules.to_scaling if phase is Phase.PILOT else rules.to_maturity
    met, unmet = _promotion_gaps(gate, evidence)
    if unmet:
        return PhaseVerdict(
            action=VerdictAction.HOLD,
            phase=phase,
            target=target,
            reasons=[*notes, *(f"not yet: {reason}" for reason in unmet)],
        )
    return PhaseVerdict(
        action=VerdictAction.PROMOTE_READY, phase=phase, target=target, reasons=[*notes, *met]
    )


# -- supervisor staffing ------------------------------------------------------------------------


def concurrent_sessions(volume_per_hour: float, aht_seconds: float) -> float:
    """Sessions open at once on average (Little's law: arrival rate x time in system)."""
    return max(0.0, volume_per_hour) * max(0.0, aht_seconds) / _SECONDS_PER_HOUR


def supervisor_staffing(volume_per_hour: float, aht_seconds: float, cap: int) -> int:
    """Supervisors the supervision queue implies: concurrent supervised sessions / cap, up.

    Not Erlang C on purpose: Erlang C sizes servers that take one contact at a time and
    trades seats for queueing delay; a supervisor watches up to ``cap`` sessions at once, so the
    workload (Little's law) divided by the cap is the seat count. Rounded up because a fraction
    of a supervisor is a whole person on the floor; shrinkage and occupancy targets are the WFM
    platform's to add on top.
    """
    if cap < 1:
        raise ValueError(f"cap must be at least 1, got {cap}")
    return math.ceil(concurrent_sessions(volume_per_hour, aht_seconds) / cap - _ROUNDING)


def supervised_share(mode: SupervisionMode | None, observed: float | None = None) -> float:
    """Share of a mode's interactions that occupy a supervisor while live.

    Fully supervised: all of them. Semi-autonomous: those whose triggers fired (observed when
    known, else an estimate). Fully autonomous: none live (QA happens after the interaction).
    """
    if mode is SupervisionMode.FULLY_SUPERVISED:
        return 1.0
    if mode is SupervisionMode.SEMI_AUTONOMOUS:
        return observed if observed is not None else SEMI_AUTONOMOUS_SHARE_ESTIMATE
    return 0.0


def staffing_impact(
    from_phase: Phase | None, to_phase: Phase, evidence: PhaseEvidence | None, cap: int
) -> StaffingImpact:
    """Supervisors before and after a phase move, from the volume and handle time observed."""
    ev = evidence or PhaseEvidence(days_in_phase=0, volume=0)
    hours = ev.window_days * 24
    volume_per_hour = ev.window_volume / hours if hours > 0 else 0.0
    aht = ev.mean_handle_seconds or 0.0
    before_mode = PHASE_MODE[from_phase] if from_phase is not None else None
    after_mode = PHASE_MODE[to_phase]
    share_before = supervised_share(before_mode, ev.supervised_share)
    observed_after = ev.supervised_share if to_phase == from_phase else None
    share_after = supervised_share(after_mode, observed_after)
    reasons = [
        f"{volume_per_hour:.2f} interactions/h x {aht:.0f}s handle time, cap {cap} per supervisor",
        f"supervised share {share_before:.2f} -> {share_after:.2f}",
    ]
    if after_mode is SupervisionMode.SEMI_AUTONOMOUS and observed_after is None:
        reasons.append(f"semi-autonomous share estimated at {SEMI_AUTONOMOUS_SHARE_ESTIMATE}")
    return StaffingImpact(
        volume_per_hour=round(volume_per_hour, 6),
        mean_handle_seconds=round(aht, 6),
        supervisor_cap=cap,
        supervised_share_before=share_before,
        supervised_share_after=share_after,
        supervisors_before=supervisor_staffing(volume_per_hour * share_before, aht, cap),
        supervisors_after=supervisor_staffing(volume_per_hour * share_after, aht, cap),
        reasons=reasons,
    )
