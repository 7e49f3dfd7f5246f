"""The API's remote codec server over real loopback HTTP: protocol, CORS, who may decrypt, and
the audit of every decode. Tokens come from a JWKS the test serves itself (no external IdP)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload

from api.services import PRIVILEGED_READS_STREAM
from models.access import Role
from runtime.codec import (
    ENCODING,
    EncryptionCodec,
    format_key_ring,
    new_key,
    payloads_from_json,
    payloads_to_json,
)
from runtime.settings import Settings
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.identity import LoopbackIdP, bearer, serve_api, serve_idp

MESSAGE = "I was charged twice, my IBAN is GB33BUKB20201555555555"
UI_ORIGIN = "http://localhost:8233"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def plain_body(text: str = MESSAGE) -> dict[str, Any]:
    data = json.dumps({"text": text}).encode()
    return {"payloads": [{"metadata": {"encoding": b64(b"json/plain")}, "data": b64(data)}]}


@dataclass
class Codec:
    http: httpx.AsyncClient
    idp: LoopbackIdP
    store: Store
    keys: dict[str, bytes]

    def as_role(self, subject: str, role: Role) -> dict[str, str]:
        return bearer(self.idp.token(subject, [role]))


@pytest.fixture
def keys() -> dict[str, bytes]:
    return dict([new_key("api")])


async def _serve(tmp_path: Path, keys: dict[str, bytes], **options: Any) -> AsyncIterator[Codec]:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    async with serve_idp() as idp:
        settings: Settings = idp.settings(
            data_dir=tmp_path, payload_keys=SecretStr(format_key_ring(keys))
        )
        async with (
            serve_api(store, settings, **options) as url,
            httpx.AsyncClient(base_url=url) as http,
        ):
            yield Codec(http, idp, store, keys)
    store.close()


@pytest.fixture
async def codec(tmp_path: Path, keys: dict[str, bytes]) -> AsyncIterator[Codec]:
    async for served in _serve(tmp_path, keys):
        yield served


async def test_clients_encode_and_only_supervisors_and_auditors_decode(codec: Codec) -> None:
    client = codec.as_role("svc-ccaas", Role.INTERACTION_CLIENT)
    encoded = await codec.http.post("/codec/encode", json=plain_body(), headers=client)
    assert encoded.status_code == 200, encoded.text
    assert MESSAGE.encode() not in encoded.content
    (sealed,) = payloads_from_json(encoded.content)
    assert sealed.metadata["encoding"] == ENCODING
    # The workers' codec (same key ring) reads what the server encrypted.
    (opened,) = await EncryptionCodec(codec.keys).decode([sealed])
    assert json.loads(opened.data) == {"text": MESSAGE}

    for role in (Role.INTERACTION_CLIENT, Role.OPERATOR, Role.ADMIN, Role.RELEASE_MANAGER):
        refused = await codec.http.post(
            "/codec/decode", content=encoded.content, headers=codec.as_role("x", role)
        )
        assert refused.status_code == 403 and "payload_decode" in refused.json()["error"]
        assert MESSAGE not in refused.text
    for role in (Role.SUPERVISOR, Role.AUDITOR):
        decoded = await codec.http.post(
            "/codec/decode", content=encoded.content, headers=codec.as_role(f"{role}-1", role)
        )
        assert decoded.status_code == 200 and decoded.json() == plain_body()
    # Plaintext (a plain client's input) decodes to itself.
    passthrough = await codec.http.post(
        "/codec/decode", json=plain_body("hello"), headers=codec.as_role("a", Role.AUDITOR)
    )
    assert passthrough.json() == plain_body("hello")


async def test_every_decode_is_audited_with_who_where_and_how_many(codec: Codec) -> None:
    sealed = await EncryptionCodec(codec.keys).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')] * 2
    )
    headers = {
        **codec.as_role("auditor@example.com", Role.AUDITOR),
        "X-Namespace": "default",
        "X-Workflow-Id": "interaction-42",
    }
    response = await codec.http.post(
        "/codec/decode", content=payloads_to_json(sealed), headers=headers
    )
    assert response.status_code == 200
    ui_page = f"{UI_ORIGIN}/namespaces/default/workflows/interaction-7/run-1/history"
    await codec.http.post(
        "/codec/decode",
        json=plain_body("hi"),
        headers={**codec.as_role("sup@example.com", Role.SUPERVISOR), "Referer": ui_page},
    )
    first, second = codec.store.audit_trail(PRIVILEGED_READS_STREAM)
    assert (first.kind, first.actor) == ("payloads_decoded", "auditor@example.com")
    assert first.payload == {
        "via": "jwt",
        "namespace": "default",
        "workflow_ids": ["interaction-42"],
        "payloads": 2,
        "encrypted": 2,
        "origin": None,
    }
    assert second.actor == "sup@example.com" and second.payload["workflow_ids"] == ["interaction-7"]
    assert second.payload["encrypted"] == 0
    # Refused decodes read nothing, so they leave no read record.
    await codec.http.post(
        "/codec/decode", json=plain_body(), headers=codec.as_role("o", Role.OPERATOR)
    )
    assert len(codec.store.audit_trail(PRIVILEGED_READS_STREAM)) == 2


async def test_without_a_credential_is_401(codec: Codec) -> None:
    for path in ("/codec/encode", "/codec/decode"):
        missing = await codec.http.post(path, json=plain_body())
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert MESSAGE not in missing.text
    wrong = await codec.http.post(
        "/codec/decode", json=plain_body(), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401


async def test_unknown_key_and_bad_bodies_are_client_errors(codec: Codec) -> None:
    foreign = EncryptionCodec(dict([new_key("elsewhere")]))
    (sealed,) = await foreign.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"{}")])
    auditor = codec.as_role("a", Role.AUDITOR)
    unknown = await codec.http.post(
        "/codec/decode", content=payloads_to_json([sealed]), headers=auditor
    )
    assert unknown.status_code == 422 and "elsewhere" in unknown.json()["error"]
    garbage = await codec.http.post("/codec/decode", content=b"not json", headers=auditor)
    assert garbage.status_code == 400


async def test_cors_admits_the_temporal_ui_on_the_codec_only(codec: Codec) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    ui = await codec.http.options("/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == UI_ORIGIN
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in ui.headers["access-control-allow-headers"].lower()
    other = await codec.http.options(
        "/codec/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    # A refusal reaches the UI readable (CORS headers on the 401), so it can show the reason.
    refused = await codec.http.post(
        "/codec/decode", json=plain_body(), headers={"Origin": UI_ORIGIN}
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == UI_ORIGIN
    # CORS covers the codec only, not routing administration.
    admin = await codec.http.options(
        "/v1/routing-config", headers={"Origin": UI_ORIGIN, **preflight}
    )
    assert "access-control-allow-origin" not in admin.headers


async def test_the_embedded_stack_ui_decodes_without_a_login_and_is_audited(
    tmp_path: Path, keys: dict[str, bytes]
) -> None:
    async for codec in _serve(tmp_path, keys, local_ui=True):
        encoded = await codec.http.post("/codec/encode", json=plain_body())
        assert encoded.status_code == 200
        decoded = await codec.http.post("/codec/decode", content=encoded.content)
        assert decoded.json() == plain_body()
        (read,) = codec.store.audit_trail(PRIVILEGED_READS_STREAM)
        assert (read.actor, read.payload["via"]) == ("local-ui", "local")
        # Only the codec: the rest of the API still wants a credential.
        assert (await codec.http.get("/v1/wfm/summary")).status_code == 401
