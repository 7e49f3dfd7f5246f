"""The routing engine: where an interaction goes, decided from data and explained in words.

Pure functions over a versioned ``RoutingConfig`` and a ``FleetSnapshot`` recorded in history,
so the workflow can call them directly and replay gives the same answer. The steps follow the
reference's patterns in order of precedence: scope, post-classification eligibility, the
intent map, the confidence matrix, then continuous-skill best fit with human fallback. Every
step appends a sentence to ``reasons``: the decision is its own audit record.

Residency comes before any of it: an AI endpoint (live, failover or shadow) outside the regions
the customer's data may be processed in is never chosen, whatever its fit; human queues are
chosen in region whenever one is configured.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.interaction import OrchestrationPattern, Route
from models.routing import (
    ANY,
    LIVE_ROLES,
    AIEndpoint,
    EndpointHealth,
    EndpointRole,
    FleetSnapshot,
    RouteRequest,
    RoutingConfig,
    RoutingDecision,
    ThresholdRule,
)
from warmline.intents import OUT_OF_SCOPE
from warmline.splitting import pick_weighted
from warmline.staffing_plan import capacity_outlook

_AI_ROUTES = (Route.AI, Route.AI_MONITORED)


def _fmt(value: float) -> str:
    """Short, exact-enough numbers for reasons: 0.92, 0.5, 1."""
    return f"{round(value, 4):g}"


def select_pattern(
    config: RoutingConfig, entry_point: str, has_upstream_intent: bool
) -> tuple[OrchestrationPattern, str]:
    """Orchestration pattern for an entry point, with the reason it was chosen."""
    if entry_point in config.patterns:
        pattern = config.patterns[entry_point]
        reason = f"entry point {entry_point} uses pattern {pattern.value}"
    else:
        pattern = config.default_pattern
        reason = f"entry point {entry_point} has no pattern; default {pattern.value}"
    if pattern == OrchestrationPattern.POST_CLASSIFICATION and not has_upstream_intent:
        # Post-classification trusts an upstream classifier; without one we classify ourselves.
        pattern = OrchestrationPattern.PRE_ACD
        reason += "; no upstream intent given, falling back to pre_acd"
    return pattern, reason


def describe_rule(rule: ThresholdRule) -> str:
    return f"intent={rule.intent},channel={rule.channel},segment={rule.segment}"


def threshold_for(config: RoutingConfig, intent: str, channel: str, segment: str) -> ThresholdRule:
    """The most specific matching cell of the confidence matrix; later rules win ties."""
    best: ThresholdRule | None = None
    for rule in config.thresholds:
        if (
            rule.intent in (ANY, intent)
            and rule.channel in (ANY, channel)
            and rule.segment in (ANY, segment)
            and (best is None or rule.specificity() >= best.specificity())
        ):
            best = rule
    return best if best is not None else ThresholdRule()


def _lookup(table: Mapping[str, float], key: str) -> float:
    """``key`` in a skill table, else its primary language subtag, else ``*``, else 0."""
    lowered = {name.lower(): value for name, value in table.items()}
    key = key.lower()
    if key in lowered:
        return lowered[key]
    primary = key.split("-", 1)[0]
    if primary in lowered:
        return lowered[primary]
    return lowered.get(ANY, 0.0)


def skill_fit(
    capability: Mapping[str, float],
    channels: Mapping[str, float],
    languages: Mapping[str, float],
    *,
    intent: str,
    channel: str,
    language: str,
) -> float:
    """Continuous-skill fit: capability for the intent x channel proficiency x language quality.

    A product, so any missing skill (a language the agent does not speak) zeroes the fit.
    """
    return _lookup(capability, intent) * _lookup(channels, channel) * _lookup(languages, language)


def _post_classification_eligible(config: RoutingConfig, intent: str) -> tuple[bool, str]:
    if config.ai_eligible_intents:
        if intent in config.ai_eligible_intents:
            return True, f"post-classification: intent {intent} is AI-eligible"
        return False, f"post-classification: intent {intent} is not in ai_eligible_intents"
    if config.intent_map.get(intent) == Route.HUMAN:
        return False, f"post-classification: intent {intent} is mapped to human"
    return True, f"post-classification: intent {intent} is not mapped to human, AI-eligible"


def _intended_route(
    request: RouteRequest,
    config: RoutingConfig,
    pattern: OrchestrationPattern,
    reasons: list[str],
    snapshot: FleetSnapshot,
) -> Route:
    """Steps a-d: where the interaction should go if AI capacity were no concern."""
    classification = request.classification
    intent = classification.intent
    if classification.out_of_scope or intent == OUT_OF_SCOPE:
        reasons.append(f"intent {intent} is outside the AI's training scope -> human")
        return Route.HUMAN
    if pattern == OrchestrationPattern.POST_CLASSIFICATION:
        eligible, reason = _post_classification_eligible(config, intent)
        reasons.append(reason)
        if not eligible:
            return Route.HUMAN
    mapped = config.intent_map.get(intent)
    if mapped is not None:
        reasons.append(f"intent_map: {intent} -> {mapped.value}")
        return mapped
    rule = threshold_for(config, intent, request.channel.value, request.segment)
    confidence, where = _fmt(classification.confidence), f"(rule {describe_rule(rule)})"
    if classification.confidence >= rule.ai_min:
        reasons.append(
            f"intent {intent} confidence {confidence} >= ai_min {_fmt(rule.ai_min)} {where}"
        )
        return Route.AI
    below = f"intent {intent} confidence {confidence} < ai_min {_fmt(rule.ai_min)}"
    if classification.confidence >= rule.monitored_min:
        reasons.append(f"{below}, >= monitored_min {_fmt(rule.monitored_min)} {where}")
        return Route.AI_MONITORED
    reasons.append(f"{below}, < monitored_min {_fmt(rule.monitored_min)} {where}")
    retained = _retained_ahead_of_low_capacity(request, config, snapshot, rule)
    if retained is not None:
        reasons.append(retained)
        return Route.AI_MONITORED
    return Route.HUMAN


def _outside(region: str, allowed: frozenset[str] | None) -> bool:
    return allowed is not None and region not in allowed


def _residency_reason(request: RouteRequest, allowed: frozenset[str]) -> str:
    regions = ", ".join(sorted(allowed)) or "no region"
    return f"residency: data of region {request.region or 'unknown'} may be processed in {regions}"


def _retained_ahead_of_low_capacity(
    request: RouteRequest, config: RoutingConfig, snapshot: FleetSnapshot, rule: ThresholdRule
) -> str | None:
    """Schedule sync: a borderline interaction (within ``retain_margin`` below monitored_min)
    stays with AI, monitored, when the plan says the queue's human capacity is about to drop."""
    policy = config.schedule
    floor = rule.monitored_min - policy.retain_margin
    if request.classification.confidence < floor:
        return None
    queue = _best_human_queue(request, config, snapshot)
    humans = {h.queue: h for h in snapshot.humans}
    outlook = capacity_outlook(humans.get(queue) if queue else None, policy)
    if not outlook.low:
        return None
    return (
        f"human capacity low ahead ({outlook.reason}): borderline confidence "
        f"{_fmt(request.classification.confidence)} >= {_fmt(floor)} "
        f"(monitored_min - {_fmt(policy.retain_margin)}) retained in AI, monitored"
    )


