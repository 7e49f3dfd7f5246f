"""A deployment the commands act against: a real API on loopback over a store in a temporary
directory. Commands run in a thread (their own HTTP client, as in a terminal) while the API
answers from the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.api_client import use_token
from cli.main import app
from models.access import Role
from runtime.settings import Settings
from store.repository import Store
from tests.audit_keys import open_test_store
from tests.identity import api_key, serve_api

runner = CliRunner()


def _invoke(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


@dataclass
class Deployment:
    url: str
    store: Store
    settings: Settings
    env: dict[str, str]

    async def warmline(self, *args: str, **env: str) -> Result:
        merged = {**self.env, **env}
        return await asyncio.to_thread(_invoke, list(args), merged)

    def token(self, name: str, *roles: Role) -> str:
        """A service account's API key with ``roles``, issued straight into the store."""
        return api_key(self.store, self.settings, name, *roles)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    settings = Settings(data_dir=tmp_path)
    env = {
        "WARMLINE_DATA_DIR": str(tmp_path),
        "WARMLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'warmline.db'}",
        "WARMLINE_API_TOKEN": "",
    }
    async with serve_api(store, settings) as url:
        yield Deployment(url, store, settings, {**env, "WARMLINE_API_URL": url})
    store.close()


@pytest.fixture(autouse=True)
def no_token_left_behind() -> Iterator[None]:
    """``warmline --token`` is process state (one command per process in a terminal); a test
    that invokes a sub-command's app directly must not inherit the last test's token."""
    use_token(None)
    yield
    use_token(None)
