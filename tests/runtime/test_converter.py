"""The boundary's payload converter without a server: what a workflow handler receives.

Payloads decoded in a workflow context (start input, signals, updates, queries) never raise a
plain Python exception: invalid input is a non-retryable ``InvalidInput`` naming fields, never
values; a signal whose type admits ``RejectedPayload`` gets one. Activity contexts keep the
SDK's behaviour.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    PayloadConverter,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.exceptions import ApplicationError

from models.boundary import RejectedPayload
from runtime.converter import (
    BOUNDARY_CONVERTER,
    BoundaryPayloadConverter,
    boundary_data_converter,
    describe,
    refused,
)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1)
    count: int = 0


WORKFLOW = WorkflowSerializationContext(namespace="default", workflow_id="wf-1")
ACTIVITY = ActivitySerializationContext(
    namespace="default",
    activity_id="1",
    activity_type="act",
    activity_task_queue="q",
    workflow_id="wf-1",
    workflow_type="Wf",
    is_local=False,
)


def converter(context: Any = WORKFLOW) -> PayloadConverter:
    return BOUNDARY_CONVERTER.payload_converter.with_context(context)  # type: ignore[attr-defined]


def encode(value: Any) -> Payload:
    return BOUNDARY_CONVERTER.payload_converter.to_payloads([value])[0]


def decode(payload: Payload, hint: Any, context: Any = WORKFLOW) -> Any:
    return converter(context).from_payloads([payload], [hint])[0]


def invalid(payload: Payload, hint: Any = Command) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        decode(payload, hint)
    error = raised.value
    assert error.type == "InvalidInput" and error.non_retryable
    return error


def test_a_valid_payload_decodes_to_the_contract_model() -> None:
    assert decode(encode({"approver": "ops"}), Command) == Command(approver="ops")
    assert decode(encode({"approver": "ops"}), Command | RejectedPayload) == Command(approver="ops")
    assert decode(encode(None), Command | RejectedPayload | None) is None


@pytest.mark.parametrize("value", ["hello", [], [1, 2], 7, None, True])
def test_a_start_input_that_is_not_an_object_is_invalid_input(value: Any) -> None:
    error = invalid(encode(value))
    assert error.message.startswith("invalid Command: <root>: ")


def test_bad_fields_are_named_with_the_rule_and_without_the_value() -> None:
    error = invalid(encode({"approver": "", "count": "4111 1111 1111 1111", "extra": 1}))
    assert "approver: String should have at least 1 character" in error.message
    assert "count: Input should be a valid integer" in error.message
    assert "extra: Extra inputs are not permitted" in error.message
    assert "4111" not in error.message


@given(st.text())
def test_no_sent_value_ever_reaches_the_message(text: str) -> None:
    error = invalid(encode({"approver": "ops", "count": f"x{text}"}))
    assert error.message == (
        "invalid Command: count: Input should be a valid integer, unable to parse string as an "
        "integer"
    )


def test_a_payload_that_is_not_json_or_of_an_unknown_encoding_is_invalid_input() -> None:
    garbage = Payload(metadata={"encoding": b"json/plain"}, data=b"{not json")
    assert "Invalid JSON" in invalid(garbage).message
    alien = Payload(metadata={"encoding": b"x/alien"}, data=b"")
    assert "Unknown payload encoding x/alien" in invalid(alien).message
    raw = Payload(metadata={"encoding": b"binary/plain"}, data=b"4111 1111 1111 1111")
    assert "4111" not in invalid(raw).message


def test_a_signal_type_that_admits_rejected_payload_gets_one_instead_of_an_error() -> None:
    rejected = decode(encode({"approver": ""}), Command | RejectedPayload | None)
    assert rejected == RejectedPayload(
        expected="Command", reason="approver: String should have at least 1 character"
    )


def test_a_client_cannot_send_a_rejected_payload_of_its_own() -> None:
    forged = decode(encode({"expected": "Command", "reason": "x"}), Command | RejectedPayload)
    assert isinstance(forged, RejectedPayload)
    assert "expected: Extra inputs are not permitted" in forged.reason


def test_a_refused_payload_is_invalid_input_in_a_workflow_and_its_own_error_elsewhere() -> None:
    stand_in = refused("UnknownPayloadKey", "key id 'k-9' is not in this process's key ring")
    assert "payload refused: UnknownPayloadKey: key id 'k-9'" in invalid(stand_in).message
    rejected = decode(stand_in, Command | RejectedPayload)
    assert isinstance(rejected, RejectedPayload) and "k-9" in rejected.reason
    with pytest.raises(ApplicationError) as raised:
        decode(stand_in, Command, ACTIVITY)
    assert raised.value.type == "UnknownPayloadKey" and raised.value.non_retryable


def test_activity_payloads_keep_the_sdks_behaviour() -> None:
    """A mismatch there is a deployment bug: a workflow-task retry outlives it, a failure
    would not."""
    with pytest.raises(ValidationError):
        decode(encode({"approver": ""}), Command, ACTIVITY)
    no_context = BOUNDARY_CONVERTER.payload_converter
    with pytest.raises(ValidationError):
        no_context.from_payloads([encode({"approver": ""})], [Command])


def test_a_long_list_of_errors_is_bounded() -> None:
    class Wide(BaseModel):
        model_config = ConfigDict(extra="forbid")

    body = {f"{'k' * 200}{n}": n for n in range(30)}
    with pytest.raises(ValidationError) as raised:
        Wide.model_validate(body)
    text = describe(raised.value)
    assert text.endswith("and 22 more")
    assert len(text) < 1_200


# --- the cached variants behave as freshly built converters ---------------------------------


def test_each_context_kind_gets_one_converter_with_its_own_rules() -> None:
    fresh = BoundaryPayloadConverter()
    assert fresh.with_context(ACTIVITY) is fresh
    inner = fresh.with_context(WORKFLOW)
    assert (
        inner is BoundaryPayloadConverter().with_context(WORKFLOW) is inner.with_context(WORKFLOW)
    )
    assert inner.with_context(ACTIVITY).with_context(WORKFLOW) is inner
    assert converter(ACTIVITY) is BOUNDARY_CONVERTER.payload_converter
    invalid(encode({"approver": ""}))  # the boundary's rules, however often it was handed out
    with pytest.raises(ValidationError):
        decode(encode({"approver": ""}), Command, ACTIVITY)


def test_the_data_converter_keeps_one_clone_per_context_kind() -> None:
    data = boundary_data_converter()
    for_workflow = data.with_context(WORKFLOW)
    assert for_workflow is data.with_context(WORKFLOW) is not data
    assert data.with_context(ACTIVITY) is data
    assert for_workflow.with_context(ACTIVITY) is data
    assert for_workflow.with_context(WORKFLOW) is for_workflow
    assert for_workflow.payload_codec is data.payload_codec
    assert for_workflow.failure_converter is data.failure_converter
    with pytest.raises(ApplicationError):
        for_workflow.payload_converter.from_payloads([encode({"approver": ""})], [Command])


class _ContextCodec(PayloadCodec, WithSerializationContext):
    """A codec that takes context: the data converter must not reuse clones then."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    def with_context(self, context: SerializationContext) -> _ContextCodec:
        return _ContextCodec(context)


