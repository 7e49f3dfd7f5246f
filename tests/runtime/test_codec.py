"""The payload encryption codec and its key ring, on real AES-256-GCM (no server needed)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from models.interaction import InteractionInput
from runtime.codec import (
    ENCODING,
    KEY_FILE_NAME,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeyError,
    format_key_ring,
    load_or_create_key_ring,
    new_key,
    parse_key_ring,
    payloads_from_json,
    payloads_to_json,
    warmline_data_converter,
)
from runtime.converter import BOUNDARY_CONVERTER
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
        await other.decode([encoded])
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
        await codec.decode([encoded])
    assert caught.value.non_retryable and caught.value.type == "PayloadTampered"


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
        f"# rotated 2026-11\n{format_key_ring(dict([b]))}\n{format_key_ring(dict([a]))}"
    )
    assert list(ring) == [b[0], a[0]] and ring[a[0]] == a[1]
    assert parse_key_ring(format_key_ring(dict([a, b]))) == dict([a, b])
    with pytest.raises(PayloadKeyError, match="32"):
        parse_key_ring("short:" + "QUJD")
    with pytest.raises(PayloadKeyError, match="twice"):
        parse_key_ring(format_key_ring(dict([a])) + "," + format_key_ring(dict([a])))
    with pytest.raises(PayloadKeyError, match="base64"):
        parse_key_ring("k:not base64!")
    with pytest.raises(PayloadKeyError, match="empty"):
        parse_key_ring(" , ")


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", payload_keys=None)
    ring = load_or_create_key_ring(settings)
    path = tmp_path / "data" / KEY_FILE_NAME
    assert len(ring) == 1 and len(next(iter(ring.values()))) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_ring(settings) == ring, "a restart reads the same key"
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME], "no draft left behind"


def test_configured_keys_win_over_the_key_file(tmp_path: Path) -> None:
    configured = dict([new_key("prod")])
    settings = Settings(data_dir=tmp_path, payload_keys=SecretStr(format_key_ring(configured)))
    assert load_or_create_key_ring(settings) == configured
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
