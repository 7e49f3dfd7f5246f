"""Authentication and authorization of the API over real loopback HTTP.

Tokens come from ``tests.identity``'s identity provider, whose JWKS the test serves over loopback
(no external IdP can run here); API keys are issued into the real store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from models.access import Role
from runtime.settings import Settings
from store.api_keys import ApiKeyStore
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.identity import LoopbackIdP, api_key, bearer, serve_api, serve_idp


@dataclass
class Api:
    http: httpx.AsyncClient
    idp: LoopbackIdP
    store: Store
    settings: Settings


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    async with serve_idp() as idp:
        settings = idp.settings(data_dir=tmp_path)
        async with (
            serve_api(store, settings) as url,
            httpx.AsyncClient(base_url=url) as http,
        ):
            yield Api(http, idp, store, settings)
    store.close()


async def test_health_readiness_and_docs_need_no_credential(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        response = await api.http.get(path)
        assert response.status_code == 200, path
    document = (await api.http.get("/openapi.json")).json()
    assert "/v1/reviews/{target}/decision" in document["paths"]
    assert "HTTPBearer" in document["components"]["securitySchemes"]


async def test_a_missing_or_unusable_credential_is_401_with_a_challenge(api: Api) -> None:
    missing = await api.http.get("/v1/routing-config")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="warmline"'
    assert "missing credential" in missing.json()["error"]
    basic = await api.http.get("/v1/routing-config", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401 and "use Bearer" in basic.json()["error"]
    expired = api.idp.token("ana", [Role.OPERATOR], lifetime=-120)
    stale = await api.http.get("/v1/routing-config", headers=bearer(expired))
    assert stale.status_code == 401
    challenge = stale.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and 'error_description="token expired"' in challenge
    # Unknown paths and malformed bodies say nothing before the caller is authenticated.
    assert (await api.http.get("/v1/no-such-route")).status_code == 401
    garbage = await api.http.post(
        "/v1/routing-config", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 401


async def test_a_valid_credential_without_the_permission_is_403_naming_it(api: Api) -> None:
    token = api.idp.token("walt@example.com", [Role.WFM_READER])
    response = await api.http.post("/v1/routing-config", json={}, headers=bearer(token))
    assert response.status_code == 403
    reason = response.json()["error"]
    assert "walt@example.com lacks permission 'routing_change'" in reason
    assert "granted to: operator" in reason and "your roles: wfm_reader" in reason
    assert (await api.http.get("/v1/wfm/summary", headers=bearer(token))).status_code == 200
    nobody = api.idp.token("guest", ["Domain Users"])
    refused = await api.http.get("/v1/wfm/summary", headers=bearer(nobody))
    assert refused.status_code == 403 and "your roles: none" in refused.json()["error"]


async def test_whoami_reports_identity_roles_and_permissions(api: Api) -> None:
    token = api.idp.token("ana@example.com", [Role.SUPERVISOR])
    me = (await api.http.get("/v1/access/whoami", headers=bearer(token))).json()
    assert me["subject"] == "ana@example.com" and me["via"] == "jwt"
    assert me["roles"] == ["supervisor"] and "review" in me["permissions"]
    key = api_key(api.store, api.settings, "ccaas", Role.INTERACTION_CLIENT)
    service = (await api.http.get("/v1/access/whoami", headers=bearer(key))).json()
    assert service["subject"] == "apikey:ccaas" and service["via"] == "api_key"
    assert service["permissions"] == ["payload_encode"]


async def test_api_keys_are_issued_listed_and_revoked_by_admins_only(api: Api) -> None:
    admin = bearer(api.idp.token("root@example.com", [Role.ADMIN]))
    operator = bearer(api.idp.token("ops@example.com", [Role.OPERATOR]))
    request = {"name": "wfm-sync", "roles": ["wfm_reader"], "expires_in_days": 90}
    denied = await api.http.post("/v1/access/keys", json=request, headers=operator)
    assert denied.status_code == 403 and "access_admin" in denied.json()["error"]
    issued = await api.http.post("/v1/access/keys", json=request, headers=admin)
    assert issued.status_code == 201
    token = issued.json()["token"]
    key_id = issued.json()["key"]["key_id"]
    assert issued.json()["key"]["created_by"] == "root@example.com"
    assert (await api.http.get("/v1/wfm/summary", headers=bearer(token))).status_code == 200
    listed = (await api.http.get("/v1/access/keys", headers=admin)).json()
    assert [k["key_id"] for k in listed] == [key_id] and "token" not in listed[0]
    assert token not in (await api.http.get("/v1/access/keys", headers=admin)).text
    revoked = await api.http.delete(f"/v1/access/keys/{key_id}", headers=admin)
    assert revoked.json()["revoked_by"] == "root@example.com"
    after = await api.http.get("/v1/wfm/summary", headers=bearer(token))
    assert after.status_code == 401 and "revoked" in after.json()["error"]
    assert (await api.http.delete("/v1/access/keys/ffffffffffff", headers=admin)).status_code == 404
    bad = await api.http.post(
        "/v1/access/keys", json={"name": "Bad Name", "roles": ["root"]}, headers=admin
    )
    assert bad.status_code == 422 and "name" in bad.json()["error"]
    assert not ApiKeyStore(api.store).list(include_revoked=False)


async def test_an_unreachable_identity_provider_is_503_not_a_hang_or_500(tmp_path: Path) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    idp = LoopbackIdP(jwks_url="http://127.0.0.1:9/jwks.json")
    async with (
        serve_api(store, idp.settings(data_dir=tmp_path)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.get("/v1/wfm/summary", headers=bearer(idp.token("a", ["operator"])))
        assert response.status_code == 503 and "signing keys" in response.json()["error"]
        # API keys do not depend on the IdP.
        key = api_key(store, Settings(data_dir=tmp_path), "svc", Role.WFM_READER)
        assert (await http.get("/v1/wfm/summary", headers=bearer(key))).status_code == 200
    store.close()


async def test_without_oidc_settings_only_api_keys_authenticate(tmp_path: Path) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    settings = Settings(data_dir=tmp_path)
    async with (
        serve_idp() as idp,
        serve_api(store, settings) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        token = idp.token("ana", [Role.OPERATOR])
        response = await http.get("/v1/wfm/summary", headers=bearer(token))
        assert response.status_code == 401
        assert "no OIDC issuer is configured" in response.json()["error"]
    store.close()
