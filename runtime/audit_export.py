"""An interaction's audit report: one document joining everything an auditor needs.

The decrypted workflow history (while Temporal still has it), the interaction's audit records
and whether they verify, the closing archive and whether it matches the digest its ``archived``
record chained, and the facts. Decrypting is a privileged read: the one caller, the API's
``GET /v1/audit/interactions/{id}`` (``api.audit``), appends it to the ``privileged-reads``
audit stream before it builds the report, as the authenticated principal.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from models.interaction import interaction_workflow_id
from runtime.history import decrypted_runs
from store.archive import ARCHIVED_KIND, archive_digest
from store.repository import Store

REPORT_FORMAT = "warmline-audit-report/1"


def has_records(report: dict[str, Any]) -> bool:
    """Whether the store knows the interaction at all (facts, archive or audit records)."""
    return not (report["facts"] is None and report["archive"] is None and not report["audit"])


async def interaction_report(
    store: Store, client: Client | None, interaction_id: str, exported_by: str
) -> dict[str, Any]:
    """The report; ``history`` is None without a client or once Temporal's retention passed."""
    report = await asyncio.to_thread(_stored_part, store, interaction_id, exported_by)
    report["history"] = await decrypted_runs(client, report["workflow_id"]) if client else None
    return report


def _stored_part(store: Store, interaction_id: str, exported_by: str) -> dict[str, Any]:
    workflow_id = interaction_workflow_id(interaction_id)
    trail = store.audit_trail(workflow_id)
    chain_ok, _ = store.verify_audit(workflow_id)
    archive = store.interaction_archive(interaction_id)
    chained = [e.payload.get("digest") for e in trail if e.kind == ARCHIVED_KIND]
    archive_ok = (
        archive is not None
        and archive_digest(archive.transcript, archive.decisions) == archive.digest
        and chained == [archive.digest]
    )
    facts = store.get_facts(interaction_id)
    return {
        "format": REPORT_FORMAT,
        "interaction_id": interaction_id,
        "workflow_id": workflow_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "exported_by": exported_by,
        "checks": {"audit_chain": chain_ok and bool(trail), "archive": archive_ok},
        "facts": facts.model_dump(mode="json") if facts else None,
        "audit": [e.model_dump(mode="json") for e in trail],
        "archive": archive.model_dump(mode="json") if archive else None,
    }
