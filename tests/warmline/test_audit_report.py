"""The export page (warmline.audit_report) escapes every value, whatever it holds."""

from __future__ import annotations

from html import escape

from hypothesis import given
from hypothesis import strategies as st

from warmline.audit_report import render_html

TAGS = {"<!doctype", "<html", "<head", "<meta", "<title", "<style", "<body", "<h1", "<h2", "<h3",
        "<p", "<table", "<tr", "<th", "<td", "<pre", "</"}  # fmt: skip


@given(text=st.text(min_size=1), actor=st.text(), interaction=st.text())
def test_no_value_can_add_markup(text: str, actor: str, interaction: str) -> None:
    report = {
        "interaction_id": interaction,
        "exported_by": actor,
        "checks": {"audit_chain": True, "archive": False},
        "facts": {"intent": text},
        "audit": [{"kind": text, "actor": actor, "payload": {"reason": text}}],
        "archive": {"transcript": [{"turn": 1, "sender": "customer", "text": text}]},
        "history": [{"run_id": text, "events": [{"event_type": text}]}],
    }
    page = render_html(report)
    # Every "<" in the page opens one of the page's own tags.
    for position in range(len(page)):
        if page[position] == "<":
            assert any(page.startswith(tag, position) for tag in TAGS), page[
                position : position + 20
            ]
    assert escape(text) in page
