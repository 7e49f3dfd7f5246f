"""Process logging: text for a terminal, or one JSON object per line for a log pipeline.

A JSON line carries what an on-call engineer joins on: the interaction id (from the workflow
id), the workflow and run ids, the activity, and the trace and span ids of the current
OpenTelemetry span, so a log line leads to its trace and its Temporal history. It never
carries customer text: messages and exception texts pass through the same redaction as
everything else Warmline keeps, and Temporal's habit of appending its info dict to the message
is switched off (the same details arrive as fields instead).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final

from opentelemetry import trace
from temporalio import activity, workflow

from models.interaction import interaction_workflow_id
from runtime.settings import Settings
from warmline.redaction import redact

# Temporal context fields copied from the SDK's ``temporal_workflow`` / ``temporal_activity``
# extras, under the names a log query uses.
CONTEXT_FIELDS: Final = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_id": "activity_id",
    "activity_type": "activity_type",
    "task_queue": "task_queue",
    "attempt": "attempt",
}
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
INTERACTION_PREFIX: Final = interaction_workflow_id("")


def temporal_context(record: logging.LogRecord) -> dict[str, Any]:
    """Workflow and activity ids of the record, from the SDK's extras or the running activity."""
    details: dict[str, Any] = {}
    for extra in ("temporal_workflow", "temporal_activity"):
        details.update(getattr(record, extra, None) or {})
    if not details and activity.in_activity():
        info = activity.info()
        details = {
            "workflow_id": info.workflow_id,
            "workflow_run_id": info.workflow_run_id,
            "workflow_type": info.workflow_type,
            "activity_id": info.activity_id,
            "activity_type": info.activity_type,
        }
    fields = {CONTEXT_FIELDS[k]: v for k, v in details.items() if k in CONTEXT_FIELDS and v}
    workflow_id = str(fields.get("workflow_id", ""))
    if workflow_id.startswith(INTERACTION_PREFIX):
        fields["interaction_id"] = workflow_id.removeprefix(INTERACTION_PREFIX)
    return fields


def trace_context() -> dict[str, str]:
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return {}
    return {"trace_id": f"{span.trace_id:032x}", "span_id": f"{span.span_id:016x}"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, redacted message, ids."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update(temporal_context(record))
        line.update(trace_context())
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            # The type and the redacted text only: a traceback's frames can hold any value.
            line["error"] = f"{type(error).__name__}: {redact(str(error))}"
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """Install the root handler for ``settings.log_format`` and level; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
        # The ids come as fields; appended to the message they would only be repeated.
        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler
