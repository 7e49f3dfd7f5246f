"""Confidence thresholds calibrated from what happened to AI-routed interactions.

Hand-set thresholds come from validation data; this module asks the facts instead. Per cell of
the confidence matrix (intent x channel x segment) it tallies, band by band, what happened to
the interactions routing gave the AI (contained, escalated, abandoned, CSAT, repeat contact),
then proposes for each threshold the lowest band edge at which the interactions at or above it
met the quality target on the evidence:

- never below the target: the resolution rate of the interactions at or above a proposed
  threshold (its Wilson lower bound with ``evidence_z``) meets the target, and so does the
  rate of the band just above the threshold; when no edge does,
  the threshold goes to 1 (the AI no longer gets that cell unmonitored, or at all);
- few samples, no change: an edge needs ``min_samples`` interactions at or above it, and a
  threshold moves only to an edge with interactions in its own band (never into confidence
  the AI was never given, which the facts cannot speak for), and rises only above evidence
  that failed;
- monotone: a stricter target never lowers a threshold, better outcomes never raise one, and
  ``monitored_min`` never exceeds ``ai_min``.

The result is a proposed ``RoutingConfig`` plus its evidence; nothing here applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from models.calibration import (
    BandEvidence,
    CalibrationResult,
    CellEvidence,
    OutcomeSample,
    QualityTarget,
)
from models.routing import RoutingConfig, ThresholdRule
from warmline.capability import apply_capabilities, capability_estimates
from warmline.outcomes import is_evidence, is_resolved, wilson_lower
from warmline.routing import threshold_for

EDGE_DIGITS = 6
Cell = tuple[str, str, str]


def band_edges(width: float) -> list[float]:
    """Lower edges of the bands covering [0, 1]: 0, w, 2w, ... (below 1)."""
    count = int(round(1.0 / width, 9))
    count = count if count * width >= 1.0 - 1e-9 else count + 1
    return [round(i * width, EDGE_DIGITS) for i in range(count)]


def band_index(confidence: float, width: float, bands: int) -> int:
    return min(int(round(confidence / width, 9)), bands - 1) if confidence > 0 else 0


def band_evidence(samples: Sequence[OutcomeSample], target: QualityTarget) -> list[BandEvidence]:
    """The bands that hold interactions, lowest first."""
    edges = band_edges(target.band_width)
    grouped: dict[int, list[OutcomeSample]] = defaultdict(list)
    for sample in samples:
        grouped[band_index(sample.confidence, target.band_width, len(edges))].append(sample)
    bands = []
    for index in sorted(grouped):
        members = grouped[index]
        csats = [s.csat for s in members if s.csat is not None]
        repeats = [s.repeat_contact for s in members if s.repeat_contact is not None]
        bands.append(
            BandEvidence(
                low=edges[index],
                high=edges[index + 1] if index + 1 < len(edges) else 1.0,
                interactions=len(members),
                contained=sum(s.outcome == "contained" for s in members),
                escalated=sum(s.outcome == "escalated" for s in members),
                abandoned=sum(s.outcome == "abandoned" for s in members),
                resolved=sum(is_resolved(s, target) for s in members),
                csat_count=len(csats),
                csat_mean=round(sum(csats) / len(csats), 3) if csats else None,
                repeat_contacts=sum(repeats) if repeats else None,
            )
        )
    return bands


def calibrated_threshold(
    bands: Sequence[BandEvidence], rate: float, target: QualityTarget, current: float
) -> float | None:
    """The lowest band edge whose interactions at or above met ``rate`` on the evidence, and
    whose own band met it too (a poor band never rides in on the good ones above it); 1.0 when
    no edge with enough evidence does; None when no edge has enough evidence (no change).
    A threshold is raised only above an edge whose evidence failed: ``current`` is kept when
    all the evidence lies above it and met the target.
    """
    qualifying: list[tuple[float, bool]] = []
    above = resolved = 0
    for band in sorted(bands, key=lambda b: b.low, reverse=True):
        above += band.interactions
        resolved += band.resolved
        if band.interactions > 0 and above >= target.min_samples:
            z = target.evidence_z
            ok = wilson_lower(resolved, above, z) >= rate
            ok = ok and wilson_lower(band.resolved, band.interactions, z) >= rate
            qualifying.append((band.low, ok))
    if not qualifying:
        return None
    met = [edge for edge, ok in qualifying if ok]
    lowest = min(edge for edge, _ in qualifying)
    proposed = min(met) if met else 1.0
    if proposed == lowest and proposed > current:
        # Everything the evidence covers met the target: nothing below it failed, so there is
        # no reason to raise the threshold into confidence the AI was never given.
        return current
    return proposed


def calibrate_cell(
    cell: Cell, current: ThresholdRule, samples: Sequence[OutcomeSample], target: QualityTarget
) -> CellEvidence:
    """Evidence and proposal for one cell, with the reasons in words."""
    intent, channel, segment = cell
    bands = band_evidence(samples, target)
    ai_min = calibrated_threshold(bands, target.min_resolution_rate, target, current.ai_min)
    monitored_min = calibrated_threshold(
        bands, target.min_monitored_resolution_rate, target, current.monitored_min
    )
    reasons: list[str] = []
    if ai_min is None:
        reasons.append(
            f"{len(samples)} interactions: fewer than {target.min_samples} at any band edge, "
            "no change"
        )
        return CellEvidence(
            intent=intent,
            channel=channel,
            segment=segment,
            current=current,
            interactions=len(samples),
            bands=bands,
            reasons=reasons,
        )
    new_ai = ai_min
    new_monitored = min(monitored_min if monitored_min is not None else new_ai, new_ai)
    for name, old, new, rate in (
        ("ai_min", current.ai_min, new_ai, target.min_resolution_rate),
        (
            "monitored_min",
            current.monitored_min,
            new_monitored,
            target.min_monitored_resolution_rate,
        ),
    ):
        if new >= 1.0 and old < 1.0:
            reasons.append(f"{name} {old:g} -> 1: no band edge met resolution {rate:g}")
        elif abs(new - old) > 1e-9:
            reasons.append(
                f"{name} {old:g} -> {new:g}: interactions at or above it met resolution {rate:g}"
            )
    proposed = None
    if reasons:
        proposed = ThresholdRule(
            intent=intent,
            channel=channel,
            segment=segment,
            ai_min=new_ai,
            monitored_min=new_monitored,
        )
    else:
        reasons.append("thresholds already meet the target on the evidence, no change")
    return CellEvidence(
        intent=intent,
        channel=channel,
        segment=segment,
        current=current,
        proposed=proposed,
        interactions=len(samples),
        bands=bands,
        reasons=reasons,
    )


def with_rules(config: RoutingConfig, rules: Iterable[ThresholdRule]) -> RoutingConfig:
    """``config`` whose matrix has ``rules`` replacing the rules of exactly the same cells."""
    thresholds = list(config.thresholds)
    for rule in rules:
        key = (rule.intent, rule.channel, rule.segment)
        thresholds = [r for r in thresholds if (r.intent, r.channel, r.segment) != key]
        thresholds.append(rule)
    return config.model_copy(update={"thresholds": thresholds})


def calibrate(
    config: RoutingConfig, samples: Iterable[OutcomeSample], target: QualityTarget
) -> CalibrationResult:
    """Evidence per cell and endpoint x intent, and the routing config it proposes.

    Intents with a fixed destination in the intent map are left out: no threshold decides them.
    """
    evidence = [s for s in samples if is_evidence(s)]
    cells: dict[Cell, list[OutcomeSample]] = defaultdict(list)
    for sample in evidence:
        if sample.intent not in config.intent_map:
            cells[(sample.intent, sample.channel, sample.segment)].append(sample)
    cell_results = [
        calibrate_cell(cell, threshold_for(config, *cell), members, target)
        for cell, members in sorted(cells.items())
    ]
    changes = [
        f"{c.intent}/{c.channel}/{c.segment}: {reason}"
        for c in cell_results
        if c.proposed is not None
        for reason in c.reasons
    ]
    proposed = with_rules(config, (c.proposed for c in cell_results if c.proposed is not None))
    capabilities = capability_estimates(evidence, config, target)
    proposed, capability_changes = apply_capabilities(proposed, capabilities)
    return CalibrationResult(
        base_version=config.version,
        target=target,
        interactions=len(evidence),
        cells=cell_results,
        capabilities=capabilities,
        config=proposed,
        changes=changes + capability_changes,
    )