def _exclusion(
    endpoint: AIEndpoint,
    health: EndpointHealth | None,
    request: RouteRequest,
    allowed: frozenset[str] | None = None,
) -> str | None:
    """Why an endpoint cannot take this interaction now, or ``None`` if it can."""
    if _outside(endpoint.region, allowed):
        return f"residency: processes data in {endpoint.region}"
    if endpoint.role not in LIVE_ROLES:
        return f"role {endpoint.role.value} takes no live traffic"
    if endpoint.weight <= 0.0:
        return "weight 0"
    if health is None:
        return None  # not seen by the health monitor yet: assume healthy and idle
    if not health.available:
        return "unavailable"
    if health.breaker == "open":
        return "breaker open"
    if health.active_sessions >= endpoint.max_concurrent:
        return f"at capacity ({health.active_sessions}/{endpoint.max_concurrent} sessions)"
    # Graceful degradation: a stressed or degraded endpoint keeps only the work it does well.
    intent = request.classification.intent
    if health.allowed_intents is not None and intent not in health.allowed_intents:
        return f"{health.breaker}: intent {intent} shed"
    confidence = request.classification.confidence
    if health.min_confidence is not None and confidence < health.min_confidence:
        return (
            f"{health.breaker}: confidence {_fmt(confidence)} below tightened "
            f"{_fmt(health.min_confidence)}"
        )
    if health.max_sessions is not None and health.active_sessions >= health.max_sessions:
        return f"session cap under stress ({health.active_sessions}/{health.max_sessions})"
    return None


