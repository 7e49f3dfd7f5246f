"""Residency in routing: data of a customer region is only processed where the policy allows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.interaction import Route
from models.routing import (
    AIEndpoint,
    EndpointRole,
    FleetSnapshot,
    HumanQueue,
    ResidencyPolicy,
    RouteRequest,
    RoutingConfig,
)
from tests.warmline.test_routing import PRE, config, endpoint, request
from warmline.routing import decide_route

EU_ONLY = ResidencyPolicy(regions={"eu": ["eu"], "uk": ["uk", "eu"]})


def in_region(name: str, region: str, version: str = "1", **fields: object) -> AIEndpoint:
    return endpoint(name, version).model_copy(update={"region": region, **fields})


def routed(req: RouteRequest, cfg: RoutingConfig) -> tuple[Route, str | None, list[str]]:
    decision = decide_route(req, cfg, FleetSnapshot(), PRE)
    ep = decision.ai_endpoint
    return decision.route, f"{ep.name}/{ep.region}" if ep else None, decision.reasons


def eu(**kw: object) -> RouteRequest:
    return request(**kw).model_copy(update={"region": "eu"})  # type: ignore[arg-type]


def test_an_eu_customer_goes_to_the_eu_endpoint_even_when_a_us_one_fits_better() -> None:
    cfg = config(
        ai_endpoints=[
            in_region("us-bot", "us", capability={"*": 0.99}),
            in_region("eu-bot", "eu", capability={"*": 0.8}),
        ],
        residency=EU_ONLY,
    )
    route, chosen, reasons = routed(eu(), cfg)
    assert (route, chosen) == (Route.AI, "eu-bot/eu")
    assert "residency: data of region eu may be processed in eu" in reasons
    assert any("us-bot/1 excluded: residency: processes data in us" in r for r in reasons)
    # Customers of unlisted regions may still use any endpoint: the better fit wins.
    assert routed(request().model_copy(update={"region": "us"}), cfg)[1] == "us-bot/us"


def test_without_an_allowed_endpoint_the_customer_goes_to_in_region_humans() -> None:
    cfg = config(
        ai_endpoints=[in_region("us-bot", "us")],
        human_queues=[
            HumanQueue(name="us-desk", region="us"),
            HumanQueue(name="eu-desk", region="eu"),
        ],
        residency=EU_ONLY,
    )
    decision = decide_route(eu(), cfg, FleetSnapshot(), PRE)
    assert decision.route is Route.HUMAN
    assert decision.ai_endpoint is None
    assert decision.human_queue == "eu-desk"
    assert "hybrid fallback: ai -> human" in decision.reasons


def test_a_shadow_outside_the_allowed_regions_gets_no_copies() -> None:
    shadow = in_region("eu-bot", "us", version="2", role=EndpointRole.SHADOW)
    cfg = config(ai_endpoints=[in_region("eu-bot", "eu"), shadow], residency=EU_ONLY)
    decision = decide_route(eu(), cfg, FleetSnapshot(), PRE)
    assert decision.ai_endpoint is not None and decision.shadow_endpoint is None
    assert any("shadow eu-bot/2 skipped: residency" in r for r in decision.reasons)


def test_unlisted_regions_follow_the_default_rule() -> None:
    policy = ResidencyPolicy(regions={}, unlisted=["us"])
    assert policy.allowed("ca") == frozenset({"us"})
    assert policy.allowed(None) == frozenset({"us"})
    assert ResidencyPolicy().allowed("eu") is None


REGIONS = ["us", "eu", "uk", "ca", "apac"]


@given(
    endpoints=st.lists(
        st.tuples(st.sampled_from(REGIONS), st.floats(0.0, 1.0), st.floats(0.0, 5.0)),
        min_size=1,
        max_size=6,
    ),
    customer=st.sampled_from(REGIONS),
    interaction=st.text(min_size=1, max_size=8),
)
def test_no_decision_ever_sends_data_outside_the_allowed_regions(
    endpoints: list[tuple[str, float, float]], customer: str, interaction: str
) -> None:
    fleet = [
        in_region(f"bot-{i}", region, capability={"*": fit}, weight=weight)
        for i, (region, fit, weight) in enumerate(endpoints)
    ]
    cfg = config(ai_endpoints=fleet, residency=EU_ONLY)
    req = request(interaction_id=interaction).model_copy(update={"region": customer})
    decision = decide_route(req, cfg, FleetSnapshot(), PRE)
    allowed = EU_ONLY.allowed(customer)
    for chosen in (decision.ai_endpoint, decision.shadow_endpoint):
        if chosen is not None and allowed is not None:
            assert chosen.region in allowed
