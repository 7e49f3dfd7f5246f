"""Contracts of the workflow boundary: what a workflow receives instead of a payload it cannot
accept, and how an input carries its workflow's state across continue-as-new.

The rules themselves live in ``runtime.converter`` (decoding) and ``workflows.boundary`` (what a
workflow does with the result); these two models are what both sides agree on.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

StateT = TypeVar("StateT", bound=BaseModel)


class RejectedPayload(BaseModel):
    """Delivered to a signal handler instead of a payload that could not be accepted.

    A signal has no caller to answer, and one bad message must neither fail nor wedge the
    workflow: a handler whose parameter admits ``RejectedPayload`` receives one of these (the
    converter builds it, a client cannot send one) and records ``reason`` where operators look.
    ``reason`` names the fields and what is wrong with them, never the values sent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    expected: str = Field(description="The contract model the payload should have matched.")
    reason: str = Field(description="What is wrong: fields and rules, never the values sent.")


class ContinuableInput(BaseModel, Generic[StateT]):
    """A workflow input whose run may carry the workflow's state from the run before it.

    ``state`` is filled only by the workflow's own continue-as-new; ``workflows.boundary``
    refuses it in any run Temporal did not continue, so no client can hand a workflow its
    state. It is left out of the exported JSON Schema: it is not part of the public contract.
    """

    model_config = ConfigDict(extra="forbid")

    state: SkipJsonSchema[StateT | None] = Field(
        default=None, description="Set by continue-as-new only; a client start must leave it out."
    )
