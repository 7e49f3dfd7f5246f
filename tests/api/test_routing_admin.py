"""Routing changes through the API over real loopback HTTP: only with the admin token."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from api.app import create_api_app
from runtime.settings import Settings
from simulators.server import serve_app
from tests.audit_keys import open_test_store
from warmline.default_config import default_routing_config

TOKEN = "routing-admin-token"


async def test_routing_changes_need_the_bearer_admin_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_token=SecretStr(TOKEN))
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    body = default_routing_config("http://127.0.0.1:9").model_dump(mode="json")
    author = {"X-Warmline-Author": "ops@example.com"}
    async with (
        serve_app(create_api_app(store, settings)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        for refused in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = await http.post("/v1/routing-config", json=body, headers=author | refused)
            assert response.status_code == 403, refused
        assert store.active_routing_config() is None
        accepted = await http.post(
            "/v1/routing-config",
            json=body,
            headers=author | {"Authorization": f"bearer {TOKEN}"},
        )
        assert accepted.status_code == 201
        saved = store.active_routing_config()
        assert saved is not None and accepted.json() == {"version": saved.version}