def _select_ai_endpoint(
    request: RouteRequest, config: RoutingConfig, snapshot: FleetSnapshot, reasons: list[str]
) -> AIEndpoint | None:
    """Step e: best-fit agent among healthy endpoints, then a weighted version split."""
    intent = request.classification.intent
    health = {(h.name, h.version): h for h in snapshot.endpoints}
    allowed = config.residency.allowed(request.region)
    by_agent: dict[str, list[tuple[AIEndpoint, float]]] = {}
    for endpoint in config.ai_endpoints:
        state = health.get((endpoint.name, endpoint.version))
        excluded = _exclusion(endpoint, state, request, allowed)
        if excluded is not None:
            reasons.append(f"AI endpoint {endpoint.name}/{endpoint.version} excluded: {excluded}")
            continue
        fit = skill_fit(
            endpoint.capability,
            endpoint.channels,
            endpoint.languages,
            intent=intent,
            channel=request.channel.value,
            language=request.language,
        )
        by_agent.setdefault(endpoint.name, []).append((endpoint, fit))
    if not by_agent:
        reasons.append(f"no healthy AI endpoint for intent {intent}")
        return None
    specialist = config.specialists.get(intent)
    if specialist is not None and specialist in by_agent:
        reasons.append(f"specialist {specialist} takes intent {intent}")
        by_agent = {specialist: by_agent[specialist]}
    elif specialist is not None:
        reasons.append(f"specialist {specialist} for intent {intent} unavailable; best fit")
    # max() keeps the first of equal scores: config order breaks ties between agents.
    agent, versions = max(by_agent.items(), key=lambda item: max(fit for _, fit in item[1]))
    best_fit = max(fit for _, fit in versions)
    if best_fit < config.min_ai_fit:
        reasons.append(
            f"best AI fit {_fmt(best_fit)} ({agent}) below min {_fmt(config.min_ai_fit)} "
            f"for intent {intent} on {request.channel.value}/{request.language}"
        )
        return None
    # Versions that regress below the minimum fit for this intent get none of its traffic.
    fitting = sorted(
        (endpoint for endpoint, fit in versions if fit >= config.min_ai_fit),
        key=lambda endpoint: endpoint.version,
    )
    chosen = pick_weighted(request.interaction_id, fitting, lambda e: e.weight, salt=agent)
    if chosen is None:  # unreachable: weight-0 endpoints were excluded above
        reasons.append(f"no AI version of {agent} carries traffic")
        return None
    share = chosen.weight / sum(endpoint.weight for endpoint in fitting) * 100
    reasons.append(
        f"AI endpoint {agent}/{chosen.version} chosen: best fit {_fmt(best_fit)}; "
        f"version weight {_fmt(share)}% of {len(fitting)} fitting version(s)"
    )
    return chosen.model_copy()


def _shadow_for(
    agent: str,
    request: RouteRequest,
    config: RoutingConfig,
    snapshot: FleetSnapshot,
    reasons: list[str],
) -> AIEndpoint | None:
    """The agent's shadow version, if any, in region and not broken: it gets copies of turns."""
    health = {(h.name, h.version): h for h in snapshot.endpoints}
    allowed = config.residency.allowed(request.region)
    for endpoint in config.ai_endpoints:
        if endpoint.name != agent or endpoint.role is not EndpointRole.SHADOW:
            continue
        if _outside(endpoint.region, allowed):
            reasons.append(
                f"shadow {agent}/{endpoint.version} skipped: residency (processes data in "
                f"{endpoint.region})"
            )
            continue
        state = health.get((endpoint.name, endpoint.version))
        if state is not None and (not state.available or state.breaker == "open"):
            reasons.append(f"shadow {agent}/{endpoint.version} skipped: breaker open")
            continue
        reasons.append(f"shadow {agent}/{endpoint.version} receives a copy of each AI turn")
        return endpoint.model_copy()
    return None


