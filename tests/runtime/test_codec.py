"""The payload encryption codec and its key ring, on real AES-256-GCM (no server needed)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import WorkflowSerializationContext
from temporalio.exceptions import ApplicationError

from models.boundary import RejectedPayload
from models.interaction import CustomerMessage, InteractionInput
from runtime.codec import (
    ENCODING,
    KEY_FILE_NAME,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeyError,
    PayloadKeyRing,
    ensure_local_payload_keys,
    format_key_ring,
    format_payload_key_ring,
    load_payload_keys,
    new_key,
    parse_key_ring,
    payloads_from_json,
    payloads_to_json,
    warmline_data_converter,
)
from runtime.converter import (
    BOUNDARY_CONVERTER,
    INVALID_INPUT,
    BoundaryPayloadConverter,
    boundary_data_converter,
)
from runtime.secret_files import MissingSecret
from runtime.settings import Settings

SECRET = "my card is 4111 1111 1111 1111 and I was charged twice"


def plain_payload(text: str = SECRET) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([{"first_message": text}])[0]


async def test_round_trip_hides_data_and_metadata() -> None:
    key_id, key = new_key()
    codec = EncryptionCodec({key_id: key})
    original = plain_payload()
    (encoded,) = await codec.encode([original])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID_METADATA] == key_id.encode()
    assert SECRET.encode() not in encoded.SerializeToString()
    assert b"json/plain" not in encoded.SerializeToString(), "inner metadata is encrypted too"
    (decoded,) = await codec.decode([encoded])
    assert decoded == original


async def test_the_wire_format_is_nonce_then_sealed_payload_bound_to_the_key_id() -> None:
    """Pinned independently of the codec: what other processes and the codec server read."""
    ring = PayloadKeyRing({"old": new_key()[1], "new": new_key()[1]}, encrypting="new")
    codec = EncryptionCodec(ring)
    original = plain_payload()
    for _ in range(2):  # the id and cipher it encrypts with are kept, not re-derived
        (encoded,) = await codec.encode([original])
        assert dict(encoded.metadata) == {"encoding": ENCODING, KEY_ID_METADATA: b"new"}
        nonce, sealed = encoded.data[:12], encoded.data[12:]
        plain = AESGCM(ring.keys["new"]).decrypt(nonce, sealed, b"new")
        assert Payload.FromString(plain) == original


async def test_a_ring_whose_encrypting_key_is_missing_fails_when_it_encrypts() -> None:
    codec = EncryptionCodec(PayloadKeyRing({"a": new_key()[1]}, encrypting="gone"))
    assert (await codec.decode([plain_payload()])) == [plain_payload()]
    with pytest.raises(KeyError):
        await codec.encode([plain_payload()])


async def test_a_long_key_id_is_clipped_in_the_message() -> None:
    (encoded,) = await EncryptionCodec({"k" * 100: new_key()[1]}).encode([plain_payload()])
    with pytest.raises(PayloadDecryptionError) as caught:
        await EncryptionCodec(dict([new_key()])).open([encoded])
    assert f"'{'k' * 64}…'" in caught.value.message and "k" * 65 not in caught.value.message


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(dict([new_key()]))
    first, second = await codec.encode([plain_payload(), plain_payload()])
    assert first.data != second.data, "a fresh nonce per payload"


async def test_rotation_new_key_first_still_decodes_old_payloads() -> None:
    old_id, old_key = new_key("old")
    new_id, new_key_bytes = new_key("new")
    (under_old,) = await EncryptionCodec({old_id: old_key}).encode([plain_payload()])
    rotated = EncryptionCodec({new_id: new_key_bytes, old_id: old_key})
    (under_new,) = await rotated.encode([plain_payload()])
    assert under_new.metadata[KEY_ID_METADATA] == new_id.encode(), "the first key encrypts"
    assert await rotated.decode([under_old, under_new]) == [plain_payload(), plain_payload()]


async def test_unknown_key_id_is_a_clear_non_retryable_error() -> None:
    (encoded,) = await EncryptionCodec(dict([new_key("gone")])).encode([plain_payload()])
    other = EncryptionCodec(dict([new_key("other")]))
    with pytest.raises(PayloadDecryptionError) as caught:
        await other.open([encoded])
    assert caught.value.non_retryable and caught.value.type == "UnknownPayloadKey"
    assert encoded.metadata[KEY_ID_METADATA].decode() in caught.value.message


@pytest.mark.parametrize("where", ["ciphertext", "nonce", "truncated", "key_id"])
async def test_tampered_payload_fails_authentication(where: str) -> None:
    first_id, first_key = new_key("a")
    second_id, second_key = new_key("b")
    codec = EncryptionCodec({first_id: first_key, second_id: second_key})
    (encoded,) = await codec.encode([plain_payload()])
    data = bytearray(encoded.data)
    if where == "ciphertext":
        data[-20] ^= 0x01
    elif where == "nonce":
        data[0] ^= 0x80
    elif where == "truncated":
        data = data[:8]
    else:  # relabelled as the other key: the id is authenticated as associated data
        encoded.metadata[KEY_ID_METADATA] = second_id.encode()
    encoded.data = bytes(data)
    with pytest.raises(PayloadDecryptionError) as caught:
        await codec.open([encoded])
    assert caught.value.non_retryable and caught.value.type == "PayloadTampered"


async def bad_payloads(ours: EncryptionCodec) -> dict[str, Payload]:
    """A payload of each kind ``ours`` must refuse without failing: unknown key, tampered."""
    (unknown,) = await EncryptionCodec(dict([new_key("theirs")])).encode([plain_payload()])
    (tampered,) = await ours.encode([plain_payload()])
    tampered.data = tampered.data[:-1] + bytes([tampered.data[-1] ^ 1])
    return {"UnknownPayloadKey": unknown, "PayloadTampered": tampered}


@pytest.mark.parametrize("kind", ["UnknownPayloadKey", "PayloadTampered"])
async def test_a_payload_that_does_not_decrypt_never_raises_out_of_decode(kind: str) -> None:
    """Raising in ``decode`` fails the workflow task of the whole activation (the issue's
    kill switch); the codec hands on a refusal the boundary converter deals with instead."""
    codec = EncryptionCodec(dict([new_key("ours")]))
    payload = (await bad_payloads(codec))[kind]
    good = (await codec.encode([plain_payload()]))[0]
    decoded = await codec.decode([payload, good])
    assert decoded[1] == plain_payload(), "the good payload beside it still decodes"
    converter = boundary_data_converter(codec)
    boundary = BoundaryPayloadConverter().with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="interaction-x")
    )
    # A signal whose handler admits RejectedPayload records it; an update is rejected.
    signal_type: Any = CustomerMessage | RejectedPayload
    (rejected,) = boundary.from_payloads(decoded[:1], [signal_type])
    assert isinstance(rejected, RejectedPayload) and kind in rejected.reason
    with pytest.raises(ApplicationError) as invalid:
        boundary.from_payloads(decoded[:1], [CustomerMessage])
    assert invalid.value.type == INVALID_INPUT and invalid.value.non_retryable
    assert "payload refused" in invalid.value.message and SECRET not in invalid.value.message
    # Outside a workflow (a client reading a result): its own non-retryable error.
    with pytest.raises(ApplicationError) as elsewhere:
        converter.payload_converter.from_payloads(decoded[:1], [CustomerMessage])
    assert elsewhere.value.type == kind and elsewhere.value.non_retryable


async def test_required_encryption_refuses_plain_payloads() -> None:
    ring = dict([new_key()])
    required = EncryptionCodec(ring, require_encryption=True)
    (refusal,) = await required.decode([plain_payload()])
    converter = BoundaryPayloadConverter().with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="interaction-x")
    )
    with pytest.raises(ApplicationError) as invalid:
        converter.from_payloads([refusal], [CustomerMessage])
    assert "PlainPayloadRefused" in invalid.value.message
    assert "WARMLINE_REQUIRE_ENCRYPTION" in invalid.value.message
    sealed = await required.encode([plain_payload()])
    assert await required.decode(sealed) == [plain_payload()], "encrypted ones still pass"
    assert await EncryptionCodec(ring).decode([plain_payload()]) == [plain_payload()]
    with pytest.raises(ValueError, match="WARMLINE_PAYLOAD_ENCRYPTION"):
        Settings(require_encryption=True, payload_encryption=False)


async def test_plaintext_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec(dict([new_key()]))
    original = plain_payload()
    assert await codec.decode([original]) == [original]


async def test_data_converter_round_trips_a_contract_model() -> None:
    settings = Settings(payload_keys=SecretStr(format_key_ring(dict([new_key()]))))
    converter = warmline_data_converter(settings)
    body = InteractionInput.model_validate(
        {
            "interaction_id": "x-1",
            "channel": "chat",
            "customer": {"id": "c"},
            "first_message": SECRET,
        }
    )
    (payload,) = await converter.encode([body])
    assert SECRET.encode() not in payload.SerializeToString()
    (back,) = await converter.decode([payload], [InteractionInput])
    assert back == body
    # A plain client's JSON (no codec) is still understood by the encrypting converter.
    (plain,) = await pydantic_data_converter.encode([body])
    assert (await converter.decode([plain], [InteractionInput]))[0] == body


def test_encryption_off_is_the_plain_pydantic_converter() -> None:
    assert warmline_data_converter(Settings(payload_encryption=False)) is BOUNDARY_CONVERTER


def test_key_ring_parsing_keeps_order_and_rejects_bad_keys() -> None:
    a, b = new_key("a"), new_key("b")
    ring = parse_key_ring(
        f"# rotated 2026-11\n{format_key_ring(dict([b]))}:decrypt-only\n"
        f"{format_key_ring(dict([a]))}"
    )
    assert list(ring.keys) == [b[0], a[0]] and ring.keys[a[0]] == a[1]
    assert ring.encrypting == a[0] and ring.decrypt_only == [b[0]]
    assert parse_key_ring(format_payload_key_ring(ring)) == ring
    with pytest.raises(PayloadKeyError, match="2 encrypting keys"):
        parse_key_ring(format_key_ring(dict([a, b])))
    with pytest.raises(PayloadKeyError, match="0 encrypting keys"):
        parse_key_ring(format_key_ring(dict([a])) + ":decrypt-only")
    with pytest.raises(PayloadKeyError, match="unknown flag"):
        parse_key_ring(format_key_ring(dict([a])) + ":encrypt-maybe")
    with pytest.raises(PayloadKeyError, match="32"):
        parse_key_ring("short:" + "QUJD")
    with pytest.raises(PayloadKeyError, match="twice"):
        parse_key_ring(format_key_ring(dict([a])) + "," + format_key_ring(dict([a])))
    with pytest.raises(PayloadKeyError, match="base64"):
        parse_key_ring("k:not base64!")
    with pytest.raises(PayloadKeyError, match="empty"):
        parse_key_ring(" , ")


def rollout(old: tuple[str, bytes], new: tuple[str, bytes]) -> list[PayloadKeyRing]:
    """The rings of a rotation from ``old`` to ``new``, as the README tells operators."""
    (old_id, old_key), (new_id, new_key_bytes) = old, new
    both = {new_id: new_key_bytes, old_id: old_key}
    return [
        PayloadKeyRing({old_id: old_key}, old_id),  # before
        PayloadKeyRing(both, old_id),  # step 1: new key decrypt-only
        PayloadKeyRing(both, new_id),  # step 2: new key encrypts, old decrypt-only
    ]


@pytest.mark.parametrize("step", [1, 2])
@pytest.mark.parametrize("order", ["clients first", "workers first"])
async def test_rotation_is_safe_in_any_rollout_order(step: int, order: str) -> None:
    """During each step some processes run the previous ring and some the next, in either
    order: whatever one encrypts, every other decodes (nothing is refused)."""
    rings = rollout(new_key("old"), new_key("new"))
    before, after = EncryptionCodec(rings[step - 1]), EncryptionCodec(rings[step])
    clients, workers = (after, before) if order == "clients first" else (before, after)
    for sender, receiver in ((clients, workers), (workers, clients), (after, after)):
        sealed = await sender.encode([plain_payload()])
        assert await receiver.open(sealed) == [plain_payload()]
    # What the README warns against: making a key encrypt before every process holds it.
    skipped = EncryptionCodec(rings[2])
    (ahead,) = await skipped.encode([plain_payload()])
    (refusal,) = await EncryptionCodec(rings[0]).decode([ahead])
    assert refusal.metadata["encoding"] == b"binary/refused", "refused, never a crash"


def test_only_the_embedded_stack_creates_the_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", payload_keys=None)
    with pytest.raises(MissingSecret) as refused:
        load_payload_keys(settings)
    assert "WARMLINE_PAYLOAD_KEYS" in str(refused.value) and "warmline dev" in str(refused.value)
    with pytest.raises(MissingSecret):
        warmline_data_converter(settings)  # the client factory's converter refuses too
    assert not (tmp_path / "data").exists()
    ensure_local_payload_keys(settings)
    path = tmp_path / "data" / KEY_FILE_NAME
    ring = load_payload_keys(settings)
    assert len(ring.keys) == 1 and len(ring.keys[ring.encrypting]) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ensure_local_payload_keys(settings)
    assert load_payload_keys(settings) == ring, "a restart reads the same key"
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME], "no draft left behind"


def test_configured_keys_win_over_the_key_file(tmp_path: Path) -> None:
    configured = dict([new_key("prod")])
    settings = Settings(data_dir=tmp_path, payload_keys=SecretStr(format_key_ring(configured)))
    ensure_local_payload_keys(settings)
    assert load_payload_keys(settings).keys == configured
    assert not (tmp_path / KEY_FILE_NAME).exists()


async def test_remote_codec_json_shape_round_trips() -> None:
    body = (
        '{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, '
        '"data": "eyJ0ZXh0IjogImhpIn0="}]}'
    )
    (payload,) = payloads_from_json(body)
    assert payload.metadata["encoding"] == b"json/plain" and payload.data == b'{"text": "hi"}'
    assert payloads_from_json(payloads_to_json([payload])) == [payload]
    with pytest.raises(ValueError):
        payloads_from_json('{"payloads": 3}')
