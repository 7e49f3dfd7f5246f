"""The workflow boundary: one way to validate what enters a workflow, one way to carry its state.

Every workflow type takes and returns contract models (``models/``); the worker's converter
(``runtime.converter``) decodes them and turns a payload that does not decode into a clear,
non-retryable ``InvalidInput`` error, or into a ``RejectedPayload`` for a signal handler that
admits one. What the converter cannot see, this module covers:

- **Arity.** A start without input, or a signal with two arguments, never reaches the
  converter's type hints; called as is it would raise ``TypeError`` and retry the workflow task
  for ever. ``BoundaryInterceptor`` (installed on every worker) fails such a start, rejects such
  an update or query, and hands such a signal to its handler as a ``RejectedPayload``.
- **Signals** (``accept``): an absent payload means the model's defaults; a rejected one is
  logged here and returned so the workflow records it (audit) and carries on.
- **Carried state** (``carried_state``, ``continue_as_new``): an input's ``state`` is honoured
  only in a run that Temporal continued from this workflow's own continue-as-new; a client
  that sends one gets ``InvalidInput``. Runs started by a retry or a cron schedule also carry
  the client's original input, so they are refused too.

All of it runs inside workflow code and is deterministic.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleQueryInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from models.boundary import ContinuableInput, RejectedPayload
    from runtime.converter import INVALID_INPUT, describe, invalid_input

__all__ = [
    "INVALID_INPUT",
    "BoundaryInterceptor",
    "accept",
    "carried_state",
    "continue_as_new",
    "describe",
    "invalid_input",
]

M = TypeVar("M", bound=BaseModel)
S = TypeVar("S", bound=BaseModel)


def accept(payload: M | RejectedPayload | None, model: type[M], signal: str) -> M | RejectedPayload:
    """A signal's command, or the rejection to record.

    A signal sent without a payload means the model's defaults (``{}``); one that does not
    validate is logged (fields and rules only) and returned as ``RejectedPayload`` for the
    workflow to audit. Never raises: a signal cannot be refused, and one bad message must not
    fail or wedge the run.
    """
    if payload is None:
        try:
            payload = model.model_validate({})
        except ValidationError as exc:
            payload = RejectedPayload(expected=model.__name__, reason=describe(exc))
    if isinstance(payload, RejectedPayload):
        workflow.logger.warning("signal %s rejected: %s", signal, payload.reason)
    return payload


def carried_state(request: ContinuableInput[S]) -> S | None:
    """The state this run continues from, or None for a fresh start.

    Raises ``InvalidInput`` when a client put a ``state`` in a start input.
    """
    if request.state is None:
        return None
    info = workflow.info()
    own_continuation = info.continued_run_id is not None and info.attempt == 1
    if not own_continuation or info.cron_schedule:
        raise invalid_input(
            type(request).__name__,
            "state: only the workflow's own continue-as-new sets it; leave it out of a start",
        )
    return request.state


async def continue_as_new(
    request: ContinuableInput[S], state: S, *, idle: Callable[[], bool] = lambda: True
) -> None:
    """Continue as new with the same input and ``state`` carried (read by ``carried_state``).

    Waits until every signal and update handler has finished, so none is cut off; if a message
    arrived meanwhile (``idle()`` is false) it returns instead, for the caller's loop to handle
    that message first and come back. Otherwise it does not return.
    """
    await workflow.wait_condition(workflow.all_handlers_finished)
    if idle():
        workflow.continue_as_new(request.model_copy(update={"state": state}))


class BoundaryInterceptor(Interceptor):
    """Install on every worker (``interceptors=[BoundaryInterceptor()]``) and every replayer."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _ArityGuard


class _ArityGuard(WorkflowInboundInterceptor):
    """Calls handlers only with an argument count their signature takes."""

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        problem = _arity_problem(input.run_fn, len(input.args))
        if problem:
            raise invalid_input(f"{workflow.info().workflow_type} input", problem)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        fn = _handler_fn("signals", input.signal)
        problem = fn and _arity_problem(fn, len(input.args))
        if problem and fn:
            if not _admits_rejected(fn):
                workflow.logger.warning("signal %s dropped: %s", input.signal, problem)
                return
            rejected = RejectedPayload(expected=f"signal {input.signal}", reason=problem)
            input = dataclasses.replace(input, args=[rejected])
        await super().handle_signal(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        _check("updates", f"update {input.update}", input.update, len(input.args))
        super().handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _check("updates", f"update {input.update}", input.update, len(input.args))
        return await super().handle_update_handler(input)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        _check("queries", f"query {input.query}", input.query, len(input.args))
        return await super().handle_query(input)


def _check(kind: str, what: str, name: str, count: int) -> None:
    """Refuse (update, query) a call whose argument count the handler does not take."""
    fn = _handler_fn(kind, name)
    problem = fn and _arity_problem(fn, count)
    if problem:
        raise invalid_input(what, problem)


def _handler_fn(kind: str, name: str) -> Callable[..., Any] | None:
    """The unbound handler function of a named (not dynamic) signal, update or query.

    The SDK wraps async handlers in ``(*args)`` closures, so the arity is read from the
    workflow class's definition instead.
    """
    definition = workflow._Definition.from_class(type(workflow.instance()))
    handlers: dict[str | None, Any] = getattr(definition, kind, {}) if definition else {}
    handler = handlers.get(name)
    return None if handler is None or handler.name is None else handler.fn


@functools.lru_cache(maxsize=512)
def _arity(fn: Callable[..., Any]) -> tuple[int, int | None]:
    """(required, allowed) positional arguments after ``self``; allowed is None for ``*args``.

    Run functions and handler definitions are both unbound methods.
    """
    params = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 0, None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return sum(1 for p in positional if p.default is p.empty), len(positional)


def _arity_problem(fn: Callable[..., Any], count: int) -> str | None:
    required, allowed = _arity(fn)
    if count < required:
        return f"<root>: expected {required} argument(s) (the message object), got {count}"
    if allowed is not None and count > allowed:
        return f"<root>: expected at most {allowed} argument(s), got {count}"
    return None


@functools.lru_cache(maxsize=512)
def _admits_rejected(fn: Callable[..., Any]) -> bool:
    hints = typing.get_type_hints(fn)
    hints.pop("return", None)
    return any(RejectedPayload in typing.get_args(hint) for hint in hints.values())
