"""``push_dashboards`` against a fake Grafana.

Grafana cannot run here (no container engine, no Grafana binary on the test machines), so the
Starlette app in ``fake_grafana`` stands in for it: it is served by uvicorn on 127.0.0.1 inside
the test's event loop, while the synchronous grafana-client runs in a worker thread.
"""

from __future__ import annotations

import asyncio

import pytest
from grafana_client.client import GrafanaUnauthorizedError

from dashboards.definitions import DASHBOARD_UIDS, all_dashboards
from dashboards.push import push_dashboards
from tests.dashboards.fake_grafana import GrafanaState, serve_fake_grafana


async def test_push_creates_folder_and_uploads_every_dashboard() -> None:
    state = GrafanaState(token="s3cret")
    async with serve_fake_grafana(state) as url:
        pushed = await asyncio.to_thread(push_dashboards, url, token="s3cret")

    assert [f["title"] for f in state.folders] == ["Warmline"]
    folder_uid = state.folders[0]["uid"]
    assert set(state.dashboards) == set(DASHBOARD_UIDS)
    expected = {d["uid"]: d for d in all_dashboards()}
    for uid, saved in state.dashboards.items():
        assert saved["folderUid"] == folder_uid
        assert saved["dashboard"]["title"] == expected[uid]["title"]
        assert saved["dashboard"]["panels"] == expected[uid]["panels"]
        assert saved["dashboard"]["id"] is None
    assert [p.uid for p in pushed] == list(DASHBOARD_UIDS)
    assert all(p.version == 1 and p.url.startswith("/d/") for p in pushed)


async def test_second_push_reuses_folder_and_overwrites() -> None:
    state = GrafanaState(basic_auth=("admin", "pw"))
    async with serve_fake_grafana(state) as url:
        await asyncio.to_thread(push_dashboards, url, basic_auth=("admin", "pw"))
        again = await asyncio.to_thread(push_dashboards, url, basic_auth=("admin", "pw"))

    assert state.folder_posts == 1, "the existing folder must be found, not re-created"
    assert len(state.folders) == 1
    assert len(state.dashboards) == len(DASHBOARD_UIDS)
    assert {p.version for p in again} == {2}


async def test_push_into_existing_custom_folder() -> None:
    state = GrafanaState(token="t")
    state.folders.append({"id": 7, "uid": "ops", "title": "Contact centre"})
    async with serve_fake_grafana(state) as url:
        await asyncio.to_thread(push_dashboards, url, token="t", folder="Contact centre")

    assert state.folder_posts == 0
    assert {d["folderUid"] for d in state.dashboards.values()} == {"ops"}


async def test_credentials_in_url_are_used() -> None:
    state = GrafanaState(basic_auth=("admin", "pw"))
    async with serve_fake_grafana(state) as url:
        with_user = url.replace("http://", "http://admin:pw@")
        await asyncio.to_thread(push_dashboards, with_user)
    assert set(state.dashboards) == set(DASHBOARD_UIDS)


async def test_bad_credentials_fail_loudly() -> None:
    state = GrafanaState(token="right")
    async with serve_fake_grafana(state) as url:
        with pytest.raises(GrafanaUnauthorizedError):
            await asyncio.to_thread(push_dashboards, url, token="wrong")
    assert state.dashboards == {}


def test_token_and_basic_auth_together_are_rejected() -> None:
    with pytest.raises(ValueError, match="not both"):
        push_dashboards("http://127.0.0.1:1", token="t", basic_auth=("u", "p"))
