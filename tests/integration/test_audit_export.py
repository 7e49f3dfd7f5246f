"""``warmline audit export`` on the real dev server: the history comes back decrypted and joins
the audit records and the closing archive; the page escapes whatever the customer typed."""

from __future__ import annotations

import asyncio
import json

import pytest

from runtime.audit_export import interaction_report
from tests.integration.conftest import Stack
from warmline.audit_report import render_html

pytestmark = pytest.mark.integration


async def test_export_joins_decrypted_history_audit_and_archive(stack: Stack) -> None:
    hostile = "Where is my order? <script>alert(1)</script>"
    handle, _ = await stack.open(hostile)
    await handle.signal("end_interaction", {"reason": "done"})
    await asyncio.wait_for(handle.result(), timeout=60)
    interaction_id = handle.id.removeprefix("interaction-")

    report = await interaction_report(stack.store, stack.client, interaction_id, "auditor")
    assert report["checks"] == {"audit_chain": True, "archive": True}
    kinds = [e["kind"] for e in report["audit"]]
    assert kinds[0] == "routing_decision" and kinds[-2:] == ["closed", "archived"]
    assert report["archive"]["transcript"][0]["text"] == hostile
    runs = report["history"]
    assert runs and runs[0]["events"][0]["event_type"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    history_text = json.dumps(runs)
    assert "<script>alert(1)</script>" in history_text  # decrypted: the codec key was used
    assert "binary/encrypted" not in history_text
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    exported = [e for e in stack.store.audit_trail("privileged-reads") if e.actor == "auditor"]
    assert exported[-1].payload["interaction_id"] == interaction_id
