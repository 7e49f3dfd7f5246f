from __future__ import annotations

from collections import Counter

import pytest

from models.interaction import Channel, OrchestrationPattern, Route
from models.routing import (
    AIEndpoint,
    Classification,
    EndpointHealth,
    EscalationPolicy,
    FleetSnapshot,
    HumanAvailability,
    HumanQueue,
    RouteRequest,
    RoutingConfig,
    RoutingDecision,
    ThresholdRule,
)
from warmline.default_config import default_routing_config
from warmline.intents import DEFAULT_INTENTS, OUT_OF_SCOPE
from warmline.routing import (
    decide_route,
    reroute_for_channel,
    select_pattern,
    skill_fit,
    threshold_for,
)

FLEET = "http://fleet.test"
PRE = OrchestrationPattern.PRE_ACD
POST = OrchestrationPattern.POST_CLASSIFICATION
EMPTY = FleetSnapshot()


def request(
    intent: str = "billing_inquiry",
    confidence: float = 0.95,
    *,
    channel: Channel = Channel.CHAT,
    segment: str = "standard",
    language: str = "en",
    interaction_id: str = "int-1",
    out_of_scope: bool = False,
) -> RouteRequest:
    return RouteRequest(
        interaction_id=interaction_id,
        channel=channel,
        segment=segment,
        language=language,
        classification=Classification(
            intent=intent,
            confidence=confidence,
            out_of_scope=out_of_scope,
            model_version="clf-1",
        ),
    )


def endpoint(name: str, version: str = "1", weight: float = 1.0, **skills: float) -> AIEndpoint:
    return AIEndpoint(
        name=name,
        version=version,
        url=f"{FLEET}/agents/{name}/{version}/v1",
        weight=weight,
        capability=dict(skills) or {"*": 0.9},
        max_concurrent=10,
    )


def config(**overrides: object) -> RoutingConfig:
    base = default_routing_config(FLEET).model_dump()
    base.update(overrides)
    if "ai_endpoints" in overrides and "specialists" not in overrides:
        # A test's own fleet: the default specialists name agents it does not have.
        base["specialists"] = {}
    return RoutingConfig.model_validate(base)


def health(name: str, version: str, **fields: object) -> EndpointHealth:
    return EndpointHealth.model_validate({"name": name, "version": version, **fields})


def route(req: RouteRequest, cfg: RoutingConfig | None = None, **kwargs: object) -> RoutingDecision:
    snapshot = kwargs.get("snapshot", EMPTY)
    pattern = kwargs.get("pattern", PRE)
    assert isinstance(snapshot, FleetSnapshot) and isinstance(pattern, OrchestrationPattern)
    return decide_route(req, cfg or default_routing_config(FLEET), snapshot, pattern)


# --- pattern selection ---------------------------------------------------------------------


def test_pattern_from_entry_point() -> None:
    cfg = default_routing_config(FLEET)
    assert select_pattern(cfg, "web_chat", False)[0] == OrchestrationPattern.PARALLEL
    assert select_pattern(cfg, "ivr", True) == (
        POST,
        "entry point ivr uses pattern post_classification",
    )


def test_unknown_entry_point_uses_default_pattern() -> None:
    pattern, reason = select_pattern(config(default_pattern="parallel"), "kiosk", True)
    assert pattern == OrchestrationPattern.PARALLEL
    assert "default parallel" in reason


def test_post_classification_without_upstream_intent_falls_back() -> None:
    pattern, reason = select_pattern(default_routing_config(FLEET), "ivr", False)
    assert pattern == PRE
    assert "no upstream intent" in reason and "pre_acd" in reason


# --- confidence matrix ---------------------------------------------------------------------


def test_no_matching_rule_gives_default_rule() -> None:
    rule = threshold_for(config(thresholds=[]), "x", "chat", "standard")
    assert rule == ThresholdRule()
    only_voice = config(thresholds=[ThresholdRule(channel="voice", ai_min=0.99)])
    assert threshold_for(only_voice, "x", "chat", "standard") == ThresholdRule()


