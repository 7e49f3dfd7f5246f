"""Audit exports through the API: an interaction's report, for auditors (``export``).

The API holds what a report needs and an auditor should not: the Temporal client with the
payload key ring (the history comes back decrypted) and the store. Each export is a privileged
read, appended to the ``privileged-reads`` audit stream as the authenticated principal before
anything is read; ``warmline audit export`` writes the JSON and renders the HTML page from it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.auth import requires
from api.errors import ApiError
from api.services import Services
from api.temporal import temporal_errors
from models.access import Permission, Principal
from models.interaction import INTERACTION_ID_PATTERN, interaction_workflow_id
from runtime.audit_export import has_records, interaction_report

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/interactions/{interaction_id}")
async def interaction_export(
    interaction_id: Annotated[str, Path(pattern=INTERACTION_ID_PATTERN)],
    services: Services,
    principal: Annotated[Principal, requires(Permission.EXPORT)],
    history: bool = True,
) -> dict[str, Any]:
    """The interaction's audit report (``warmline-audit-report/1``): facts, audit records and
    whether they verify, the closing archive and whether it matches its chained digest, and
    (``history``) every run's workflow history, decrypted, while Temporal still has it."""
    workflow_id = interaction_workflow_id(interaction_id)
    client = await services.temporal.client() if history else None
    await services.record_read(
        principal,
        "interaction_exported",
        {"interaction_id": interaction_id, "workflow_id": workflow_id, "history": history},
    )
    with temporal_errors(workflow_id):
        report = await interaction_report(services.store, client, interaction_id, principal.subject)
    if not has_records(report) and not report["history"]:
        raise ApiError(404, f"no records of interaction {interaction_id}")
    return report
