"""Routing changes through the API over real loopback HTTP: operators only, authored by the
credential's identity whatever a header claims. Tokens come from a JWKS the test serves itself
(no external identity provider can run here)."""

from __future__ import annotations

from pathlib import Path

import httpx

from models.access import Role
from store.repository import ROUTING_CONFIG_STREAM
from tests.audit_keys import open_test_store
from tests.identity import bearer, serve_api, serve_idp
from warmline.default_config import default_routing_config


async def test_routing_changes_need_an_operator_and_record_who(tmp_path: Path) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    body = default_routing_config("http://127.0.0.1:9").model_dump(mode="json")
    claimed = {"X-Warmline-Author": "someone-else@example.com"}
    async with (
        serve_idp() as idp,
        serve_api(store, idp.settings(data_dir=tmp_path)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        release_manager = bearer(idp.token("rm@example.com", [Role.RELEASE_MANAGER]))
        for refused, status in (({}, 401), (release_manager, 403)):
            response = await http.post("/v1/routing-config", json=body, headers=claimed | refused)
            assert response.status_code == status, refused
        assert store.active_routing_config() is None
        operator = bearer(idp.token("ops@example.com", [Role.OPERATOR]))
        accepted = await http.post("/v1/routing-config", json=body, headers=claimed | operator)
        assert accepted.status_code == 201
        saved = store.active_routing_config()
        assert saved is not None
        assert accepted.json() == {"version": saved.version, "author": "ops@example.com"}
        assert saved.author == "ops@example.com"
        (event,) = store.audit_trail(ROUTING_CONFIG_STREAM)
        assert event.actor == "ops@example.com"
        shown = await http.get(f"/v1/routing-config/versions/{saved.version}", headers=operator)
        assert shown.json()["author"] == "ops@example.com"
        invalid = await http.post("/v1/routing-config", json={"intent_map": 7}, headers=operator)
        assert invalid.status_code == 422 and "intent_map" in invalid.json()["error"]
        typo = body | {"specialists": {"technical_support": "tech-bott", "sales": "sales-bot"}}
        rejected = await http.post("/v1/routing-config", json=typo, headers=operator)
        assert rejected.status_code == 422
        error = rejected.json()["error"]
        assert "specialists['technical_support']: unknown AI agent 'tech-bott'" in error
        assert "specialists['sales']: unknown intent for agent 'sales-bot'" in error
        assert store.active_routing_config() == saved, "a rejected config changes nothing"
    store.close()
