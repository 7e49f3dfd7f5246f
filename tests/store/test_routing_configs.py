"""Routing config versions: append-only, authored, timestamped, latest is active."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from models.interaction import Route
from models.routing import RoutingConfig
from store import Store
from store.repository import ROUTING_CONFIG_STREAM


def test_versions_increase_and_keep_author_and_time(store: Store) -> None:
    assert store.active_routing_config() is None
    assert store.list_routing_configs() == []

    first = store.save_routing_config(RoutingConfig(), author="alice")
    second = store.save_routing_config(
        RoutingConfig(intent_map={"complaint": Route.HUMAN}, version=77), author="bob"
    )

    assert (first.version, first.author) == (1, "alice")
    assert (second.version, second.author) == (2, "bob")  # a caller's version is ignored
    assert second.created_at is not None
    created = datetime.fromisoformat(second.created_at)
    assert created.tzinfo is not None
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)

    assert store.active_routing_config() == second
    assert store.get_routing_config(1) == first
    assert store.get_routing_config(3) is None
    assert store.list_routing_configs() == [
        (1, "alice", first.created_at),
        (2, "bob", second.created_at),
    ]


def test_concurrent_saves_get_distinct_versions(store: Store) -> None:
    def save(n: int) -> int:
        return store.save_routing_config(RoutingConfig(), author=f"admin-{n}").version

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(save, range(24)))

    assert sorted(versions) == list(range(1, 25))
    active = store.active_routing_config()
    assert active is not None and active.version == 24


def test_every_saved_version_is_audited_with_its_author(store: Store) -> None:
    store.save_routing_config(RoutingConfig(), author="alice")
    store.save_routing_config(RoutingConfig(), author="bob")

    trail = store.audit_trail(ROUTING_CONFIG_STREAM)
    assert [(e.kind, e.actor, e.payload) for e in trail] == [
        ("routing_config_saved", "alice", {"version": 1}),
        ("routing_config_saved", "bob", {"version": 2}),
    ]
    assert store.verify_audit(ROUTING_CONFIG_STREAM) == (True, None)


def test_the_regulatory_policy_is_versioned_and_audited_with_the_config(store: Store) -> None:
    from models.compliance import RegionRule

    first = store.save_routing_config(RoutingConfig(), author="alice")
    assert first.regulatory.rules, "the default policy comes with every config"
    stricter = first.regulatory.model_copy(
        update={"rules": [*first.regulatory.rules, RegionRule(region="br", right_to_human=True)]}
    )
    second = store.save_routing_config(
        first.model_copy(update={"regulatory": stricter}), author="counsel"
    )
    assert store.get_routing_config(second.version) == second
    assert store.get_routing_config(first.version) == first, "the earlier duties are kept"
    assert second.regulatory.rules[-1].region == "br"
    saved = [
        e for e in store.audit_trail(ROUTING_CONFIG_STREAM) if e.kind == "routing_config_saved"
    ]
    assert [(e.actor, e.payload["version"]) for e in saved][-1] == ("counsel", second.version)
