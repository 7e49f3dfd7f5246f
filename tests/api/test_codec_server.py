"""The API's remote codec server over real loopback HTTP: protocol, CORS and authorization."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload

from api.app import create_api_app
from runtime.codec import (
    ENCODING,
    EncryptionCodec,
    format_key_ring,
    new_key,
    payloads_from_json,
    payloads_to_json,
)
from runtime.settings import Settings
from simulators.server import serve_app
from tests.audit_keys import open_test_store

TOKEN = "s3cret-admin-token"
MESSAGE = "I was charged twice, my IBAN is GB33BUKB20201555555555"
UI_ORIGIN = "http://localhost:8233"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def plain_body(text: str = MESSAGE) -> dict[str, Any]:
    data = json.dumps({"text": text}).encode()
    return {"payloads": [{"metadata": {"encoding": b64(b"json/plain")}, "data": b64(data)}]}


@pytest.fixture
def keys() -> dict[str, bytes]:
    return dict([new_key("api")])


async def serve(
    tmp_path: Path, keys: dict[str, bytes], *, token: str | None, codec_open: bool = False
) -> AsyncIterator[str]:
    settings = Settings(
        data_dir=tmp_path,
        payload_keys=SecretStr(format_key_ring(keys)),
        admin_token=SecretStr(token) if token else None,
    )
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    async with serve_app(create_api_app(store, settings, codec_open=codec_open)) as url:
        yield url


@pytest.fixture
async def guarded(tmp_path: Path, keys: dict[str, bytes]) -> AsyncIterator[str]:
    async for url in serve(tmp_path, keys, token=TOKEN):
        yield url


@pytest.fixture
async def loopback_open(tmp_path: Path, keys: dict[str, bytes]) -> AsyncIterator[str]:
    async for url in serve(tmp_path, keys, token=None, codec_open=True):
        yield url


async def test_encode_then_decode_with_the_token(guarded: str, keys: dict[str, bytes]) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"}
    async with httpx.AsyncClient(base_url=guarded, headers=auth) as http:
        encoded = await http.post("/codec/encode", json=plain_body())
        assert encoded.status_code == 200, encoded.text
        assert MESSAGE.encode() not in encoded.content
        (sealed,) = payloads_from_json(encoded.content)
        assert sealed.metadata["encoding"] == ENCODING
        # The workers' codec (same key ring) reads what the server encrypted, and vice versa.
        (opened,) = await EncryptionCodec(keys).decode([sealed])
        assert json.loads(opened.data) == {"text": MESSAGE}

        decoded = await http.post("/codec/decode", content=encoded.content)
        assert decoded.status_code == 200, decoded.text
        assert decoded.json() == plain_body()

        # Plaintext (a plain client's input) decodes to itself.
        passthrough = await http.post("/codec/decode", json=plain_body("hello"))
        assert passthrough.json() == plain_body("hello")


async def test_without_or_with_a_wrong_token_is_401(guarded: str) -> None:
    async with httpx.AsyncClient(base_url=guarded) as http:
        for path in ("/codec/encode", "/codec/decode"):
            missing = await http.post(path, json=plain_body())
            assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
            assert MESSAGE not in missing.text
        wrong = await http.post(
            "/codec/decode", json=plain_body(), headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401


async def test_unknown_key_and_bad_bodies_are_client_errors(guarded: str) -> None:
    foreign = EncryptionCodec(dict([new_key("elsewhere")]))
    (sealed,) = await foreign.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"{}")])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=guarded, headers=auth) as http:
        unknown = await http.post("/codec/decode", content=payloads_to_json([sealed]))
        assert unknown.status_code == 422 and "elsewhere" in unknown.json()["error"]
        garbage = await http.post("/codec/decode", content=b"not json")
        assert garbage.status_code == 400


async def test_cors_admits_the_temporal_ui_only(guarded: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with httpx.AsyncClient(base_url=guarded) as http:
        ui = await http.options("/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
        assert ui.status_code == 200
        assert ui.headers["access-control-allow-origin"] == UI_ORIGIN
        assert "x-namespace" in ui.headers["access-control-allow-headers"].lower()
        other = await http.options(
            "/codec/decode", headers={"Origin": "https://evil.example", **preflight}
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        # CORS covers the codec only, not routing administration.
        admin = await http.options("/v1/routing-config", headers={"Origin": UI_ORIGIN, **preflight})
        assert "access-control-allow-origin" not in admin.headers


async def test_loopback_stack_answers_without_a_token(loopback_open: str) -> None:
    async with httpx.AsyncClient(base_url=loopback_open) as http:
        encoded = await http.post("/codec/encode", json=plain_body())
        assert encoded.status_code == 200
        decoded = await http.post("/codec/decode", content=encoded.content)
        assert decoded.json() == plain_body()


async def test_public_api_without_a_token_refuses_to_decrypt(
    tmp_path: Path, keys: dict[str, bytes]
) -> None:
    async for url in serve(tmp_path, keys, token=None, codec_open=False):
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await http.post("/codec/decode", json=plain_body())
            assert refused.status_code == 403 and "WARMLINE_ADMIN_TOKEN" in refused.text