def test_most_specific_rule_wins_regardless_of_order() -> None:
    specific = ThresholdRule(intent="refund_request", segment="premium", ai_min=0.99)
    general = ThresholdRule(intent="refund_request", ai_min=0.5, monitored_min=0.4)
    cfg = config(thresholds=[specific, general, ThresholdRule()])
    assert threshold_for(cfg, "refund_request", "chat", "premium") == specific
    assert threshold_for(cfg, "refund_request", "chat", "standard") == general
    assert threshold_for(cfg, "order_status", "chat", "premium") == ThresholdRule()


def test_ties_go_to_the_later_rule() -> None:
    first = ThresholdRule(channel="voice", ai_min=0.94, monitored_min=0.8)
    second = ThresholdRule(segment="vulnerable", ai_min=0.97, monitored_min=0.9)
    assert threshold_for(config(thresholds=[first, second]), "x", "voice", "vulnerable") == second
    assert threshold_for(config(thresholds=[second, first]), "x", "voice", "vulnerable") == first


def test_default_matrix_cells() -> None:
    cfg = default_routing_config(FLEET)

    def cell(intent: str, channel: str, segment: str) -> tuple[float, float]:
        rule = threshold_for(cfg, intent, channel, segment)
        return rule.ai_min, rule.monitored_min

    assert cell("order_status", "chat", "standard") == (0.92, 0.75)
    assert cell("order_status", "voice", "standard") == (0.94, 0.80)
    assert cell("password_reset", "chat", "standard") == (0.85, 0.60)
    assert cell("order_status", "chat", "vulnerable") == (0.97, 0.90)
    assert cell("password_reset", "voice", "vulnerable") == (0.97, 0.90)
    assert cell("refund_request", "chat", "premium")[0] > cell("refund_request", "chat", "x")[0]
    assert cell("technical_support", "chat", "standard")[0] > 0.92


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (1.0, Route.AI),
        (0.92, Route.AI),  # exactly ai_min
        (0.9199, Route.AI_MONITORED),
        (0.75, Route.AI_MONITORED),  # exactly monitored_min
        (0.7499, Route.HUMAN),
        (0.0, Route.HUMAN),
    ],
)
def test_threshold_edges(confidence: float, expected: Route) -> None:
    decision = route(request("order_status", confidence))
    assert decision.route == expected
    assert (decision.ai_endpoint is not None) == (expected != Route.HUMAN)


def test_reason_names_confidence_threshold_and_rule() -> None:
    decision = route(request("billing_inquiry", 0.95))
    assert (
        "intent billing_inquiry confidence 0.95 >= ai_min 0.92 "
        "(rule intent=*,channel=*,segment=*)" in decision.reasons
    )
    monitored = route(request("billing_inquiry", 0.8, channel=Channel.VOICE))
    assert any(
        "0.8 < ai_min 0.94, >= monitored_min 0.8 (rule intent=*,channel=voice,segment=*)" in r
        for r in monitored.reasons
    )


def test_vulnerable_segment_is_stricter() -> None:
    assert route(request("order_status", 0.95)).route == Route.AI
    assert route(request("order_status", 0.95, segment="vulnerable")).route == Route.AI_MONITORED
    assert route(request("order_status", 0.85, segment="vulnerable")).route == Route.HUMAN


def test_voice_is_stricter_than_chat() -> None:
    assert route(request("order_status", 0.93)).route == Route.AI
    assert route(request("order_status", 0.93, channel=Channel.VOICE)).route == Route.AI_MONITORED


def test_premium_refund_is_stricter() -> None:
    assert route(request("refund_request", 0.93)).route == Route.AI
    premium = route(request("refund_request", 0.93, segment="premium"))
    assert premium.route == Route.AI_MONITORED


