"""``warmline audit export`` on the real dev server, through the real API, as the auditor the
token names (issued by a JWKS this test session serves itself; no external identity provider
can run here). The history comes back decrypted by the API and joins the audit records and the
closing archive; the page escapes whatever the customer typed; the export is audited as the
token's identity, and no other role may export."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.services import PRIVILEGED_READS_STREAM
from cli import audit
from tests.integration.conftest import Stack, StackApi

pytestmark = pytest.mark.integration


async def export(env: dict[str, str], *args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, audit.app, ["export", *args], env=env)


async def test_an_auditor_exports_decrypted_history_audit_and_archive(
    stack: Stack, stack_api: StackApi, tmp_path: Path
) -> None:
    hostile = "Where is my order? <script>alert(1)</script>"
    handle, _ = await stack.open(hostile)
    await handle.signal("end_interaction", {"reason": "done"})
    await asyncio.wait_for(handle.result(), timeout=60)
    interaction_id = handle.id.removeprefix("interaction-")

    auditor = stack_api.env("auditor@example.com", "auditor")
    done = await export(auditor, "--interaction", interaction_id, "--out-dir", str(tmp_path))
    assert done.exit_code == 0, done.output
    report = json.loads((tmp_path / f"audit-{interaction_id}.json").read_text())
    assert report["exported_by"] == "auditor@example.com"
    assert report["checks"] == {"audit_chain": True, "archive": True}
    kinds = [e["kind"] for e in report["audit"]]
    assert kinds[0] == "routing_decision" and kinds[-2:] == ["closed", "archived"]
    assert report["archive"]["transcript"][0]["text"] == hostile
    runs = report["history"]
    assert runs and runs[0]["events"][0]["event_type"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    history_text = json.dumps(runs)
    assert "<script>alert(1)</script>" in history_text  # decrypted by the API's codec
    assert "binary/encrypted" not in history_text
    page = (tmp_path / f"audit-{interaction_id}.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    (read,) = [
        e
        for e in stack.store.audit_trail(PRIVILEGED_READS_STREAM)
        if e.kind == "interaction_exported" and e.payload["interaction_id"] == interaction_id
    ]
    assert read.actor == "auditor@example.com" and read.payload["via"] == "jwt"

    # A supervisor decrypts live histories but does not export reports; nothing is written.
    refused_dir = tmp_path / "refused"
    supervisor = stack_api.env("sup@example.com", "supervisor")
    refused = await export(
        supervisor, "--interaction", interaction_id, "--out-dir", str(refused_dir)
    )
    assert refused.exit_code == 1 and "lacks permission 'export'" in refused.output
    assert not refused_dir.exists()
    unknown = await export(auditor, "--interaction", "nobody-at-all", "--no-history")
    assert unknown.exit_code == 1 and "no records of interaction nobody-at-all" in unknown.output
