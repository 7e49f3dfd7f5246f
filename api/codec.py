"""Temporal's remote codec protocol (``POST /codec/encode``, ``POST /codec/decode``), audited.

The codec server holds the payload key ring, so ``decode`` is a decryption oracle: it answers only
principals allowed to read customer text (``payload_decode``: supervisors and auditors), and every
decode is recorded on the ``privileged-reads`` stream before the plaintext leaves: who, which
namespace (``X-Namespace``, sent by the Temporal UI and CLI), which workflow when the request says
(an ``X-Workflow-Id`` header, or a Temporal UI page in ``Referer``), how many payloads and how many
of them were encrypted. ``encode`` only seals data and is open to interaction clients too.

CORS for the browser-side Temporal UI is added in ``api.app`` for these paths only.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Request, Response
from temporalio.api.common.v1 import Payload

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from models.access import Permission, Principal
from runtime.codec import (
    ENCODING,
    EncryptionCodec,
    PayloadDecryptionError,
    payloads_from_json,
    payloads_to_json,
)

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_HEADER_CHARS = 200
_UI_WORKFLOW_PAGE = re.compile(r"/namespaces/[^/]+/workflows/([^/]+)")

_PAYLOADS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "temporal.api.common.v1.Payloads in protobuf JSON",
                    "properties": {"payloads": {"type": "array", "items": {"type": "object"}}},
                }
            }
        },
    }
}


def _bounded(value: str | None) -> str | None:
    return value.strip()[:MAX_HEADER_CHARS] if value and value.strip() else None


def _workflow_ids(request: Request) -> list[str]:
    """Which workflow the payloads belong to, when the caller says (it need not)."""
    named = _bounded(request.headers.get("x-workflow-id"))
    if named:
        return [named]
    referer = urlsplit(request.headers.get("referer", "")).path
    match = _UI_WORKFLOW_PAGE.search(referer)
    return [_bounded(unquote(match.group(1))) or ""] if match else []


async def _payloads(request: Request) -> list[Payload]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"codec requests are limited to {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"codec requests are limited to {MAX_BODY_BYTES} bytes")
    try:
        return payloads_from_json(body)
    except ValueError as exc:
        raise ApiError(400, f"body is not a Payloads JSON document: {exc}") from None


def codec_router(codec: EncryptionCodec) -> APIRouter:
    router = APIRouter(prefix="/codec", tags=["codec"])

    @router.post("/encode", openapi_extra=_PAYLOADS_BODY)
    async def encode(
        request: Request, _: Annotated[Principal, requires(Permission.PAYLOAD_ENCODE)]
    ) -> Response:
        """Encrypt payloads with the key ring's current key (Temporal UI and CLI inputs)."""
        sealed = await codec.encode(await _payloads(request))
        return Response(payloads_to_json(sealed), media_type="application/json")

    @router.post("/decode", openapi_extra=_PAYLOADS_BODY)
    async def decode(
        request: Request,
        services: Services,
        principal: Annotated[Principal, requires(Permission.PAYLOAD_DECODE)],
    ) -> Response:
        """Decrypt payloads for someone allowed to read customer text; audited first."""
        payloads = await _payloads(request)
        try:
            opened = await codec.open(payloads)
        except PayloadDecryptionError as exc:
            raise ApiError(422, exc.message) from None
        await services.record_read(
            principal,
            "payloads_decoded",
            {
                "namespace": _bounded(request.headers.get("x-namespace")),
                "workflow_ids": _workflow_ids(request),
                "payloads": len(payloads),
                "encrypted": sum(p.metadata.get("encoding") == ENCODING for p in payloads),
                "origin": _bounded(request.headers.get("origin")),
            },
        )
        return Response(payloads_to_json(opened), media_type="application/json")

    return router
