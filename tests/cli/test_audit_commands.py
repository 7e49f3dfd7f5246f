"""``warmline audit`` and ``warmline db`` as an auditor or operator runs them.

``verify`` and the checkpoint commands read the store directly; here from the data directory
of a ``warmline dev`` (its key files, made by ``ensure_local_secrets``), with no key setting.
``export`` acts through a real API on loopback as the token's identity (``tests/cli/conftest.py``).
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.services import PRIVILEGED_READS_STREAM
from cli.main import app
from models.access import Role
from models.interaction import Sender, TranscriptEntry
from runtime.audit_keys import open_store
from runtime.local_secrets import ensure_local_secrets
from runtime.settings import Settings
from store.migrate import head_revision
from tests.cli.conftest import Deployment
from tests.store.builders import make_events, make_record
from warmline.audit_checkpoint import public_key_bytes

runner = CliRunner()
KEY_SETTINGS = ("WARMLINE_AUDIT_KEYS", "WARMLINE_AUDIT_SIGNING_KEY", "WARMLINE_API_KEY_SECRET")


@pytest.fixture
def dev_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data directory a ``warmline dev`` left behind, and no key settings."""
    for name in ("WARMLINE_DATABASE_URL", *KEY_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WARMLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")  # error boxes on one line
    ensure_local_secrets(Settings(data_dir=tmp_path))
    return tmp_path


def warmline(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_db_upgrade_migrates_once(dev_dir: Path) -> None:
    head = head_revision()
    assert f"schema unversioned -> {head}" in warmline("db", "upgrade")
    assert f"schema {head} -> {head}" in warmline("db", "upgrade")
    assert f"database at {head}; newest {head}" in warmline("db", "current")


def test_verify_passes_then_names_the_first_bad_record(dev_dir: Path) -> None:
    store = open_store(Settings(data_dir=dev_dir))
    store.append_audit(make_events("fleet", 5))
    assert store.record_interaction(make_record("i-1"))
    assert "checkpoint 1: 9 records in 2 streams" in warmline("audit", "checkpoint", "create")
    for name in ("audit-keys", "audit-signing-key", "api-key-secret"):  # dev key files
        assert stat.S_IMODE(os.stat(dev_dir / name).st_mode) == 0o600
    assert "nothing appended" in warmline("audit", "checkpoint", "create")
    kept = dev_dir / "elsewhere" / "checkpoints.json"
    kept.parent.mkdir()
    assert "wrote 1 checkpoints" in warmline("audit", "checkpoint", "export", "--out", str(kept))
    assert json.loads(kept.read_text())["checkpoints"][0]["records"] == 9
    assert "audit trail verifies" in warmline("audit", "verify", "--checkpoints", str(kept))
    public = public_key_bytes(base64.b64decode((dev_dir / "audit-signing-key").read_text()))
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


def test_a_rotated_signing_key_verifies_while_both_public_keys_are_trusted(
    dev_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: rotate by setting a new signing key and trusting the old and new public keys."""
    store = open_store(Settings(data_dir=dev_dir))
    store.append_audit(make_events("fleet", 3))
    warmline("audit", "checkpoint", "create")  # signed with the dev key
    old = public_key_bytes(base64.b64decode((dev_dir / "audit-signing-key").read_text()))
    new_key = bytes(range(200, 232))
    monkeypatch.setenv("WARMLINE_AUDIT_SIGNING_KEY", base64.b64encode(new_key).decode())
    store.append_audit(make_events("routing-config", 2))
    assert "checkpoint 2" in warmline("audit", "checkpoint", "create")
    new = public_key_bytes(new_key)
    assert "signed by unknown key" in warmline("audit", "verify", code=1)  # the new key alone
    monkeypatch.setenv("WARMLINE_AUDIT_PUBLIC_KEYS", json.dumps([old.hex(), new.hex()]))
    assert "audit trail verifies" in warmline("audit", "verify")
    exported = dev_dir / "cp.json"
    warmline("audit", "checkpoint", "export", "--out", str(exported))
    listed = set(json.loads(exported.read_text())["public_keys"].values())
    assert listed == {old.hex(), new.hex()}


async def test_export_through_the_api_as_the_auditor_writes_escaped_html(
    deployment: Deployment, tmp_path: Path
) -> None:
    hostile = "<script>alert('x')</script> & <b>bold</b>"
    entry = TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text=hostile, at="t")
    record = make_record("case.9").model_copy(update={"transcript": [entry]})
    assert deployment.store.record_interaction(record)
    out = tmp_path / "reports"
    auditor = deployment.token("audit-team", Role.AUDITOR)
    done = await deployment.warmline(
        "--token", auditor, "audit", "export", "--interaction", "case.9", "--out-dir", str(out),
        "--no-history",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "exported by apikey:audit-team" in done.output
    report = json.loads((out / "audit-case.9.json").read_text())
    assert report["checks"] == {"audit_chain": True, "archive": True}
    assert report["archive"]["transcript"][0]["text"] == hostile and report["history"] is None
    page = (out / "audit-case.9.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>bold" not in page
    reads = deployment.store.audit_trail(PRIVILEGED_READS_STREAM)
    assert [(e.kind, e.actor) for e in reads] == [("interaction_exported", "apikey:audit-team")]

    operator = deployment.token("ops", Role.OPERATOR)
    refused = await deployment.warmline(
        "--token", operator, "audit", "export", "--interaction", "case.9", "--no-history"
    )
    assert refused.exit_code == 1 and "lacks permission 'export'" in refused.output
    invalid = await deployment.warmline(
        "--token", auditor, "audit", "export", "--interaction", "bad id!", "--no-history"
    )
    assert invalid.exit_code == 1 and "interaction_id" in invalid.output
    assert len(deployment.store.audit_trail(PRIVILEGED_READS_STREAM)) == 1  # refusals read nothing