def _select_human_queue(
    request: RouteRequest, config: RoutingConfig, snapshot: FleetSnapshot, reasons: list[str]
) -> str | None:
    """Step f: best-fit human queue, set for AI routes too so escalation knows where to go."""
    if not config.human_queues:
        reasons.append("no human queue configured")
        return None
    fit, agents, name, notes = _scored_queues(request, config, snapshot)
    reasons.extend(notes)
    if fit <= 0.0:
        reasons.append(
            f"no human queue covers intent {request.classification.intent}; using {name}"
        )
    else:
        reasons.append(f"human queue {name} fit {_fmt(fit)}, {agents} agents available")
    return name


def _best_human_queue(
    request: RouteRequest, config: RoutingConfig, snapshot: FleetSnapshot
) -> str | None:
    return _scored_queues(request, config, snapshot)[2] if config.human_queues else None


def _scored_queues(
    request: RouteRequest, config: RoutingConfig, snapshot: FleetSnapshot
) -> tuple[float, int, str, list[str]]:
    """(fit, available agents, name) of the best-fitting human queue in an allowed region, and
    what residency did to the choice."""
    available = {h.queue: h.available_agents for h in snapshot.humans}
    intent = request.classification.intent
    allowed = config.residency.allowed(request.region)
    queues = list(enumerate(config.human_queues))
    in_region = [(i, q) for i, q in queues if q.region == ANY or not _outside(q.region, allowed)]
    notes: list[str] = []
    if not in_region:
        notes.append(
            f"residency: no human queue works in an allowed region for {request.region}; "
            "choosing among all (configure an in-region queue)"
        )
    elif len(in_region) < len(queues):
        notes.append(f"residency: human queues limited to {len(in_region)} in region")
    scored = [
        (
            skill_fit(
                queue.capability,
                queue.channels,
                queue.languages,
                intent=intent,
                channel=request.channel.value,
                language=request.language,
            ),
            available.get(queue.name, 0),
            -index,  # earlier queue wins a full tie
            queue.name,
        )
        for index, queue in (in_region or queues)
    ]
    fit, agents, _, name = max(scored)
    return fit, agents, name, notes


def decide_route(
    request: RouteRequest,
    config: RoutingConfig,
    snapshot: FleetSnapshot,
    pattern: OrchestrationPattern,
) -> RoutingDecision:
    """Route one interaction: AI, AI monitored or human, with the endpoint and human queue."""
    classification = request.classification
    reasons = [
        f"pattern {pattern.value}; intent {classification.intent} confidence "
        f"{_fmt(classification.confidence)} from {classification.source} "
        f"{classification.model_version}"
    ]
    route = _intended_route(request, config, pattern, reasons, snapshot)
    endpoint: AIEndpoint | None = None
    shadow: AIEndpoint | None = None
    allowed = config.residency.allowed(request.region)
    if allowed is not None:
        reasons.append(_residency_reason(request, allowed))
    if route in _AI_ROUTES:
        endpoint = _select_ai_endpoint(request, config, snapshot, reasons)
        if endpoint is None:
            reasons.append(f"hybrid fallback: {route.value} -> human")
            route = Route.HUMAN
        else:
            shadow = _shadow_for(endpoint.name, request, config, snapshot, reasons)
    return RoutingDecision(
        route=route,
        pattern=pattern,
        intent=classification.intent,
        confidence=classification.confidence,
        channel=request.channel,
        config_version=config.version,
        ai_endpoint=endpoint,
        shadow_endpoint=shadow,
        human_queue=_select_human_queue(request, config, snapshot, reasons),
        escalation=config.escalation.model_copy(deep=True),
        spillover=config.spillover.model_copy(deep=True),
        max_turns_per_run=config.max_turns_per_run,
        ai_context_messages=config.ai_context_messages,
        handoff=config.handoff.model_copy(),
        reasons=reasons,
    )


def reroute_for_channel(
    previous: RoutingDecision,
    request: RouteRequest,
    config: RoutingConfig,
    snapshot: FleetSnapshot,
) -> RoutingDecision:
    """Decide again after a channel switch (``request.channel`` is the new channel).

    The pattern is kept: it describes how the interaction entered, which a switch does not
    change; thresholds, proficiency and queues are re-read for the new channel.
    """
    decision = decide_route(request, config, snapshot, previous.pattern)
    switched = (
        f"re-evaluated after channel switch from {previous.channel.value} "
        f"to {request.channel.value}"
    )
    return decision.model_copy(update={"reasons": [switched, *decision.reasons]})