def test_password_reset_is_more_lenient() -> None:
    assert route(request("password_reset", 0.86)).route == Route.AI
    assert route(request("order_status", 0.86)).route == Route.AI_MONITORED


# --- scope and intent map ------------------------------------------------------------------


@pytest.mark.parametrize(
    "req",
    [
        request("billing_inquiry", 0.99, out_of_scope=True),
        request(OUT_OF_SCOPE, 0.99),
    ],
)
def test_out_of_scope_goes_to_human(req: RouteRequest) -> None:
    decision = route(req)
    assert decision.route == Route.HUMAN
    assert decision.ai_endpoint is None
    assert decision.human_queue is not None
    assert any("outside the AI's training scope" in r for r in decision.reasons)


@pytest.mark.parametrize("intent", ["complaint", "account_closure", "fraud_report"])
def test_intent_map_sends_to_human_even_when_confident(intent: str) -> None:
    decision = route(request(intent, 1.0))
    assert decision.route == Route.HUMAN
    assert f"intent_map: {intent} -> human" in decision.reasons


def test_intent_map_fixed_ai_destination_ignores_confidence() -> None:
    cfg = config(intent_map={"store_hours": "ai_monitored"})
    decision = route(request("store_hours", 0.1), cfg)
    assert decision.route == Route.AI_MONITORED
    assert decision.ai_endpoint is not None


def test_intent_map_ai_still_needs_a_healthy_endpoint() -> None:
    cfg = config(intent_map={"store_hours": "ai"})
    down = FleetSnapshot(endpoints=[health("care-bot", "2026.10", breaker="open")])
    decision = route(request("store_hours", 0.99), cfg, snapshot=down)
    assert decision.route == Route.HUMAN


# --- post-classification -------------------------------------------------------------------


def test_post_classification_eligible_intent_uses_thresholds() -> None:
    assert route(request("order_status", 0.99), pattern=POST).route == Route.AI
    low = route(request("order_status", 0.5), pattern=POST)
    assert low.route == Route.HUMAN
    assert "post-classification: intent order_status is AI-eligible" in low.reasons


def test_post_classification_ineligible_intent_goes_to_human() -> None:
    decision = route(request("refund_request", 0.99), pattern=POST)
    assert decision.route == Route.HUMAN
    assert any("not in ai_eligible_intents" in r for r in decision.reasons)
    # The same request entering pre-ACD may go to AI: eligibility is a post-classification rule.
    assert route(request("refund_request", 0.99)).route == Route.AI


def test_post_classification_with_empty_list_excludes_human_mapped_intents() -> None:
    cfg = config(ai_eligible_intents=[])
    assert route(request("refund_request", 0.99), cfg, pattern=POST).route == Route.AI
    complaint = route(request("complaint", 0.99), cfg, pattern=POST)
    assert complaint.route == Route.HUMAN
    assert any("mapped to human" in r for r in complaint.reasons)


# --- skill-based best fit and health -------------------------------------------------------


def test_specialist_wins_its_intents_and_generalist_the_rest() -> None:
    billing = route(request("billing_inquiry", 0.99)).ai_endpoint
    general = route(request("password_reset", 0.99)).ai_endpoint
    assert billing is not None and billing.name == "billing-bot"
    assert billing.url == f"{FLEET}/agents/billing-bot/3.2/v1"
    assert general is not None and general.name == "care-bot"


def test_skill_fit_is_a_product_with_fallbacks() -> None:
    def fit(intent: str, channel: str, language: str) -> float:
        return skill_fit(
            {"a": 0.8, "*": 0.5},
            {"chat": 0.5, "email": 1.0},
            {"en": 1.0, "es": 0.6},
            intent=intent,
            channel=channel,
            language=language,
        )

    assert fit("a", "chat", "es-MX") == pytest.approx(0.8 * 0.5 * 0.6)
    assert fit("b", "email", "EN") == pytest.approx(0.5)  # intent falls back to "*"
    assert fit("a", "voice", "en") == 0.0  # channel not listed
    assert fit("a", "email", "de") == 0.0  # language not listed


