"""``warmline access`` and how the commands find their token, through a real API on loopback
(``tests/cli/conftest.py``)."""

from __future__ import annotations

import json

from cli.stack import ensure_local_token
from runtime.api_key_secret import local_token_path
from store.api_keys import ACCESS_AUDIT_STREAM, ApiKeyStore
from tests.cli.conftest import Deployment


async def test_bootstrap_admin_issues_lists_and_revokes_service_keys(
    deployment: Deployment,
) -> None:
    created = await deployment.warmline(
        "access", "key", "create", "root", "--role", "admin", "--direct"
    )
    assert created.exit_code == 0, created.output
    admin_token = created.stdout.strip().splitlines()[-1]
    assert admin_token.startswith("wl_")
    me = await deployment.warmline("--token", admin_token, "access", "whoami")
    assert me.exit_code == 0 and me.stdout.startswith("apikey:root (api_key)")
    assert "access_admin" in me.stdout

    issued = await deployment.warmline(
        "--token", admin_token, "access", "key", "create", "wfm-sync", "--role", "wfm_reader"
    )
    assert issued.exit_code == 0, issued.output
    wfm_token = issued.stdout.strip().splitlines()[-1]
    listed = await deployment.warmline("--token", admin_token, "access", "key", "list", "--json")
    assert {row["name"] for row in json.loads(listed.stdout)} == {"root", "wfm-sync"}
    assert wfm_token not in listed.stdout

    key_id = wfm_token.split("_")[1]
    refused = await deployment.warmline("--token", wfm_token, "access", "key", "revoke", key_id)
    assert refused.exit_code == 1 and "lacks permission 'access_admin'" in refused.output
    revoked = await deployment.warmline("--token", admin_token, "access", "key", "revoke", key_id)
    assert revoked.exit_code == 0 and "by apikey:root" in revoked.output
    after = await deployment.warmline("--token", wfm_token, "access", "whoami")
    assert after.exit_code == 1 and "revoked" in after.output
    actors = [(e.kind, e.actor) for e in deployment.store.audit_trail(ACCESS_AUDIT_STREAM)]
    assert actors[0][1].startswith("local:")  # the bootstrap, by the OS account that ran it
    assert actors[1:] == [("api_key_issued", "apikey:root"), ("api_key_revoked", "apikey:root")]


async def test_the_embedded_stack_key_is_used_on_loopback_only(deployment: Deployment) -> None:
    token = ensure_local_token(deployment.store, deployment.settings)
    assert ensure_local_token(deployment.store, deployment.settings) == token, "reused"
    path = local_token_path(deployment.settings)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    me = await deployment.warmline("access", "whoami")
    assert me.exit_code == 0 and me.stdout.startswith("apikey:local-dev")
    # The same file is never sent to an API elsewhere.
    remote = await deployment.warmline("access", "whoami", WARMLINE_API_URL="http://10.0.0.1:9")
    assert remote.exit_code == 1 and "no API token" in remote.output
    # A revoked local key is replaced at the next start.
    ApiKeyStore(deployment.store).revoke(token.split("_")[1], "tests")
    assert ensure_local_token(deployment.store, deployment.settings) != token
