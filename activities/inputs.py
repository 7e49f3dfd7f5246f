"""Activity inputs from outside Python: a dict a non-Python client (or a hostile one) sent is
checked once at the activity's door, so a bad one fails at once and is not retried."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], value: object) -> M:
    """``value`` as ``model``, or a non-retryable ``Invalid<Model>`` error naming the first
    field that is wrong and why."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = model.__name__
        raise ApplicationError(
            f"invalid {name}: {first['loc']}: {first['msg']}",
            type=f"Invalid{name}",
            non_retryable=True,
        ) from exc
