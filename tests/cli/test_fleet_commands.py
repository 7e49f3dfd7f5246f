"""``warmline fleet`` registry commands through a real API on loopback over a temporary store.

Each command runs in a thread (it has its own event loop and HTTP client, as in a terminal)
with a release manager's API key; the API serves from this test's loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from cli.canary import build_rollout
from cli.fleet import app
from models.access import Role
from models.fleet import FLEET_AUDIT_STREAM
from runtime.settings import Settings
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.identity import api_key, serve_api

runner = CliRunner()


@pytest.fixture
async def cli_env(tmp_path: Path) -> AsyncIterator[tuple[dict[str, str], Store]]:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    settings = Settings(data_dir=tmp_path)
    token = api_key(store, settings, "rm", Role.RELEASE_MANAGER)
    async with serve_api(store, settings) as url:
        yield {"WARMLINE_API_URL": url, "WARMLINE_API_TOKEN": token}, store
    store.close()


def _invoke(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


async def fleet(env: dict[str, str], *args: str) -> Result:
    return await asyncio.to_thread(_invoke, list(args), env)


async def listing(env: dict[str, str]) -> dict[str, object]:
    result = await fleet(env, "list", "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.output)
    return document


async def test_register_weight_retire_and_list(cli_env: tuple[dict[str, str], Store]) -> None:
    env, store = cli_env
    result = await fleet(
        env, "register", "care-bot", "2026.11", "--capability", "order_status=0.97"
    )
    assert result.exit_code == 0, result.output
    assert "registered care-bot:2026.11 as canary weight 0" in result.output
    result = await fleet(env, "set-weight", "care-bot", "2026.11", "0.25")
    assert result.exit_code == 0, result.output
    rows = {row["version"]: row for row in (await listing(env))["endpoints"]}  # type: ignore[attr-defined]
    assert rows["2026.11"]["share_percent"] == pytest.approx(20.0)
    result = await fleet(env, "retire", "care-bot", "2026.10")
    assert result.exit_code == 0, result.output
    result = await fleet(env, "retire", "care-bot", "2026.11")
    assert result.exit_code == 2 and "carries all" in result.output
    assert (await listing(env))["config_version"] == 4
    # Every change is authored by the key's identity, in the config and the fleet audit.
    assert store.active_routing_config().author == "apikey:rm"  # type: ignore[union-attr]
    assert {e.actor for e in store.audit_trail(FLEET_AUDIT_STREAM)} == {"apikey:rm"}


async def test_unknown_versions_and_bad_options_are_refused(
    cli_env: tuple[dict[str, str], Store],
) -> None:
    env, _ = cli_env
    result = await fleet(env, "set-weight", "care-bot", "9.9", "1")
    assert result.exit_code == 2 and "not registered" in result.output
    result = await fleet(env, "register", "care-bot", "2026.12", "--capability", "x")
    assert result.exit_code != 0 and "name=number" in result.output
    result = await fleet(env, "set-weight", "care-bot", "2026.10", "1", "--author", "someone")
    assert result.exit_code == 2 and "No such option: --author" in result.output


async def test_without_a_token_or_the_permission_the_command_says_why(
    cli_env: tuple[dict[str, str], Store], tmp_path: Path
) -> None:
    env, store = cli_env
    result = await fleet({"WARMLINE_API_URL": env["WARMLINE_API_URL"],
                          "WARMLINE_DATA_DIR": str(tmp_path / "elsewhere")}, "list")  # fmt: skip
    assert result.exit_code == 1 and "no API token" in result.output
    reader = api_key(store, Settings(data_dir=tmp_path), "wfm", Role.WFM_READER)
    result = await fleet(
        {**env, "WARMLINE_API_TOKEN": reader}, "set-weight", "care-bot", "2026.10", "1"
    )
    assert result.exit_code == 1 and "lacks permission 'fleet_change'" in result.output
    result = await fleet({**env, "WARMLINE_API_URL": "http://127.0.0.1:9"}, "list")
    assert result.exit_code == 1 and "cannot reach the Warmline API" in result.output


def test_canary_start_options_become_a_rollout_plan() -> None:
    plan = build_rollout("1,5,25,50,100", 600, "10", 30, None)
    assert [s.weight_percent for s in plan.steps] == [1, 5, 25, 50, 100]
    assert {s.min_sample for s in plan.steps} == {10}
    with pytest.raises(typer.BadParameter):
        build_rollout("5,25", 600, "1,2,3", 30, None)
    with pytest.raises(ValueError, match="weights must increase"):
        build_rollout("25,5", 600, "1", 30, None)
