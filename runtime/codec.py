"""Payload encryption: customer text never reaches Temporal's history in clear.

Warmline redacts what it keeps, but Temporal stores every payload as sent: the raw
``first_message``, ``send_message`` texts, activity inputs and results. ``EncryptionCodec``
encrypts each payload with AES-256-GCM before it leaves the process, so the server (and its
database, archives and backups) only ever holds ciphertext; whoever holds the key ring (the
workers, Warmline's clients and the codec server in the API) sees the plain JSON.

Encoded payload: metadata ``encoding=binary/encrypted`` and ``encryption-key-id=<id>``, data
``nonce (12 bytes) + ciphertext`` of the serialized original ``Payload`` proto (so its own
metadata, e.g. ``encoding=json/plain``, is hidden and restored too). The key id is bound as
associated data, so relabelling a payload with another key's id fails authentication.

Key ring: several keys by id; the first encrypts, all decrypt. Rotation is "put the new key
first, keep the old ones for as long as histories encrypted with them are retained".
Plaintext payloads pass through ``decode`` untouched: a client without the codec (the plain
``temporal`` CLI, a non-Python integration) can still start interactions, and histories
recorded before encryption still replay. Their input is then stored in clear, which is why
Warmline's own clients always encrypt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.exceptions import ApplicationError

from runtime.converter import boundary_data_converter
from runtime.key_ring import format_key_ring, read_or_create
from runtime.key_ring import new_key as new_random_key
from runtime.key_ring import parse_key_ring as parse_keys
from runtime.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32  # AES-256
KEY_FILE_NAME = "payload-keys"


class PayloadKeyError(ValueError):
    """A key ring (setting or key file) that cannot be used; raised at startup, not per call."""


class PayloadDecryptionError(ApplicationError):
    """A payload this process cannot decrypt: unknown key id, or ciphertext that fails
    authentication (tampered, truncated, or encrypted with a different key of the same id).

    Non-retryable: retrying cannot make a missing key appear or repair the bytes; the fix is
    configuration (add the key to ``WARMLINE_PAYLOAD_KEYS``), so failing loudly beats a retry
    loop.
    """

    def __init__(self, message: str, *, type: str) -> None:
        super().__init__(message, type=type, non_retryable=True)


def parse_key_ring(text: str) -> dict[str, bytes]:
    """Parse ``id:base64key[,id:base64key...]``; the first key encrypts, all are AES-256."""
    return parse_keys(text, what="payload", key_bytes=KEY_BYTES, error=PayloadKeyError)


def new_key(prefix: str = "k") -> tuple[str, bytes]:
    """A fresh random AES-256 key with a random id."""
    return new_random_key(prefix, KEY_BYTES)


def load_or_create_key_ring(settings: Settings) -> dict[str, bytes]:
    """The configured key ring, else the data directory's key file, created on first use.

    ``WARMLINE_PAYLOAD_KEYS`` wins (production: every worker, client and the API must share
    it). Without it, the embedded stack keeps one key in ``<data_dir>/payload-keys`` (mode
    0600), so ``warmline dev`` restarted on the same SQLite history can still read it, and
    ``warmline supervise`` run from the same directory shares it.
    """
    if settings.payload_keys is not None:
        return parse_key_ring(settings.payload_keys.get_secret_value())
    path = settings.data_dir / KEY_FILE_NAME

    def create() -> str:
        key_id, key = new_key("local")
        return (
            "# Warmline payload keys: id:base64key, one per line; the first encrypts.\n"
            f"{format_key_ring({key_id: key})}\n"
        )

    try:
        return parse_key_ring(read_or_create(path, create))
    except PayloadKeyError as exc:
        raise PayloadKeyError(f"{path}: {exc}") from None


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads, with a key ring for rotation."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise PayloadKeyError("the payload key ring is empty")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"payload key {key_id!r} is not {KEY_BYTES} bytes")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._encrypting_id = next(iter(keys))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        key_id = self._encrypting_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written by a client without the codec, or before encryption
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not in this process's "
                f"key ring ({', '.join(self._ciphers)}); add it to WARMLINE_PAYLOAD_KEYS",
                type="UnknownPayloadKey",
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except (InvalidTag, ValueError):  # ValueError: shorter than a nonce
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} failed authentication: it was "
                "altered, truncated, or encrypted with a different key under the same id",
                type="PayloadTampered",
            ) from None
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


def warmline_data_converter(settings: Settings) -> DataConverter:
    """The converter every Warmline client and worker uses (``runtime.converter``: pydantic
    JSON with the workflow boundary's rules), encrypting when enabled."""
    if not settings.payload_encryption:
        return boundary_data_converter()
    return boundary_data_converter(EncryptionCodec(load_or_create_key_ring(settings)))


def payloads_from_json(body: bytes | str) -> list[Payload]:
    """Parse the remote codec protocol body: ``{"payloads": [{"metadata": {..}, "data": ..}]}``.

    Bytes are base64 in both directions, exactly protobuf's JSON mapping of ``Payloads``,
    which is what the Temporal UI and CLI send. Raises ``ValueError`` on anything else.
    """
    try:
        message = json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from None
    return list(message.payloads)


def payloads_to_json(payloads: Iterable[Payload]) -> str:
    """The response body of the remote codec protocol (same shape as the request)."""
    message = Payloads(payloads=list(payloads))
    document = json_format.MessageToDict(message, preserving_proto_field_name=True)
    document.setdefault("payloads", [])
    return json.dumps(document)
