"""The public contract rejects bad input at the edge, naming the field, and documents itself."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from cli.main import PUBLIC_SCHEMAS
from models.facts import RecordInteraction
from models.interaction import (
    Channel,
    CustomerMessage,
    EndInteraction,
    HumanResolved,
    InteractionInput,
    interaction_workflow_id,
)
from tests.store.builders import make_record

README_EXAMPLE: dict[str, Any] = {
    "interaction_id": "demo-1",
    "channel": "chat",
    "customer": {"id": "c-42", "segment": "premium"},
    "first_message": "I was charged twice this month",
}


def error_locations(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [tuple(error["loc"]) for error in info.value.errors()]


def test_readme_example_is_accepted_with_defaults_filled_in() -> None:
    request = InteractionInput.model_validate(README_EXAMPLE)
    assert request.channel is Channel.CHAT
    assert request.customer.id == "c-42" and request.customer.segment == "premium"
    assert (request.customer.language, request.customer.region) == ("en", "us")
    assert request.metadata == {} and request.upstream_intent is None
    assert request.entry_point == "default"
    assert interaction_workflow_id(request.interaction_id) == "interaction-demo-1"


def test_the_example_round_trips_through_json() -> None:
    request = InteractionInput.model_validate(README_EXAMPLE)
    assert InteractionInput.model_validate_json(request.model_dump_json()) == request


@pytest.mark.parametrize(
    "interaction_id",
    ["", "-leading-dash", "has space", "slash/inside", "ü-not-ascii", "x" * 129],
)
def test_bad_interaction_ids_are_rejected(interaction_id: str) -> None:
    data = README_EXAMPLE | {"interaction_id": interaction_id}
    assert error_locations(InteractionInput, data) == [("interaction_id",)]


@pytest.mark.parametrize("interaction_id", ["a", "demo-1", "Ab9._:-z", "x" * 128])
def test_good_interaction_ids_are_accepted(interaction_id: str) -> None:
    data = README_EXAMPLE | {"interaction_id": interaction_id}
    assert InteractionInput.model_validate(data).interaction_id == interaction_id


def test_unknown_channel_is_rejected() -> None:
    assert error_locations(InteractionInput, README_EXAMPLE | {"channel": "fax"}) == [("channel",)]


@pytest.mark.parametrize("first_message", ["", "   ", "\n\t"])
def test_blank_first_message_is_rejected(first_message: str) -> None:
    data = README_EXAMPLE | {"first_message": first_message}
    assert error_locations(InteractionInput, data) == [("first_message",)]


def test_overlong_first_message_is_rejected() -> None:
    data = README_EXAMPLE | {"first_message": "x" * 20_001}
    assert error_locations(InteractionInput, data) == [("first_message",)]


def test_extra_fields_are_forbidden_at_every_level() -> None:
    assert error_locations(InteractionInput, README_EXAMPLE | {"priority": 9}) == [("priority",)]
    nested = README_EXAMPLE | {"customer": {"id": "c-42", "vip": True}}
    assert error_locations(InteractionInput, nested) == [("customer", "vip")]


def test_missing_customer_id_names_the_nested_field() -> None:
    data = README_EXAMPLE | {"customer": {"segment": "premium"}}
    assert error_locations(InteractionInput, data) == [("customer", "id")]


def test_upstream_confidence_must_be_a_probability() -> None:
    data = README_EXAMPLE | {"upstream_intent": {"intent": "billing_inquiry", "confidence": 1.5}}
    assert error_locations(InteractionInput, data) == [("upstream_intent", "confidence")]


CSAT_CARRIERS: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (EndInteraction, {}),
    (HumanResolved, {"agent_id": "a-1"}),
]


@pytest.mark.parametrize(("model", "base"), CSAT_CARRIERS)
@pytest.mark.parametrize("csat", [0, 6, -1])
def test_csat_out_of_range_is_rejected(
    model: type[BaseModel], base: dict[str, Any], csat: int
) -> None:
    assert error_locations(model, base | {"csat": csat}) == [("csat",)]


@pytest.mark.parametrize(("model", "base"), CSAT_CARRIERS)
@pytest.mark.parametrize("csat", [1, 5, None])
def test_csat_in_range_or_absent_is_accepted(
    model: type[BaseModel], base: dict[str, Any], csat: int | None
) -> None:
    assert model.model_validate(base | {"csat": csat}).model_dump()["csat"] == csat


def test_blank_customer_message_is_rejected() -> None:
    assert error_locations(CustomerMessage, {"text": "  "}) == [("text",)]


@pytest.mark.parametrize("name", sorted(PUBLIC_SCHEMAS))
def test_every_public_model_exports_a_json_schema(name: str) -> None:
    schema = PUBLIC_SCHEMAS[name].model_json_schema()
    assert schema["type"] == "object"
    assert schema["title"] == name
    assert schema["properties"]
    # extra="forbid" reaches non-Python clients as a closed object.
    assert schema["additionalProperties"] is False


def test_every_interaction_input_field_is_described() -> None:
    properties = InteractionInput.model_json_schema()["properties"]
    assert set(properties) == set(InteractionInput.model_fields)
    undescribed = sorted(name for name, field in properties.items() if not field.get("description"))
    assert undescribed == []


def test_an_endpoints_prompt_and_tool_texts_are_bounded() -> None:
    """A config author cannot make every AI call carry (and every reply check scan) megabytes."""
    from models.routing import AIEndpoint

    base = {"name": "bot", "version": "1", "url": "http://127.0.0.1:9"}
    AIEndpoint(**base, system_prompt="p" * 20_000, tool_descriptions=["t" * 5_000] * 50)
    with pytest.raises(ValidationError, match="system_prompt"):
        AIEndpoint(**base, system_prompt="p" * 20_001)
    with pytest.raises(ValidationError, match="tool_descriptions"):
        AIEndpoint(**base, tool_descriptions=["t"] * 51)
    with pytest.raises(ValidationError, match=r"tool_descriptions\.0"):
        AIEndpoint(**base, tool_descriptions=["t" * 5_001])


def test_a_closing_records_run_index_is_never_negative() -> None:
    """A negative index would make the record read no earlier archive and number its tokens
    from 1 again, over the archived runs' numbers."""
    record = make_record("i-1").model_dump()
    assert RecordInteraction.model_validate(record | {"run_index": 2}).run_index == 2
    with pytest.raises(ValidationError, match="run_index"):
        RecordInteraction.model_validate(record | {"run_index": -1})
