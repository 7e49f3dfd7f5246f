"""``warmline audit``, ``warmline retention`` and ``warmline db`` as an auditor or operator runs
them, against a store and dev key files in a temporary data directory."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.main import app
from models.interaction import Sender, TranscriptEntry
from runtime.audit_keys import open_store
from runtime.local_secrets import ensure_local_secrets
from runtime.settings import Settings
from store.migrate import head_revision
from tests.store.builders import make_events, make_record
from warmline.audit_checkpoint import public_key_bytes

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data directory a ``warmline dev`` left behind (its key files), no key settings."""
    for name in ("WARMLINE_DATABASE_URL", "WARMLINE_AUDIT_KEYS", "WARMLINE_AUDIT_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WARMLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")  # error boxes on one line
    ensure_local_secrets(Settings(data_dir=tmp_path))
    return tmp_path


def warmline(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_db_upgrade_migrates_once(data_dir: Path) -> None:
    head = head_revision()
    assert f"schema unversioned -> {head}" in warmline("db", "upgrade")
    assert f"schema {head} -> {head}" in warmline("db", "upgrade")
    assert f"database at {head}; newest {head}" in warmline("db", "current")


def test_verify_passes_then_names_the_first_bad_record(data_dir: Path) -> None:
    store = open_store(Settings(data_dir=data_dir))
    store.append_audit(make_events("fleet", 5))
    assert store.record_interaction(make_record("i-1"))
    assert "checkpoint 1: 9 records in 2 streams" in warmline("audit", "checkpoint", "create")
    for name in ("audit-keys", "audit-signing-key"):  # dev key files, owner-only
        assert stat.S_IMODE(os.stat(data_dir / name).st_mode) == 0o600
    assert "nothing appended" in warmline("audit", "checkpoint", "create")
    kept = data_dir / "elsewhere" / "checkpoints.json"
    kept.parent.mkdir()
    assert "wrote 1 checkpoints" in warmline("audit", "checkpoint", "export", "--out", str(kept))
    assert json.loads(kept.read_text())["checkpoints"][0]["records"] == 9
    assert "audit trail verifies" in warmline("audit", "verify", "--checkpoints", str(kept))
    public = public_key_bytes(base64.b64decode((data_dir / "audit-signing-key").read_text()))
    assert "audit trail verifies" in warmline("audit", "verify", "--public-key", public.hex())
    stranger = public_key_bytes(b"\x09" * 32).hex()
    assert "signed by unknown key" in warmline("audit", "verify", "--public-key", stranger, code=1)

    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET payload = '{}' WHERE stream = 'fleet' AND seq = 4")
        )
    output = warmline("audit", "verify", code=1)
    assert "FAILED at fleet position 4 (seq 4): contents do not match its MAC" in output
    output = warmline("audit", "verify", "--stream", "interaction-i-1")
    assert "audit trail verifies" in output  # one stream alone is intact


def test_export_writes_json_and_escaped_html_and_is_audited(data_dir: Path) -> None:
    store = open_store(Settings(data_dir=data_dir))
    hostile = "<script>alert('x')</script> & <b>bold</b>"
    entry = TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text=hostile, at="t")
    record = make_record("i-9").model_copy(update={"transcript": [entry]})
    assert store.record_interaction(record)
    out = data_dir / "reports"
    warmline("audit", "export", "--interaction", "i-9", "--by", "auditor@example.com",
             "--out-dir", str(out), "--no-history")  # fmt: skip
    report = json.loads((out / "audit-i-9.json").read_text())
    assert report["checks"] == {"audit_chain": True, "archive": True}
    assert report["archive"]["transcript"][0]["text"] == hostile
    page = (out / "audit-i-9.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>bold" not in page
    reads = store.audit_trail("privileged-reads")
    assert [(e.kind, e.actor) for e in reads] == [("interaction_exported", "auditor@example.com")]
    warmline("audit", "export", "--interaction", "nobody", "--by", "a", "--no-history", code=1)


def test_retention_policy_holds_and_plan(data_dir: Path) -> None:
    store = open_store(Settings(data_dir=data_dir))
    assert store.record_interaction(make_record("old-1", region="eu"))  # started 2025-01-01
    policy = data_dir / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "rules": [
                    {"data_class": "facts", "region": "eu", "keep_days": 30, "regulation": "GDPR"}
                ]
            }
        )
    )
    assert "stored retention policy v1 by dpo" in warmline(
        "retention", "policy", "set", str(policy), "--author", "dpo"
    )
    assert '"keep_days": 30' in warmline("retention", "policy", "show")
    plan = warmline("retention", "plan")
    assert "facts" in plan and "GDPR" in plan and "1 interactions" in plan
    assert "hold 1 on old-1" in warmline(
        "retention", "hold", "set", "--interaction", "old-1", "--reason", "case", "--by", "legal"
    )
    assert "old-1" in warmline("retention", "hold", "list")
    assert "0 interactions" in warmline("retention", "plan")
    assert "released by legal" in warmline("retention", "hold", "release", "1", "--by", "legal")
    warmline("retention", "hold", "release", "1", "--by", "legal", code=1)
    bad = data_dir / "bad.json"
    bad.write_text(json.dumps({"rules": [{"data_class": "audit", "region": "eu", "keep_days": 1}]}))
    output = warmline("retention", "policy", "set", str(bad), "--author", "x", code=2)
    assert "audit records are purged by segment" in output
