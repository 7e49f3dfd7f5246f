"""A registration becomes the endpoint the registry stores: profiled like an existing version,
and never carrying a vendor key to a host the key was not configured for."""

from __future__ import annotations

import pytest

from models.commands import RegisterVersion
from models.routing import EndpointRole, RoutingConfig
from warmline.default_config import CARE_BOT, CARE_BOT_VERSION, default_routing_config
from warmline.registration import registration
from warmline.registry import RegistryError, find

FLEET = "https://ai.example.com"
VENDOR_KEY = "WARMLINE_AI_KEY_VENDOR"


def config_with_key() -> RoutingConfig:
    config = default_routing_config(FLEET)
    production = find(config, CARE_BOT, CARE_BOT_VERSION)
    keyed = production.model_copy(update={"api_key_env": VENDOR_KEY, "region": "eu"})
    others = [e for e in config.ai_endpoints if e is not production]
    return config.model_copy(update={"ai_endpoints": [keyed, *others]})


def test_a_new_version_copies_production_and_overrides_what_it_names() -> None:
    request = RegisterVersion(
        agent=CARE_BOT, version="2027.1", capability={"order_status": 0.97}, max_concurrent=7
    )
    endpoint, notes = registration(config_with_key(), request, f"{FLEET}/agents/x/v1")
    production = find(config_with_key(), CARE_BOT, CARE_BOT_VERSION)
    assert (endpoint.version, endpoint.role, endpoint.weight) == ("2027.1", EndpointRole.CANARY, 0)
    assert endpoint.region == "eu" and endpoint.max_concurrent == 7
    assert endpoint.capability == {**production.capability, "order_status": 0.97}
    assert endpoint.api_key_env == VENDOR_KEY and notes == []


def test_the_vendor_key_is_not_copied_to_another_host() -> None:
    request = RegisterVersion(agent=CARE_BOT, version="2027.1", url="https://evil.example/v1")
    endpoint, notes = registration(config_with_key(), request, f"{FLEET}/agents/x/v1")
    assert endpoint.api_key_env is None
    assert notes and f"{VENDOR_KEY} not copied" in notes[0]
    same_host = RegisterVersion(agent=CARE_BOT, version="2027.2", url=f"{FLEET}/other/v1")
    assert registration(config_with_key(), same_host, "unused")[0].api_key_env == VENDOR_KEY


def test_like_must_name_a_registered_version() -> None:
    request = RegisterVersion(agent=CARE_BOT, version="2027.1", like="1999.1")
    with pytest.raises(RegistryError, match=r"like: care-bot:1999\.1 is not registered"):
        registration(config_with_key(), request, "unused")
    fresh = RegisterVersion(agent="new-bot", version="1")
    endpoint, _ = registration(config_with_key(), fresh, "http://127.0.0.1:9/v1")
    assert endpoint.capability == {"*": 0.8} and endpoint.url == "http://127.0.0.1:9/v1"
