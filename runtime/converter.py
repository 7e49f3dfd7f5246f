"""The payload converter of every Warmline process: pydantic JSON plus the boundary's rules.

Whatever crosses into a workflow from outside (start input, signal, update and query arguments,
decoded in a ``WorkflowSerializationContext``) is decoded into the handler's contract model. A
payload that does not decode - not JSON, not an object, a field missing or of the wrong type,
one the codec refused to decrypt - never reaches workflow code as a Python exception the SDK
would turn into an endless workflow-task retry:

- where the expected type admits ``RejectedPayload`` (signal handlers), the handler receives a
  ``RejectedPayload`` naming what was wrong, so the workflow records it and carries on;
- everywhere else the SDK receives a non-retryable ``ApplicationError`` of type
  ``InvalidInput`` naming the bad fields: a start fails the workflow at once, an update is
  rejected before it enters history, a query fails.

Messages name fields and rules, never the values sent (customer text must not reach logs or
failure messages). Payloads decoded in other contexts (activity inputs and results) keep the
SDK's behaviour: a mismatch there is a deployment bug, and a workflow-task retry survives it.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.exceptions import ApplicationError

from models.boundary import RejectedPayload

INVALID_INPUT = "InvalidInput"
"""The one error type of input that retrying cannot fix (activities list it as non-retryable)."""
REFUSED_ENCODING = b"binary/refused"
"""What the codec hands on in place of a payload it would not decode (see ``refused``)."""
REFUSED_TYPE = "refused-type"
REFUSED_REASON = "refused-reason"
MAX_ERRORS_LISTED = 8
MAX_PART_CHARS = 80


def describe(error: ValidationError) -> str:
    """``field.path: rule`` for each error, without the input values; bounded in length,
    because field names of an unknown object come from the sender."""
    errors = error.errors(include_url=False, include_input=False)
    parts = [
        f"{_clip('.'.join(str(p) for p in e['loc']) or '<root>')}: {_clip(e['msg'])}"
        for e in errors[:MAX_ERRORS_LISTED]
    ]
    if len(errors) > MAX_ERRORS_LISTED:
        parts.append(f"and {len(errors) - MAX_ERRORS_LISTED} more")
    return "; ".join(parts)


def invalid_input(what: str, detail: str) -> ApplicationError:
    """Input that retrying cannot fix: fail (or reject) at once, naming what is wrong."""
    return ApplicationError(f"invalid {what}: {detail}", type=INVALID_INPUT, non_retryable=True)


def refused(error_type: str, reason: str) -> Payload:
    """A stand-in for a payload the codec would not decode (unknown key, tampered, plain where
    encryption is required). The converter turns it into invalid input where the payload
    entered a workflow, and into a non-retryable ``error_type`` error anywhere else."""
    return Payload(
        metadata={
            "encoding": REFUSED_ENCODING,
            REFUSED_TYPE: error_type.encode(),
            REFUSED_REASON: reason.encode(),
        }
    )


_ENCODING_CONVERTERS: tuple[EncodingPayloadConverter, ...] = tuple(
    PydanticPayloadConverter().converters.values()
)
"""The SDK's encoding converters with pydantic JSON, built once and shared by every
``BoundaryPayloadConverter``: they hold no per-call state, and sharing them shares the pydantic
converter's TypeAdapter cache. The SDK constructs a payload converter for every workflow run,
every activation's data converter and every context change; with a fresh cache each, every
decode built its TypeAdapter again."""
_JSON_CONVERTER = next(c for c in _ENCODING_CONVERTERS if c.encoding == "json/plain")


class BoundaryPayloadConverter(PydanticPayloadConverter):
    """pydantic JSON (the SDK's converter) with the boundary's decoding rules."""

    def __init__(self, *, boundary: bool = False) -> None:
        # Not ``super().__init__()``: that would build a new set of encoding converters (and
        # an empty TypeAdapter cache) each time; the shared set is the same converters.
        self._set_converters(*_ENCODING_CONVERTERS)
        self._boundary = boundary

    def with_context(self, context: SerializationContext) -> BoundaryPayloadConverter:
        boundary = isinstance(context, WorkflowSerializationContext)
        # The two variants differ in the flag only and hold no state: hand out one each.
        return self if boundary == self._boundary else _VARIANTS[boundary]

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        # A pydantic model is neither None, bytes, a protobuf message nor a RawValue, so the
        # composite converter would try those converters in turn and land on JSON anyway.
        if all(isinstance(value, BaseModel) for value in values):
            payloads = []
            for value in values:
                payload = _json_payload(value)
                if payload is None:  # not the SDK's pydantic converter: the composite decides
                    return super().to_payloads(values)
                payloads.append(payload)
            return payloads
        return super().to_payloads(values)

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        hints: Sequence[type | None] = type_hints or [None] * len(payloads)
        return [self._decode(payload, hint) for payload, hint in zip(payloads, hints, strict=True)]

    def _decode(self, payload: Payload, hint: type | None) -> Any:
        accepted, tolerant = _without_rejected(hint)
        encoding = payload.metadata.get("encoding")
        refusal = _refusal(payload) if encoding == REFUSED_ENCODING else None
        try:
            if refusal is not None:
                raise _Refused(f"{refusal[0]}: {refusal[1]}")
            value = self._convert(payload, encoding, accepted)
            if self._boundary and accepted is not None and encoding != _JSON_PLAIN:
                # binary/null, binary/plain and protobuf payloads decode whatever the hint
                # says: a ``null`` start input would reach ``run`` as None.
                value = _adapter(accepted).validate_python(value)
            return value
        except Exception as exc:
            if not self._boundary:
                if refusal is not None:
                    raise ApplicationError(
                        refusal[1], type=refusal[0], non_retryable=True
                    ) from None
                raise
            what, detail = _type_name(accepted), _detail(exc)
            if tolerant:
                return RejectedPayload(expected=what, reason=detail)
            raise invalid_input(what, detail) from None

    def _convert(self, payload: Payload, encoding: bytes | None, hint: Any) -> Any:
        """``CompositePayloadConverter.from_payloads`` for one payload (same results, same
        errors), without building the lists around it."""
        if hint == RawValue:
            return RawValue(payload)
        if encoding is None:
            encoding = b"<unknown>"
        converter = self.converters.get(encoding)
        if converter is None:
            raise KeyError(f"Unknown payload encoding {encoding.decode()}")
        try:
            return converter.from_payload(payload, hint)
        except RuntimeError as err:
            raise RuntimeError(
                f"Payload at index 0 with encoding {encoding.decode()} could not be converted"
            ) from err


_VARIANTS: dict[bool, BoundaryPayloadConverter] = {
    False: BoundaryPayloadConverter(boundary=False),
    True: BoundaryPayloadConverter(boundary=True),
}
_json_payload = _JSON_CONVERTER.to_payload
_JSON_PLAIN = b"json/plain"


class BoundaryDataConverter(DataConverter):
    """``DataConverter`` whose ``with_context`` hands out one data converter per boundary flag.

    The SDK asks for a workflow-context data converter for every activation and client call;
    the base class clones itself (building a payload and a failure converter it then throws
    away) whenever the payload converter changes. Here only the payload converter depends on
    the context, and only on whether it is a workflow's, so the two clones are kept. Should a
    codec, failure converter or external storage ever take context, every call goes to the
    base class as before.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        cacheable = issubclass(self.payload_converter_class, BoundaryPayloadConverter) and not any(
            isinstance(component, WithSerializationContext)
            for component in (self.payload_codec, self.failure_converter, self.external_storage)
        )
        object.__setattr__(self, "_variants", {} if cacheable else None)

    def with_context(self, context: SerializationContext) -> typing.Self:
        variants: dict[bool, typing.Self] | None = self._variants  # type: ignore[attr-defined]
        if variants is None:
            return super().with_context(context)
        boundary = isinstance(context, WorkflowSerializationContext)
        variant = variants.get(boundary)
        if variant is None:
            variant = super().with_context(context)
            if variant is not self:
                object.__setattr__(variant, "_variants", variants)
            variants[boundary] = variant
        return variant


def boundary_data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Warmline's data converter: the boundary's payload converter, optionally with a codec.

    With a codec, failures are converted with encoded attributes: their message and stack
    trace (which can carry an ACD's or AI vendor's error body, or a field name a sender chose)
    travel as one payload the codec encrypts, and the history shows only "Encoded failure".
    """
    if codec is None:
        return BOUNDARY_CONVERTER
    return dataclasses.replace(
        BOUNDARY_CONVERTER,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


BOUNDARY_CONVERTER = BoundaryDataConverter(payload_converter_class=BoundaryPayloadConverter)
"""Without a codec: for tests, replays and deployments that turned encryption off."""


class _Refused(Exception):
    pass


def _refusal(payload: Payload) -> tuple[str, str] | None:
    if payload.metadata.get("encoding") != REFUSED_ENCODING:
        return None
    error_type = payload.metadata.get(REFUSED_TYPE, b"PayloadRefused").decode(errors="replace")
    reason = payload.metadata.get(REFUSED_REASON, b"").decode(errors="replace")
    return error_type, reason


@functools.lru_cache(maxsize=256)
def _adapter(hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(hint)


def _without_rejected(hint: type | None) -> tuple[Any, bool]:
    """``(hint without RejectedPayload, whether it admitted RejectedPayload)``; cached per hint
    (the same few handler signatures come by on every call)."""
    try:
        return _without_rejected_cached(hint)
    except TypeError:  # an unhashable hint
        return _split_rejected(hint)


@functools.lru_cache(maxsize=256)
def _without_rejected_cached(hint: type | None) -> tuple[Any, bool]:
    return _split_rejected(hint)


def _split_rejected(hint: type | None) -> tuple[Any, bool]:
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return hint, False
    members = typing.get_args(hint)
    if RejectedPayload not in members:
        return hint, False
    accepted = [m for m in members if m is not RejectedPayload]
    return functools.reduce(operator.or_, accepted), True


def _type_name(hint: Any) -> str:
    members = (
        typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else ()
    )
    named = [m for m in members if m is not type(None)] or [hint]
    return " | ".join(getattr(m, "__name__", None) or str(m) for m in named)


def _detail(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return describe(exc)
    if isinstance(exc, _Refused):
        return f"payload refused: {_clip(str(exc), 300)}"
    if isinstance(exc, KeyError):  # the SDK's "Unknown payload encoding ..."
        return _clip(str(exc.args[0]) if exc.args else "unknown payload encoding")
    # Anything else the SDK's converters raise: name the kind, not the content.
    return f"payload could not be decoded ({type(exc).__name__})"


def _clip(text: str, limit: int = MAX_PART_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
