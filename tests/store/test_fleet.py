"""Fleet records in the store: registry changes and fleet events exactly once, facts by version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.facts import AuditEvent
from models.fleet import SetCanaryShare
from models.routing import AIEndpoint, EndpointRole, RoutingConfig
from store import Store
from store.fleet import NoRoutingConfig, RegistryEdit
from tests.store.builders import make_record
from warmline.default_config import default_routing_config
from warmline.registry import RegistryError, apply_changes, live_shares

CANARY = AIEndpoint(
    name="care-bot",
    version="2026.11",
    role=EndpointRole.CANARY,
    url="http://fleet/agents/care-bot/2026.11/v1",
    weight=0.0,
)


def with_canary(store: Store) -> None:
    base = default_routing_config("http://fleet")
    config = base.model_copy(update={"ai_endpoints": [*base.ai_endpoints, CANARY]})
    store.save_routing_config(config, "tests")


def share(percent: float) -> RegistryEdit:
    def edit(config: RoutingConfig) -> tuple[RoutingConfig, list[str]]:
        return apply_changes(
            config, [SetCanaryShare(agent="care-bot", version="2026.11", percent=percent)]
        )

    return edit


def test_a_registry_change_is_applied_and_audited_once_per_key(store: Store) -> None:
    with_canary(store)
    first, applied, reasons = store.apply_registry_edit(
        "wf/run/weight-2", "canary:wf", share(5), stream="fleet", kind="registry_change"
    )
    assert applied and first.version == 2 and first.author == "canary:wf"
    assert live_shares(first, "care-bot") == pytest.approx({"2026.10": 95, "2026.11": 5})
    again, applied, same = store.apply_registry_edit(
        "wf/run/weight-2", "canary:wf", share(50), stream="fleet", kind="registry_change"
    )
    assert not applied and again == first and same == reasons
    active = store.active_routing_config()
    assert active is not None and active.version == 2
    (event,) = store.audit_trail("fleet")
    assert event.kind == "registry_change" and event.actor == "canary:wf"
    assert event.payload["config_version"] == 2 and event.payload["key"] == "wf/run/weight-2"
    assert store.verify_audit("fleet") == (True, None)


def test_a_refused_change_writes_nothing(store: Store) -> None:
    with_canary(store)

    def refuse(config: RoutingConfig) -> tuple[RoutingConfig, list[str]]:
        raise RegistryError("no")

    with pytest.raises(RegistryError):
        store.apply_registry_edit("k", "ops", refuse, stream="fleet", kind="registry_change")
    assert store.audit_trail("fleet") == []
    active = store.active_routing_config()
    assert active is not None and active.version == 1


def test_no_config_yet_is_reported(store: Store) -> None:
    with pytest.raises(NoRoutingConfig):
        store.apply_registry_edit("k", "ops", share(5), stream="fleet", kind="registry_change")


def test_fleet_events_are_written_once_per_key(store: Store) -> None:
    event = AuditEvent(stream="wfm-events", seq=0, kind="ai_failover_to_human", at="t")
    assert store.record_fleet_event(event, "rollback-x/run/wfm")
    assert not store.record_fleet_event(event, "rollback-x/run/wfm")
    assert store.record_fleet_event(event.model_copy(update={"kind": "other"}), "another")
    assert [e.seq for e in store.audit_trail("wfm-events")] == [1, 2]


def test_facts_by_endpoint_and_start_time(store: Store) -> None:
    for iid, endpoint, started in (
        ("a", "care-bot:2026.10", "2025-01-01T10:00:00+00:00"),
        ("b", "care-bot:2026.11", "2025-01-01T10:05:00+00:00"),
        ("c", "care-bot:2026.11", "2025-01-01T09:59:00+00:00"),
        ("d", "billing-bot:3.2", "2025-01-01T10:06:00+00:00"),
    ):
        store.record_interaction(make_record(iid, ai_endpoint=endpoint, started_at=started))
    ten = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert store.count_facts_for_endpoints(["care-bot:2026.10", "care-bot:2026.11"], ten) == 2
    since = datetime(2025, 1, 1, 10, 1, tzinfo=UTC)
    assert store.count_facts_for_endpoints(["care-bot:2026.11"], since) == 1
