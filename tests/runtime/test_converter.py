"""The boundary's payload converter without a server: what a workflow handler receives.

Payloads decoded in a workflow context (start input, signals, updates, queries) never raise a
plain Python exception: invalid input is a non-retryable ``InvalidInput`` naming fields, never
values; a signal whose type admits ``RejectedPayload`` gets one. Activity contexts keep the
SDK's behaviour.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadConverter,
    WorkflowSerializationContext,
)
from temporalio.exceptions import ApplicationError

from models.boundary import RejectedPayload
from runtime.converter import BOUNDARY_CONVERTER, describe, refused


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
