"""AI endpoints' per-intent capability scores estimated from outcomes, shrunk toward the prior.

The configured capability is what an operator believed; history is what happened. Each is
weighted by how much it knows: the configured value counts as ``prior_strength`` interactions
(a Beta prior with that mean), so ten interactions move a score a little and a thousand move it
almost all the way to the observed rate. Estimates are shown beside the configured values and
reach routing only through a proposal a human approves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from models.calibration import CapabilityEstimate, OutcomeSample, QualityTarget
from models.routing import ANY, AIEndpoint, RoutingConfig
from warmline.outcomes import is_evidence, is_resolved

SCORE_DIGITS = 3


def configured_capability(endpoint: AIEndpoint, intent: str) -> float:
    """The capability routing uses for ``intent``: the intent's own entry, else ``*``, else 0."""
    table = {name.lower(): value for name, value in endpoint.capability.items()}
    return table.get(intent.lower(), table.get(ANY, 0.0))


def shrunk_estimate(prior: float, resolved: int, interactions: int, strength: float) -> float:
    """Posterior mean of a Beta(prior*strength, (1-prior)*strength) after the outcomes.

    Lies between the prior and the observed rate, and moves at most
    ``interactions / (interactions + strength)`` of the way from the prior.
    """
    if interactions <= 0:
        return prior
    return (prior * strength + resolved) / (strength + interactions)


def capability_estimates(
    samples: Iterable[OutcomeSample], config: RoutingConfig, target: QualityTarget
) -> list[CapabilityEstimate]:
    """One estimate per configured endpoint x intent that has outcomes, sorted."""
    endpoints = {f"{ep.name}:{ep.version}": ep for ep in config.ai_endpoints}
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        if sample.endpoint not in endpoints or not is_evidence(sample):
            continue
        tally = counts[(sample.endpoint, sample.intent)]
        tally[0] += 1
        tally[1] += int(is_resolved(sample, target))
    estimates = []
    for (endpoint, intent), (n, resolved) in sorted(counts.items()):
        prior = configured_capability(endpoints[endpoint], intent)
        estimated = round(shrunk_estimate(prior, resolved, n, target.prior_strength), SCORE_DIGITS)
        estimates.append(
            CapabilityEstimate(
                endpoint=endpoint,
                intent=intent,
                configured=prior,
                estimated=estimated,
                interactions=n,
                resolved=resolved,
                proposed=abs(estimated - prior) >= max(target.min_capability_change, 1e-9),
            )
        )
    return estimates


def apply_capabilities(
    config: RoutingConfig, estimates: Iterable[CapabilityEstimate]
) -> tuple[RoutingConfig, list[str]]:
    """``config`` with the proposed estimates written into the endpoints' capability tables."""
    by_endpoint: dict[str, dict[str, float]] = defaultdict(dict)
    for estimate in estimates:
        if estimate.proposed:
            by_endpoint[estimate.endpoint][estimate.intent] = estimate.estimated
    changes: list[str] = []
    endpoints = []
    for ep in config.ai_endpoints:
        updates = by_endpoint.get(f"{ep.name}:{ep.version}")
        if not updates:
            endpoints.append(ep)
            continue
        for intent, value in sorted(updates.items()):
            changes.append(
                f"capability {ep.name}:{ep.version} {intent}: "
                f"{configured_capability(ep, intent):g} -> {value:g}"
            )
        endpoints.append(ep.model_copy(update={"capability": {**ep.capability, **updates}}))
    return config.model_copy(update={"ai_endpoints": endpoints}), changes
