"""Every refusal the API gives has one shape, ``{"error": "<reason>"}``, and a 4xx/5xx that fits.

FastAPI's own validation errors and pydantic errors raised while a handler builds a workflow
input both become 422 naming the fields; a body that does not parse and a query parameter the
route does not take are 400; a database the API cannot reach is 503. Nothing a caller sends
should reach the generic 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(HTTPException):
    """A refusal with its status and reason (and optional headers such as WWW-Authenticate)."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=reason, headers=headers)


def error_response(
    status: int, reason: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {"error": reason, **extra}, status_code=status, headers=dict(headers or {}) or None
    )


def _field_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as JSON (its ``ctx`` may hold exception objects)."""
    return list(json.loads(json.dumps(list(errors), default=str)))


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
        for e in errors[:5]
    ]
    return "; ".join(parts)


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route and its dependencies take (a parameter model's fields)."""
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names.update(f.alias or n for n, f in model.model_fields.items())
        names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def reject_unknown_query_parameters(request: Request) -> None:
    """A query parameter the route does not take is refused, not ignored: a misspelt filter
    (``sinse=``) would otherwise answer silently for the whole range."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise ApiError(400, f"unknown query parameter(s): {shown}")


def install_error_handlers(app: FastAPI) -> None:
    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        # Starlette's class: FastAPI raises it too (a body that does not parse, 404, 405).
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    async def request_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _field_errors(exc.errors())
        return error_response(422, f"invalid request: {_summary(errors)}", details=errors)

    async def model_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        errors = _field_errors(exc.errors(include_url=False))
        return error_response(422, f"invalid request: {_summary(errors)}", details=errors)

    async def store_unavailable(_: Request, exc: Exception) -> JSONResponse:
        return error_response(503, f"the store is unavailable: {type(exc).__name__}")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(ValidationError, model_invalid)
    app.add_exception_handler(OperationalError, store_unavailable)