def test_a_codec_that_takes_context_gets_every_context() -> None:
    data = boundary_data_converter(_ContextCodec())
    other = dataclasses.replace(WORKFLOW, workflow_id="wf-2")
    first, second = data.with_context(WORKFLOW), data.with_context(other)
    assert first is not second
    assert first.payload_codec.context == WORKFLOW  # type: ignore[union-attr]
    assert second.payload_codec.context == other  # type: ignore[union-attr]


class _Nested(BaseModel):
    at: datetime
    tags: list[str]
    extra: dict[str, Any] | None = None


SAMPLE_VALUES: list[Any] = [
    Command(approver="ops", count=3),
    _Nested(at=datetime(2025, 1, 1, tzinfo=UTC), tags=["a", "é"], extra={"n": 1.5}),
    {"approver": "ops"},
    None,
    b"\x00bytes",
    "text",
    [1, 2],
    Payload(metadata={"encoding": b"x"}, data=b"proto"),
    RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"7")),
]


@pytest.mark.parametrize("values", [[v] for v in SAMPLE_VALUES] + [SAMPLE_VALUES])
def test_payloads_are_byte_for_byte_the_sdk_converters(values: list[Any]) -> None:
    sdk = PydanticPayloadConverter()
    for context in (ACTIVITY, WORKFLOW):
        ours = converter(context).to_payloads(values)
        assert [p.SerializeToString(deterministic=True) for p in ours] == [
            p.SerializeToString(deterministic=True) for p in sdk.to_payloads(values)
        ]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (Command(approver="ops"), Command),
        (Command(approver="ops"), None),
        (_Nested(at=datetime(2025, 1, 1, tzinfo=UTC), tags=[]), _Nested),
        (None, None),
        (b"raw", bytes),
        (Payload(data=b"p"), Payload),
        ({"approver": "ops"}, RawValue),
        ([1, 2], list[int]),
    ],
)
def test_outside_a_workflow_values_are_the_sdk_converters(value: Any, hint: Any) -> None:
    sdk = PydanticPayloadConverter()
    payloads = sdk.to_payloads([value])
    hints = None if hint is None else [hint]
    assert converter(ACTIVITY).from_payloads(payloads, hints) == sdk.from_payloads(payloads, hints)


@pytest.mark.parametrize(
    "payload",
    [
        Payload(metadata={"encoding": b"x/alien"}, data=b""),
        Payload(data=b"{}"),
        Payload(metadata={"encoding": b"json/plain"}, data=b"{not json"),
        Payload(metadata={"encoding": b"json/protobuf"}, data=b"{}"),
    ],
)
def test_outside_a_workflow_errors_are_the_sdk_converters(payload: Payload) -> None:
    def raised(convert: PayloadConverter) -> BaseException:
        with pytest.raises(Exception) as caught:
            convert.from_payloads([payload], [Command])
        return caught.value

    ours, sdk = raised(converter(ACTIVITY)), raised(PydanticPayloadConverter())
    assert (type(ours), str(ours)) == (type(sdk), str(sdk))
    assert (type(ours.__cause__), str(ours.__cause__)) == (type(sdk.__cause__), str(sdk.__cause__))


def test_the_shared_encoding_converters_are_the_sdk_converters() -> None:
    """Guards the shortcut past ``PydanticPayloadConverter.__init__`` against SDK changes."""
    sdk = PydanticPayloadConverter()
    ours = BoundaryPayloadConverter()
    assert list(ours.converters) == list(sdk.converters)
    assert [type(c) for c in ours.converters.values()] == [type(c) for c in sdk.converters.values()]
