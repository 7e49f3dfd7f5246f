"""``warmline retention`` through a real API on loopback, as the service accounts whose keys the
test issues: the admin decides what may be deleted, the auditor what must be kept, and every
change is audited as the caller's identity. (``retention run`` needs Temporal:
``tests/integration/test_retention.py``.)"""

from __future__ import annotations

import json
from pathlib import Path

from models.access import Role
from store.audit_verify import RETENTION_STREAM
from tests.cli.conftest import Deployment
from tests.store.builders import make_record

GDPR_FACTS = {
    "rules": [{"data_class": "facts", "region": "eu", "keep_days": 30, "regulation": "GDPR"}]
}


async def test_policy_by_the_admin_holds_by_the_auditor_each_as_themselves(
    deployment: Deployment, tmp_path: Path
) -> None:
    assert deployment.store.record_interaction(make_record("old-1", region="eu"))  # 2025-01-01
    admin = ("--token", deployment.token("dpo", Role.ADMIN))
    auditor = ("--token", deployment.token("legal", Role.AUDITOR))
    operator = ("--token", deployment.token("ops", Role.OPERATOR))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(GDPR_FACTS))

    async def run(token: tuple[str, str], *args: str, code: int = 0) -> str:
        result = await deployment.warmline(*token, "retention", *args)
        assert result.exit_code == code, result.output
        return str(result.output)

    assert "lacks permission 'retention_change'" in await run(
        auditor, "policy", "set", str(policy), code=1
    )
    assert "stored retention policy v1 by apikey:dpo" in await run(
        admin, "policy", "set", str(policy)
    )
    assert '"keep_days": 30' in await run(auditor, "policy", "show")
    plan = await run(auditor, "plan")
    assert "facts" in plan and "GDPR" in plan and "1 interactions" in plan
    assert "lacks permission 'retention_read'" in await run(operator, "plan", code=1)

    assert "lacks permission 'legal_hold'" in await run(
        admin, "hold", "set", "--interaction", "old-1", "--reason", "case", code=1
    )
    held = await run(
        auditor, "hold", "set", "--interaction", "old-1", "--reason", "case of jane@example.com"
    )
    assert "hold 1 on old-1 by apikey:legal" in held
    listed = await run(admin, "hold", "list")
    assert "old-1" in listed and "jane@example.com" not in listed  # the reason is redacted
    assert "0 interactions" in await run(admin, "plan")
    assert "lacks permission 'legal_hold'" in await run(admin, "hold", "release", "1", code=1)
    assert "released by apikey:legal" in await run(auditor, "hold", "release", "1")
    assert "no active legal hold 1" in await run(auditor, "hold", "release", "1", code=1)
    assert "1 interactions" in await run(admin, "plan")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"data_class": "audit", "region": "eu", "keep_days": 1}]}))
    assert "audit records are purged by segment" in await run(
        admin, "policy", "set", str(bad), code=2
    )
    assert "interaction_id" in await run(
        auditor, "hold", "set", "--interaction", "bad id!", "--reason", "x", code=2
    )
    trail = deployment.store.audit_trail(RETENTION_STREAM)
    assert [(e.kind, e.actor) for e in trail] == [
        ("retention_policy_saved", "apikey:dpo"),
        ("legal_hold_set", "apikey:legal"),
        ("legal_hold_released", "apikey:legal"),
    ]
    assert "jane@example.com" not in json.dumps([e.payload for e in trail])
