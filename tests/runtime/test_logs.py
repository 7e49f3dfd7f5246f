"""The JSON log line: ids as fields, redacted text, trace ids from the current span."""

from __future__ import annotations

import json
import logging

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

from runtime.logs import JsonFormatter

CARD = "4111 1111 1111 1111"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("warmline.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def line(made: logging.LogRecord) -> dict[str, object]:
    parsed = json.loads(JsonFormatter().format(made))
    assert isinstance(parsed, dict)
    return parsed


def test_temporal_extras_become_fields_and_name_the_interaction() -> None:
    details = {"workflow_id": "interaction-abc-1", "run_id": "r-1", "workflow_type": "W"}
    parsed = line(record("turn taken", temporal_workflow=details))
    assert parsed["interaction_id"] == "abc-1"
    assert parsed["workflow_id"] == "interaction-abc-1" and parsed["run_id"] == "r-1"
    assert parsed["level"] == "WARNING" and parsed["logger"] == "warmline.test"


def test_activity_extras_use_the_same_names() -> None:
    details = {"workflow_id": "fleet-x", "workflow_run_id": "r-2", "activity_type": "poll"}
    parsed = line(record("poll", temporal_activity=details))
    assert parsed["run_id"] == "r-2" and parsed["activity_type"] == "poll"
    assert "interaction_id" not in parsed


def test_message_arguments_and_errors_are_redacted() -> None:
    made = record("customer wrote %s", f"card {CARD}, mail jo@example.com")
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        import sys

        made.exc_info = sys.exc_info()
    text = JsonFormatter().format(made)
    assert CARD not in text and "jo@example.com" not in text
    parsed = json.loads(text)
    assert "[CARD]" in parsed["message"] and parsed["error"].startswith("ValueError: ")


def test_trace_and_span_ids_of_the_current_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("turn") as span:
        parsed = line(record("inside a span"))
    context = span.get_span_context()
    assert parsed["trace_id"] == f"{context.trace_id:032x}"
    assert parsed["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in line(record("outside"))


@given(st.text(max_size=200))
def test_any_message_is_one_valid_json_line(message: str) -> None:
    text = JsonFormatter().format(record("%s", message))
    assert "\n" not in text
    assert isinstance(json.loads(text)["message"], str)