def test_breaker_open_endpoint_is_excluded() -> None:
    snapshot = FleetSnapshot(endpoints=[health("billing-bot", "3.2", breaker="open")])
    decision = route(request("billing_inquiry", 0.99), snapshot=snapshot)
    assert "AI endpoint billing-bot/3.2 excluded: breaker open" in decision.reasons
    # care-bot still fits billing_inquiry (0.75 >= min 0.5), so AI keeps the interaction.
    assert decision.route == Route.AI
    assert decision.ai_endpoint is not None and decision.ai_endpoint.name == "care-bot"


def test_unavailable_endpoint_is_excluded() -> None:
    snapshot = FleetSnapshot(endpoints=[health("billing-bot", "3.2", available=False)])
    decision = route(request("billing_inquiry", 0.99), snapshot=snapshot)
    assert "AI endpoint billing-bot/3.2 excluded: unavailable" in decision.reasons


def test_endpoint_at_capacity_is_excluded() -> None:
    full = FleetSnapshot(endpoints=[health("billing-bot", "3.2", active_sessions=200)])
    decision = route(request("billing_inquiry", 0.99), snapshot=full)
    assert (
        "AI endpoint billing-bot/3.2 excluded: at capacity (200/200 sessions)" in decision.reasons
    )
    nearly = FleetSnapshot(endpoints=[health("billing-bot", "3.2", active_sessions=199)])
    chosen = route(request("billing_inquiry", 0.99), snapshot=nearly).ai_endpoint
    assert chosen is not None and chosen.name == "billing-bot"


def test_half_open_but_available_endpoint_is_used() -> None:
    snapshot = FleetSnapshot(endpoints=[health("billing-bot", "3.2", breaker="half_open")])
    chosen = route(request("billing_inquiry", 0.99), snapshot=snapshot).ai_endpoint
    assert chosen is not None and chosen.name == "billing-bot"


def test_all_endpoints_excluded_falls_back_to_human() -> None:
    snapshot = FleetSnapshot(
        endpoints=[
            health("billing-bot", "3.2", breaker="open"),
            health("care-bot", "2026.10", available=False),
            health("tech-bot", "1.4", available=False),
            health("sales-bot", "2.0", breaker="open"),
        ]
    )
    decision = route(request("billing_inquiry", 0.99), snapshot=snapshot)
    assert decision.route == Route.HUMAN
    assert decision.ai_endpoint is None
    assert decision.human_queue == "billing"
    assert "no healthy AI endpoint for intent billing_inquiry" in decision.reasons
    assert "hybrid fallback: ai -> human" in decision.reasons


def test_best_fit_below_minimum_falls_back_to_human() -> None:
    cfg = config(ai_endpoints=[endpoint("weak", warranty_claim=0.41)], min_ai_fit=0.5)
    decision = route(request("warranty_claim", 0.99), cfg)
    assert decision.route == Route.HUMAN
    assert any("best AI fit 0.41 (weak) below min 0.5" in r for r in decision.reasons)


def test_fit_exactly_at_minimum_is_enough() -> None:
    cfg = config(ai_endpoints=[endpoint("edge", warranty_claim=0.5)], min_ai_fit=0.5)
    assert route(request("warranty_claim", 0.99), cfg).route == Route.AI


def test_language_not_covered_goes_to_human() -> None:
    decision = route(request("password_reset", 0.99, language="de"))
    assert decision.route == Route.HUMAN
    assert any("best AI fit 0" in r and "chat/de" in r for r in decision.reasons)


def test_regional_language_tag_uses_primary_language() -> None:
    chosen = route(request("password_reset", 0.99, language="es-MX")).ai_endpoint
    assert chosen is not None and chosen.name == "care-bot"


def test_channel_proficiency_counts() -> None:
    cfg = config(
        ai_endpoints=[
            endpoint("chat-only", "1", password_reset=0.9).model_copy(
                update={"channels": {"chat": 1.0}}
            )
        ]
    )
    assert route(request("password_reset", 0.99), cfg).route == Route.AI
    voice = route(request("password_reset", 0.99, channel=Channel.VOICE), cfg)
    assert voice.route == Route.HUMAN


def test_zero_weight_version_gets_no_traffic() -> None:
    cfg = config(ai_endpoints=[endpoint("bot", "1", weight=0.0), endpoint("bot", "2")])
    assert versions_for(cfg, range(50)) == Counter({"bot/2": 50})
    assert "AI endpoint bot/1 excluded: weight 0" in route(request("order_status"), cfg).reasons


def versions_for(cfg: RoutingConfig, ids: range, snapshot: FleetSnapshot = EMPTY) -> Counter[str]:
    """How many of the interactions ``int-<n>`` land on each agent/version."""
    chosen: Counter[str] = Counter()
    for n in ids:
        req = request("order_status", 0.99, interaction_id=f"int-{n}")
        picked = route(req, cfg, snapshot=snapshot).ai_endpoint
        assert picked is not None
        chosen[f"{picked.name}/{picked.version}"] += 1
    return chosen


# --- version split -------------------------------------------------------------------------


def split_config() -> RoutingConfig:
    return config(
        ai_endpoints=[
            endpoint("bot", "prod", weight=90.0),
            endpoint("bot", "canary", weight=10.0),
        ]
    )


def test_version_split_is_deterministic_and_weighted() -> None:
    cfg = split_config()
    first = [route(request(interaction_id=f"int-{n}"), cfg).ai_endpoint for n in range(200)]
    again = [route(request(interaction_id=f"int-{n}"), cfg).ai_endpoint for n in range(200)]
    assert first == again
    counts = versions_for(cfg, range(4000))
    assert abs(counts["bot/canary"] / 4000 - 0.10) < 0.02


def test_version_split_ignores_config_order() -> None:
    cfg = split_config()
    reversed_cfg = config(ai_endpoints=list(reversed(cfg.ai_endpoints)))
    for n in range(100):
        a = route(request(interaction_id=f"int-{n}"), cfg).ai_endpoint
        b = route(request(interaction_id=f"int-{n}"), reversed_cfg).ai_endpoint
        assert a is not None and b is not None and a.version == b.version


def test_unhealthy_version_traffic_goes_to_healthy_versions() -> None:
    down = FleetSnapshot(endpoints=[health("bot", "canary", breaker="open")])
    assert versions_for(split_config(), range(300), down) == Counter({"bot/prod": 300})


def test_version_below_min_fit_gets_no_traffic() -> None:
    cfg = config(
        ai_endpoints=[
            endpoint("bot", "prod", weight=50.0, order_status=0.9),
            endpoint("bot", "canary", weight=50.0, order_status=0.3),
        ]
    )
    assert versions_for(cfg, range(200)) == Counter({"bot/prod": 200})


def test_best_agent_is_chosen_before_versions_split() -> None:
    cfg = config(
        ai_endpoints=[
            endpoint("generalist", "1", weight=100.0, order_status=0.7),
            endpoint("specialist", "a", weight=1.0, order_status=0.95),
            endpoint("specialist", "b", weight=1.0, order_status=0.6),
        ]
    )
    counts = versions_for(cfg, range(200))
    # The generalist's larger weight does not matter: weights split traffic within an agent.
    assert set(counts) == {"specialist/a", "specialist/b"}


