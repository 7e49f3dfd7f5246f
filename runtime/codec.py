"""Payload encryption: customer text never reaches Temporal's history in clear.

Warmline redacts what it keeps, but Temporal stores every payload as sent: the raw
``first_message``, ``send_message`` texts, activity inputs and results, failure messages and
stack traces. ``EncryptionCodec`` encrypts each payload with AES-256-GCM before it leaves the
process, so the server (and its database, archives and backups) only ever holds ciphertext;
whoever holds the key ring (the workers, Warmline's clients and the codec server in the API)
sees the plain JSON. Failures go through the SDK's failure converter with encoded attributes,
so their message and stack trace travel as one encrypted payload too.

Encoded payload: metadata ``encoding=binary/encrypted`` and ``encryption-key-id=<id>``, data
``nonce (12 bytes) + ciphertext`` of the serialized original ``Payload`` proto (so its own
metadata, e.g. ``encoding=json/plain``, is hidden and restored too). The key id is bound as
associated data, so relabelling a payload with another key's id fails authentication.

Key ring (``PayloadKeyRing``): several keys by id, exactly one of which encrypts; the others
are marked ``:decrypt-only``. Rotation in two rollouts, each safe in any order across
processes: (1) add the new key as decrypt-only everywhere - every process still encrypts with
the old one, and all can read the new one; (2) once (1) is everywhere, make the new key the
encrypting one and mark the old one decrypt-only - a process still on (1) reads the new key,
one on (2) reads the old one. Drop an old key only when no retained history uses it.

A payload this process will not decode - unknown key id, failed authentication, or (with
``WARMLINE_REQUIRE_ENCRYPTION``) a plain one - never raises out of the codec, where it would
fail the workflow task of the whole activation: ``decode`` hands on a ``refused`` stand-in,
which the boundary converter turns into a rejected update, a signal recorded as dropped, a
failed start (``runtime.converter``). The codec server, answering a person, uses ``open``,
which raises ``PayloadDecryptionError`` instead. Without that setting plain payloads pass
through: a client without the codec can still start interactions, and histories recorded
before encryption still replay.

Only the embedded stack creates a key ring (``ensure_local_payload_keys``); every other process
reads ``WARMLINE_PAYLOAD_KEYS`` or the stack's file and refuses to start without either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.exceptions import ApplicationError

from runtime.converter import boundary_data_converter, refused
from runtime.key_ring import format_key_ring, parse_key_entries, read_or_create
from runtime.key_ring import new_key as new_random_key
from runtime.secret_files import read_local
from runtime.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32  # AES-256
KEY_FILE_NAME = "payload-keys"
KEY_SETTING = "WARMLINE_PAYLOAD_KEYS"
DECRYPT_ONLY = "decrypt-only"
MAX_KEY_ID_SHOWN = 64


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


@dataclass(frozen=True)
class PayloadKeyRing:
    """Keys by id, and the one that encrypts; every key decrypts."""

    keys: Mapping[str, bytes]
    encrypting: str

    @property
    def decrypt_only(self) -> list[str]:
        return [key_id for key_id in self.keys if key_id != self.encrypting]


def parse_key_ring(text: str) -> PayloadKeyRing:
    """Parse ``id:base64key[:decrypt-only],...``: exactly one key without ``:decrypt-only``
    encrypts. Two encrypting keys are refused rather than "the first wins": processes on two
    versions of such a ring would each encrypt with a key the other may not hold."""
    entries = parse_key_entries(
        text,
        what="payload",
        key_bytes=KEY_BYTES,
        error=PayloadKeyError,
        flags=frozenset({DECRYPT_ONLY}),
    )
    encrypting = [key_id for key_id, _, flag in entries if flag is None]
    if len(encrypting) != 1:
        raise PayloadKeyError(
            f"the payload key ring has {len(encrypting)} encrypting keys; exactly one key must "
            f"encrypt, mark the others 'id:base64key:{DECRYPT_ONLY}' (README: Payload encryption)"
        )
    return PayloadKeyRing({key_id: key for key_id, key, _ in entries}, encrypting[0])


def format_payload_key_ring(ring: PayloadKeyRing) -> str:
    """The setting form of ``ring`` (what ``parse_key_ring`` reads)."""
    return ",".join(
        format_key_ring({key_id: key}) + ("" if key_id == ring.encrypting else f":{DECRYPT_ONLY}")
        for key_id, key in ring.keys.items()
    )


def new_key(prefix: str = "k") -> tuple[str, bytes]:
    """A fresh random AES-256 key with a random id."""
    return new_random_key(prefix, KEY_BYTES)


def load_payload_keys(settings: Settings) -> PayloadKeyRing:
    """``WARMLINE_PAYLOAD_KEYS``, else the embedded stack's key file; never a new key.

    Production sets the variable on every worker, client and the API. Without it only a process
    run from the directory of ``warmline dev`` (which created ``<data_dir>/payload-keys``) has a
    ring; any other refuses to start (``MissingSecret``) instead of inventing a key whose
    payloads nobody else could read.
    """
    if settings.payload_keys is not None:
        return parse_key_ring(settings.payload_keys.get_secret_value())
    path = settings.data_dir / KEY_FILE_NAME
    text = read_local(
        path,
        what="payload key ring",
        setting=KEY_SETTING,
        why="every worker, client and API of a deployment encrypts Temporal payloads with it",
    )
    try:
        return parse_key_ring(text)
    except PayloadKeyError as exc:
        raise PayloadKeyError(f"{path}: {exc}") from None


def ensure_local_payload_keys(settings: Settings) -> None:
    """For the embedded stack only: create ``<data_dir>/payload-keys`` (mode 0600) unless the
    ring is configured, encryption is off or the file exists, so a restarted ``warmline dev``
    still reads its SQLite history."""
    if settings.payload_keys is not None or not settings.payload_encryption:
        return

    def create() -> str:
        key_id, key = new_key("local")
        return (
            "# Warmline payload keys: id:base64key[:decrypt-only], one per line; exactly one "
            f"encrypts.\n{format_key_ring({key_id: key})}\n"
        )

    read_or_create(settings.data_dir / KEY_FILE_NAME, create)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads, with a key ring for rotation.

    ``keys`` is a ``PayloadKeyRing`` or, for tests and tools, a mapping whose first key
    encrypts. ``require_encryption`` refuses plain payloads (``WARMLINE_REQUIRE_ENCRYPTION``).
    """

    def __init__(
        self, keys: PayloadKeyRing | Mapping[str, bytes], *, require_encryption: bool = False
    ) -> None:
        ring = keys if isinstance(keys, PayloadKeyRing) else None
        mapping = ring.keys if ring is not None else keys
        assert isinstance(mapping, Mapping)
        if not mapping:
            raise PayloadKeyError("the payload key ring is empty")
        for key_id, key in mapping.items():
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"payload key {key_id!r} is not {KEY_BYTES} bytes")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in mapping.items()}
        self._encrypting_id = ring.encrypting if ring is not None else next(iter(mapping))
        self._require_encryption = require_encryption
        # Per payload only the nonce and the ciphertext change: the encrypting cipher and its
        # id (metadata and associated data) are looked up and encoded once.
        # (A hand-built ring whose encrypting id has no key still fails at encryption.)
        self._encrypting_cipher = self._ciphers.get(self._encrypting_id)
        self._encrypting_id_bytes = self._encrypting_id.encode()

    @property
    def encrypting_key_id(self) -> str:
        return self._encrypting_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypted payloads; one that will not decrypt becomes a ``refused`` stand-in, so a
        bad payload costs its own signal, update or call and never the whole activation."""
        decoded: list[Payload] = []
        for payload in payloads:
            try:
                decoded.append(self._decrypt(payload))
            except PayloadDecryptionError as exc:
                decoded.append(refused(exc.type or "PayloadRefused", exc.message))
        return decoded

    async def open(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Like ``decode``, but raising ``PayloadDecryptionError`` (the codec server's 422)."""
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        key_id = self._encrypting_id_bytes
        nonce = os.urandom(NONCE_BYTES)
        cipher = self._encrypting_cipher or self._ciphers[self._encrypting_id]
        sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id},
            data=nonce + sealed,
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if self._require_encryption:
                raise PayloadDecryptionError(
                    "plain payload refused: this deployment requires encrypted payloads "
                    "(WARMLINE_REQUIRE_ENCRYPTION); send through a client with the key ring or "
                    "the API's codec endpoint",
                    type="PlainPayloadRefused",
                )
            return payload  # written by a client without the codec, or before encryption
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {_shown(key_id)!r}, which is not in this process's "
                f"key ring ({', '.join(self._ciphers)}); add it to {KEY_SETTING} "
                f"(as :{DECRYPT_ONLY} first, README: Payload encryption)",
                type="UnknownPayloadKey",
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except (InvalidTag, ValueError):  # ValueError: shorter than a nonce
            raise PayloadDecryptionError(
                f"payload encrypted with key id {_shown(key_id)!r} failed authentication: it was "
                "altered, truncated, or encrypted with a different key under the same id",
                type="PayloadTampered",
            ) from None
        decoded = Payload()
        try:
            decoded.ParseFromString(plain)
        except Exception:  # authenticated, so only a sender with our key wrote it; still
            raise PayloadDecryptionError(  # refuse rather than crash the activation
                f"payload encrypted with key id {_shown(key_id)!r} is not a serialized payload",
                type="PayloadTampered",
            ) from None
        return decoded


def _shown(key_id: str) -> str:
    """A key id for an error message: bounded, since a sender chose it."""
    return key_id if len(key_id) <= MAX_KEY_ID_SHOWN else key_id[:MAX_KEY_ID_SHOWN] + "…"


def warmline_data_converter(settings: Settings) -> DataConverter:
    """The converter every Warmline client and worker uses (``runtime.converter``: pydantic
    JSON with the workflow boundary's rules), encrypting payloads and failures when enabled.

    Raises ``MissingSecret`` for a process with neither ``WARMLINE_PAYLOAD_KEYS`` nor the
    embedded stack's key file: a script using the client factory refuses before it connects.
    """
    if not settings.payload_encryption:
        return boundary_data_converter()
    codec = EncryptionCodec(
        load_payload_keys(settings), require_encryption=settings.require_encryption
    )
    return boundary_data_converter(codec)


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
