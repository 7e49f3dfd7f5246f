"""The readable page of ``warmline audit export``: one interaction's report as plain HTML.

Everything shown comes from stored records and histories, which hold text customers and agents
typed (redacted, but still anyone's words), so every value is escaped: nothing in a report can
add markup, script or links to the page. Pure: a report dict in, a page out.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}"
    "pre{white-space:pre-wrap;margin:0}.bad{color:#b00}.ok{color:#070}"
)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"<pre>{escape(json.dumps(value, indent=1, sort_keys=True))}</pre>"
    return escape("" if value is None else str(value))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _verdict(ok: bool, good: str, bad: str) -> str:
    return f'<p class="{"ok" if ok else "bad"}">{escape(good if ok else bad)}</p>'


def render_html(report: dict[str, Any]) -> str:
    interaction = escape(str(report.get("interaction_id", "")))
    checks = report.get("checks", {})
    archive = report.get("archive") or {}
    runs = report.get("history") or []
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Audit: {interaction}</title>",
        f"<style>{STYLE}</style></head><body><h1>Interaction {interaction}</h1>",
        f"<p>Exported {escape(str(report.get('generated_at', '')))} by "
        f"{escape(str(report.get('exported_by', '')))}.</p>",
        "<h2>Checks</h2>",
        _verdict(bool(checks.get("audit_chain")), "Audit chain verifies.", "Audit chain FAILS."),
        _verdict(
            bool(checks.get("archive")),
            "Archive matches the digest in its chained record.",
            "Archive missing or does not match its chained digest.",
        ),
        "<h2>Facts</h2>",
        _table([report.get("facts") or {}], sorted((report.get("facts") or {}).keys())),
        "<h2>Audit records</h2>",
        _table(
            report.get("audit", []),
            ["position", "seq", "kind", "at", "actor", "payload", "key_id"],
        ),
        "<h2>Transcript (archived at close, redacted)</h2>",
        _table(archive.get("transcript", []), ["turn", "sender", "at", "text"]),
        "<h2>Routing decisions</h2>",
        _table(archive.get("decisions", []), ["at", "route", "intent", "ai_endpoint", "reasons"]),
        "<h2>Workflow history (decrypted)</h2>",
    ]
    if not runs:
        parts.append("<p>Not in Temporal any more (namespace retention); see the archive.</p>")
    for run in runs:
        parts.append(f"<h3>Run {escape(str(run.get('run_id', '')))}</h3>")
        events = [
            {
                "id": e.get("event_id"),
                "time": e.get("event_time"),
                "type": e.get("event_type"),
                "attributes": {k: v for k, v in e.items() if k.endswith("_attributes")},
            }
            for e in run.get("events", [])
        ]
        parts.append(_table(events, ["id", "time", "type", "attributes"]))
    parts.append("</body></html>")
    return "\n".join(parts)
