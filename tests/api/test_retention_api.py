"""Retention through the API over real loopback HTTP: the author and the holder are the token's
identity whatever the body claims, and bad input is refused naming the field. Tokens come from a
JWKS the test serves itself (no external identity provider can run here)."""

from __future__ import annotations

from pathlib import Path

import httpx

from models.access import Role
from models.retention import MAX_HOLD_REASON_CHARS
from store.audit_verify import RETENTION_STREAM
from tests.audit_keys import open_test_store
from tests.identity import bearer, serve_api, serve_idp


async def test_identities_come_from_the_token_and_bad_input_is_named(tmp_path: Path) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    async with (
        serve_idp() as idp,
        serve_api(store, idp.settings(data_dir=tmp_path)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        admin = bearer(idp.token("dpo@example.com", [Role.ADMIN]))
        auditor = bearer(idp.token("legal@example.com", [Role.AUDITOR]))
        rule = {"data_class": "facts", "keep_days": 400, "regulation": "ask jane@example.com"}
        claimed = {"rules": [rule], "author": "someone-else", "version": 42}
        saved = await http.post("/v1/retention/policy", json=claimed, headers=admin)
        assert saved.status_code == 201
        assert (saved.json()["version"], saved.json()["author"]) == (1, "dpo@example.com")
        shown = (await http.get("/v1/retention/policy", headers=auditor)).json()
        assert shown["version"] == 1 and "jane@example.com" not in str(shown)  # redacted

        for body, field in (
            ({"interaction_id": "i-1", "reason": "x" * (MAX_HOLD_REASON_CHARS + 1)}, "reason"),
            ({"interaction_id": "i 1", "reason": "case"}, "interaction_id"),
            ({"interaction_id": "i-1", "reason": "case", "set_by": "someone-else"}, "set_by"),
            ({"interaction_id": "i-1"}, "reason"),
        ):
            refused = await http.post("/v1/retention/holds", json=body, headers=auditor)
            assert refused.status_code == 422 and field in refused.json()["error"], body
        held = await http.post(
            "/v1/retention/holds", json={"interaction_id": "i-1", "reason": "case"}, headers=auditor
        )
        assert held.status_code == 201 and held.json()["set_by"] == "legal@example.com"
        not_a_number = await http.post("/v1/retention/holds/one/release", headers=auditor)
        assert not_a_number.status_code == 422
        listed = await http.get("/v1/retention/holds", headers=admin)
        assert [h["interaction_id"] for h in listed.json()] == ["i-1"]
    trail = store.audit_trail(RETENTION_STREAM)
    assert "jane@example.com" not in str([e.payload for e in trail])
    actors = [(e.kind, e.actor) for e in trail]
    assert actors == [
        ("retention_policy_saved", "dpo@example.com"),
        ("legal_hold_set", "legal@example.com"),
    ]
    store.close()
