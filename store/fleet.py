"""Fleet records inside a store session: registry changes applied exactly once, fleet audit
events written once per key, and the facts a canary or A/B analysis reads.

A registry change is one transaction: read the active routing config, edit it, save the next
version, append the audit event and remember the caller's key. A retried activity finds the key
and gets the first result back, so a graduated rollback never shifts traffic twice and the
audit trail never shows a change twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.facts import AuditEvent
from models.routing import RoutingConfig
from store.audit_chain import append_events, next_seq
from store.tables import (
    FleetEventRow,
    RoutingConfigRow,
    utc_now,
)

RegistryEdit = Callable[[RoutingConfig], tuple[RoutingConfig, list[str]]]


class NoRoutingConfig(LookupError):
    """The store holds no routing config yet (workers save the default on first use)."""


def known_event(session: Session, key: str) -> FleetEventRow | None:
    return session.exec(select(FleetEventRow).where(FleetEventRow.key == key)).first()


def _active_row(session: Session) -> RoutingConfigRow | None:
    return session.exec(
        select(RoutingConfigRow).order_by(col(RoutingConfigRow.version).desc()).limit(1)
    ).first()


def apply_registry_edit(
    session: Session,
    *,
    key: str,
    author: str,
    edit: RegistryEdit,
    stream: str,
    kind: str,
    payload: dict[str, Any],
) -> tuple[RoutingConfig, bool, list[str]]:
    """(config after the change, whether it was applied now, reasons) for change ``key``."""
    seen = known_event(session, key)
    if seen is not None:
        stored = json.loads(seen.payload)
        version_row = session.exec(
            select(RoutingConfigRow).where(RoutingConfigRow.version == seen.config_version)
        ).first()
        if version_row is None:
            raise NoRoutingConfig(f"config version {seen.config_version} of {key} is missing")
        config = RoutingConfig.model_validate_json(version_row.document)
        return config, False, list(stored.get("reasons", []))
    row = _active_row(session)
    if row is None:
        raise NoRoutingConfig("no routing config stored yet")
    edited, reasons = edit(RoutingConfig.model_validate_json(row.document))
    now = utc_now()
    highest = session.exec(select(func.max(RoutingConfigRow.version))).one() or 0
    saved = edited.model_copy(
        update={"version": highest + 1, "author": author, "created_at": now.isoformat()}
    )
    document = saved.model_dump_json()
    session.add(
        RoutingConfigRow(version=saved.version, author=author, created_at=now, document=document)
    )
    body = {**payload, "config_version": saved.version, "reasons": reasons}
    session.add(
        FleetEventRow(
            key=key, kind=kind, config_version=saved.version, payload=json.dumps(body, default=str)
        )
    )
    session.flush()
    append_events(
        session,
        [
            AuditEvent(
                stream=stream,
                seq=next_seq(session, stream),
                kind=kind,
                at=now.isoformat(),
                actor=author,
                payload={"key": key, **body},
            )
        ],
    )
    return RoutingConfig.model_validate_json(document), True, reasons


def record_event_once(session: Session, event: AuditEvent, key: str) -> bool:
    """Append ``event`` (its ``seq`` is replaced by the stream's next) unless ``key`` is known."""
    if known_event(session, key) is not None:
        return False
    session.add(FleetEventRow(key=key, kind=event.kind, payload=json.dumps(event.payload)))
    session.flush()
    numbered = event.model_copy(update={"seq": next_seq(session, event.stream)})
    append_events(session, [numbered])
    return True