# --- human queue and decision fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "queue"),
    [
        ("billing_inquiry", "billing"),
        ("complaint", "retention"),
        ("cancel_subscription", "retention"),
        ("fraud_report", "fraud"),
        ("lost_card", "fraud"),
        ("technical_support", "tech"),
        ("store_hours", "general"),
    ],
)
def test_human_queue_by_best_fit(intent: str, queue: str) -> None:
    assert route(request(intent, 0.5)).human_queue == queue


def test_human_queue_is_set_for_ai_routes_too() -> None:
    decision = route(request("password_reset", 0.99))
    assert decision.route == Route.AI
    assert decision.human_queue == "general"


def test_human_queue_tie_prefers_more_available_agents() -> None:
    cfg = config(human_queues=[HumanQueue(name="east"), HumanQueue(name="west")])
    assert route(request(), cfg).human_queue == "east"
    snapshot = FleetSnapshot(
        humans=[
            HumanAvailability(queue="east", available_agents=1),
            HumanAvailability(queue="west", available_agents=4),
        ]
    )
    assert route(request(), cfg, snapshot=snapshot).human_queue == "west"


def test_no_queue_covering_intent_still_names_one() -> None:
    cfg = config(human_queues=[HumanQueue(name="only", capability={"x": 1.0})])
    decision = route(request("order_status", 0.1), cfg)
    assert decision.human_queue == "only"
    assert "no human queue covers intent order_status; using only" in decision.reasons


def test_no_human_queues_configured() -> None:
    decision = route(request("order_status", 0.1), config(human_queues=[]))
    assert decision.human_queue is None
    assert "no human queue configured" in decision.reasons


def test_decision_carries_policy_limits_and_version() -> None:
    policy = EscalationPolicy(sentiment_min=-0.3, max_turns=4)
    cfg = config(
        version=17, escalation=policy.model_dump(), max_turns_per_run=50, ai_context_messages=12
    )
    decision = route(request(), cfg, pattern=OrchestrationPattern.PARALLEL)
    assert decision.config_version == 17
    assert decision.escalation == policy
    assert decision.max_turns_per_run == 50 and decision.ai_context_messages == 12
    assert decision.pattern == OrchestrationPattern.PARALLEL
    assert decision.intent == "billing_inquiry" and decision.confidence == 0.95
    assert decision.channel == Channel.CHAT
    assert decision.reasons[0].startswith("pattern parallel; intent billing_inquiry")


def test_decision_is_serializable_and_does_not_alias_config() -> None:
    cfg = default_routing_config(FLEET)
    decision = route(request(), cfg)
    assert RoutingDecision.model_validate_json(decision.model_dump_json()) == decision
    assert decision.escalation is not cfg.escalation
    assert all(decision.ai_endpoint is not e for e in cfg.ai_endpoints)


# --- channel switch ------------------------------------------------------------------------


def test_channel_switch_re_evaluates_thresholds() -> None:
    cfg = default_routing_config(FLEET)
    chat = route(request("order_status", 0.93), cfg, pattern=OrchestrationPattern.PARALLEL)
    assert chat.route == Route.AI
    switched = request("order_status", 0.93, channel=Channel.VOICE)
    voice = reroute_for_channel(chat, switched, cfg, EMPTY)
    assert voice.route == Route.AI_MONITORED
    assert voice.channel == Channel.VOICE
    assert voice.pattern == OrchestrationPattern.PARALLEL
    assert voice.reasons[0] == "re-evaluated after channel switch from chat to voice"


def test_channel_switch_to_unsupported_channel_goes_to_human() -> None:
    cfg = config(
        ai_endpoints=[
            endpoint("bot", "1", order_status=0.9).model_copy(update={"channels": {"chat": 1.0}})
        ]
    )
    chat = route(request("order_status", 0.99), cfg)
    assert chat.route == Route.AI
    switched = request("order_status", 0.99, channel=Channel.EMAIL)
    email = reroute_for_channel(chat, switched, cfg, EMPTY)
    assert email.route == Route.HUMAN
    assert email.reasons[0] == "re-evaluated after channel switch from chat to email"
    assert "hybrid fallback: ai -> human" in email.reasons


