"""``warmline access``: who you are to the API, and service-account API keys.

``key create | list | revoke`` go through the API and need ``access_admin`` (the admin role).
The first admin key of a deployment cannot come from the API, so ``--direct`` writes straight to
the store instead: it needs what the API itself has (``WARMLINE_DATABASE_URL`` and
``WARMLINE_API_KEY_SECRET``), is audited on the ``access`` stream as ``local:<OS user>``, and is
meant for that bootstrap and for break-glass revocation.

A new key's token is printed once, alone on stdout (so it can be redirected into a secret
store); everything else goes to stderr.
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.api_client import call
from models.access import ApiKeyInfo, ApiKeyRequest, IssuedApiKey, Role, WhoAmI
from runtime.api_key_secret import api_key_secret
from runtime.audit_keys import open_store
from runtime.settings import load_settings
from store.api_keys import ApiKeyStore, UnknownApiKey

app = typer.Typer(help="Your identity to the API, and service-account API keys.")
key_app = typer.Typer(help="Service-account API keys (admin).", no_args_is_help=True)
app.add_typer(key_app, name="key")
err = Console(stderr=True)

Direct = Annotated[
    bool,
    typer.Option(
        "--direct", help="Write to the store instead of the API (bootstrap; needs DB access)."
    ),
]


def _direct_store() -> tuple[ApiKeyStore, bytes, str]:
    settings = load_settings()
    store = open_store(settings)
    return ApiKeyStore(store), api_key_secret(settings), f"local:{getpass.getuser()}"


@app.command()
def whoami() -> None:
    """The identity, roles and permissions your token gives you."""
    me = WhoAmI.model_validate(call(lambda api: api.get("/v1/access/whoami")))
    print(f"{me.subject} ({me.via.value})")
    print(f"roles: {', '.join(me.roles) or 'none'}")
    print(f"permissions: {', '.join(me.permissions) or 'none'}")


@key_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Service account, e.g. ccaas-prod.")],
    role: Annotated[list[Role], typer.Option("--role", help="Repeatable.")],
    expires_days: Annotated[int | None, typer.Option(min=1, max=3650)] = None,
    direct: Direct = False,
) -> None:
    """Issue a key; its token is shown this once."""
    request = ApiKeyRequest(name=name, roles=role, expires_in_days=expires_days)
    if direct:
        keys, secret, actor = _direct_store()
        issued = keys.issue(request, actor, secret)
    else:
        body = request.model_dump(mode="json")
        issued = IssuedApiKey.model_validate(call(lambda api: api.post("/v1/access/keys", body)))
    key = issued.key
    err.print(
        f"issued {key.key_id} for apikey:{key.name} ({', '.join(key.roles)}); "
        "the token below is shown once:"
    )
    print(issued.token)


@key_app.command("list")
def list_keys(
    include_revoked: Annotated[bool, typer.Option("--all", help="Revoked keys too.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    direct: Direct = False,
) -> None:
    """Keys (never their secrets), oldest first."""
    if direct:
        keys = _direct_store()[0].list(include_revoked)
    else:
        rows = call(lambda api: api.get("/v1/access/keys", include_revoked=include_revoked))
        keys = [ApiKeyInfo.model_validate(row) for row in rows]
    if as_json:
        print(json.dumps([k.model_dump(mode="json") for k in keys], indent=2))
        return
    table = Table("key id", "name", "roles", "created", "by", "expires", "last used", "revoked")
    for k in keys:
        table.add_row(
            k.key_id,
            k.name,
            ", ".join(k.roles),
            f"{k.created_at:%Y-%m-%d}",
            k.created_by,
            f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "-",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-",
            f"{k.revoked_at:%Y-%m-%d} by {k.revoked_by}" if k.revoked_at else "",
        )
    err.print(table)


@key_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument()], direct: Direct = False) -> None:
    """Revoke a key now: its next request is refused."""
    if direct:
        keys, _, actor = _direct_store()
        try:
            revoked = keys.revoke(key_id, actor)
        except UnknownApiKey as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    else:
        revoked = ApiKeyInfo.model_validate(
            call(lambda api: api.delete(f"/v1/access/keys/{key_id}"))
        )
    err.print(f"revoked {revoked.key_id} (apikey:{revoked.name}) by {revoked.revoked_by}")
