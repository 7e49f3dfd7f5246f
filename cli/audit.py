"""``warmline audit``: what an auditor runs. Verify the chain, keep checkpoints elsewhere, export.

- ``verify`` reads every audit record once and exits 1 naming the first one that does not
  verify (altered, removed, reordered or inserted); with ``--checkpoints FILE`` it also holds the
  store to a copy of the signed checkpoints kept outside it.
- ``checkpoint create`` signs the records appended since the last checkpoint (the retention
  schedule does this every run); ``checkpoint export`` writes them all for safekeeping.
- ``export --interaction ID`` writes one JSON report and a readable HTML page.

``export`` acts through the API with a token (``cli.api_client``): the exporter is the token's
identity, and the API holds the payload keys that decrypt the history. ``verify`` and the
checkpoint commands read the store directly, on purpose: verifying needs no privilege beyond
read access to the audit tables and the keys that check them (the HMAC ring, the checkpoint
public key), changes nothing, and must not depend on the API an auditor may be checking.
``checkpoint create`` needs the signing key, which only the retention workers (and whoever
runs this command for them) hold.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session

from cli.api_client import call
from models.audit import CheckpointExport
from runtime.audit_keys import load_audit_keys, load_signing_key, open_store, trusted_public_keys
from runtime.settings import load_settings
from store.audit_checkpoints import export_checkpoints, stored_public_keys, take_checkpoint
from store.audit_verify import verify_trail
from warmline.audit_checkpoint import key_fingerprint
from warmline.audit_report import render_html

app = typer.Typer(help="Verify and export the audit trail.", no_args_is_help=True)
checkpoint_app = typer.Typer(help="Signed checkpoints of the audit chain.", no_args_is_help=True)
app.add_typer(checkpoint_app, name="checkpoint")
console = Console()
SHOWN_FINDINGS = 20


@app.command()
def verify(
    stream: Annotated[str | None, typer.Option(help="Only this stream (no checkpoints).")] = None,
    checkpoints: Annotated[
        Path | None, typer.Option(exists=True, readable=True, help="An exported copy to hold.")
    ] = None,
    public_key: Annotated[
        list[str] | None, typer.Option(help="Hex Ed25519 public key trusted for checkpoints.")
    ] = None,
) -> None:
    """Recompute every link; exit 1 naming the first bad record."""
    settings = load_settings()
    store = open_store(settings)
    exported = None
    if checkpoints is not None:
        try:
            exported = CheckpointExport.model_validate_json(checkpoints.read_text())
        except ValidationError as exc:
            raise typer.BadParameter(f"{checkpoints} is not a checkpoint export: {exc}") from None
    if public_key:
        keys = {key_fingerprint(bytes.fromhex(k)): bytes.fromhex(k) for k in public_key}
    else:
        keys = trusted_public_keys(settings)
    report = verify_trail(
        store.engine, load_audit_keys(settings), keys, stream=stream, exported=exported
    )
    console.print(
        f"{report.records} records in {report.streams} streams, {report.checkpoints} "
        f"checkpoints checked in {report.seconds:.1f}s"
    )
    if report.ok:
        console.print("[green]audit trail verifies[/green]")
        return
    console.print(f"[red]FAILED at {report.findings[0].describe()}[/red]", soft_wrap=True)
    for finding in report.findings[1:SHOWN_FINDINGS]:
        console.print(f"  also: {finding.describe()}", soft_wrap=True)
    raise typer.Exit(1)


@checkpoint_app.command("create")
def checkpoint_create() -> None:
    """Sign the records appended since the last checkpoint."""
    settings = load_settings()
    store = open_store(settings)
    taken = take_checkpoint(
        store.engine, load_signing_key(settings), datetime.now(UTC), store.session_info
    )
    if taken is None:
        console.print("nothing appended since the last checkpoint")
        return
    console.print(
        f"checkpoint {taken.seq}: {taken.records} records in {taken.streams} streams, "
        f"ids {taken.after_id}..{taken.through_id}, signed by {taken.key_id}"
    )


@checkpoint_app.command("export")
def checkpoint_export(
    out: Annotated[Path, typer.Option(help="File to write (JSON).")],
    since: Annotated[int, typer.Option(help="Only checkpoints after this one.")] = 0,
) -> None:
    """Write the signed checkpoints (with their heads) to keep outside Warmline."""
    store = open_store(load_settings())
    with Session(store.engine) as session:
        document = CheckpointExport(
            public_keys=stored_public_keys(session),
            checkpoints=export_checkpoints(session, since),
        )
    out.write_text(document.model_dump_json(indent=1))
    console.print(f"wrote {len(document.checkpoints)} checkpoints to {out}")


@app.command("export")
def export(
    interaction: Annotated[str, typer.Option(help="Interaction id.")],
    out_dir: Annotated[Path, typer.Option(help="Directory for the JSON and HTML.")] = Path("."),
    no_history: Annotated[bool, typer.Option(help="Skip Temporal (store records only).")] = False,
) -> None:
    """One report: decrypted history, audit records, archived transcript (JSON and HTML).

    Through the API as your token's identity (auditors: ``export``), audited as a privileged
    read; the API decrypts, so you need neither the payload keys nor database access.
    """
    path = f"/v1/audit/interactions/{quote(interaction, safe='')}"
    report = call(lambda api: api.get(path, history=str(not no_history).lower()))
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"audit-{interaction}"  # the API accepted it: no path separators
    json_file, html_file = out_dir / f"{stem}.json", out_dir / f"{stem}.html"
    json_file.write_text(json.dumps(report, indent=1, default=str))
    html_file.write_text(render_html(report))
    console.print(f"wrote {json_file} and {html_file} (exported by {report['exported_by']})")