# --- default config ------------------------------------------------------------------------


def test_default_config_uses_known_intents_only() -> None:
    cfg = default_routing_config(FLEET)
    known = set(DEFAULT_INTENTS)
    assert set(cfg.intent_map) <= known
    assert set(cfg.ai_eligible_intents) <= known
    assert {rule.intent for rule in cfg.thresholds} - {"*"} <= known
    for ep in cfg.ai_endpoints:
        assert set(ep.capability) - {"*"} <= known, ep.name
    for queue in cfg.human_queues:
        assert set(queue.capability) - {"*"} <= known, queue.name
    assert not set(cfg.ai_eligible_intents) & set(cfg.intent_map)


def test_default_config_fleet() -> None:
    cfg = default_routing_config(FLEET + "/")
    by_name = {(ep.name, ep.version): ep for ep in cfg.ai_endpoints}
    assert set(by_name) == {
        ("care-bot", "2026.10"),
        ("billing-bot", "3.2"),
        ("tech-bot", "1.4"),
        ("sales-bot", "2.0"),
    }
    assert by_name["care-bot", "2026.10"].url == f"{FLEET}/agents/care-bot/2026.10/v1"
    assert all(ep.max_concurrent == 200 for ep in cfg.ai_endpoints)
    billing = by_name["billing-bot", "3.2"]
    assert set(billing.capability) == {
        "billing_inquiry",
        "refund_request",
        "payment_failed",
        "invoice_copy",
        "loyalty_points",
    }
    assert billing.languages == {"en": 1.0, "es": 0.8}
    assert {q.name for q in cfg.human_queues} == {
        "general",
        "billing",
        "retention",
        "fraud",
        "tech",
    }


def test_default_configs_are_independent() -> None:
    first, second = default_routing_config(FLEET), default_routing_config(FLEET)
    first.thresholds[0].ai_min = 0.1
    first.ai_endpoints[0].capability["password_reset"] = 0.0
    assert second.thresholds[0].ai_min == 0.92
    assert second.ai_endpoints[0].capability["password_reset"] > 0.9


def test_degraded_endpoint_keeps_only_allowed_high_confidence_intents() -> None:
    """Graceful degradation: shed intents, tightened confidence, stressed session cap."""
    from models.interaction import Channel, OrchestrationPattern, Route
    from models.routing import (
        AIEndpoint,
        Classification,
        EndpointHealth,
        FleetSnapshot,
        RouteRequest,
        RoutingConfig,
        ThresholdRule,
    )
    from warmline.routing import decide_route

    config = RoutingConfig(
        thresholds=[ThresholdRule(ai_min=0.0, monitored_min=0.0)],
        ai_endpoints=[
            AIEndpoint(name="bot", version="1", url="http://x/v1", capability={"*": 0.9})
        ],
    )

    def route(intent: str, confidence: float, health: EndpointHealth) -> Route:
        request = RouteRequest(
            interaction_id="i-1",
            channel=Channel.CHAT,
            segment="standard",
            language="en",
            classification=Classification(intent=intent, confidence=confidence, model_version="m"),
        )
        snapshot = FleetSnapshot(endpoints=[health])
        return decide_route(request, config, snapshot, OrchestrationPattern.PRE_ACD).route

    degraded = EndpointHealth(
        name="bot",
        version="1",
        breaker="degraded",
        allowed_intents=["store_hours"],
        min_confidence=0.9,
    )
    assert route("store_hours", 0.95, degraded) is Route.AI
    assert route("refund_request", 0.95, degraded) is Route.HUMAN
    assert route("store_hours", 0.85, degraded) is Route.HUMAN
    capped = EndpointHealth(name="bot", version="1", active_sessions=5, max_sessions=5)
    assert route("store_hours", 0.95, capped) is Route.HUMAN
