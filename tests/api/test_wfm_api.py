"""The WFM polling API over HTTP (Starlette test client on the real app, a real store).

Credentials are API keys issued into the store: an auditor may read (``wfm_read``) but not
push a schedule; the WFM platform's service account (``wfm_reader``) holds both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_api_app
from models.access import Role
from runtime.settings import Settings
from store.intervals import IntervalStore
from store.repository import Store
from store.wfm_views import WfmViews
from tests.audit_keys import open_test_store
from tests.identity import api_key, bearer
from tests.store.builders import make_record

DAY = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    records = []
    for n in range(40):
        pool = ("ai_contained", "ai_assisted", "human_only")[n % 3]
        records.append(
            make_record(
                f"api-{n:02d}",
                events=0,
                started_at=(DAY + timedelta(hours=9, minutes=n)).isoformat(),
                queue="billing",
                pool=pool,
                outcome={"ai_contained": "contained", "ai_assisted": "escalated"}.get(
                    pool, "human_only"
                ),
                human_seconds=0.0 if pool == "ai_contained" else 180.0,
                # AI-to-AI hand-offs: every other AI interaction, twice in every sixth.
                handoffs=0 if pool == "human_only" or n % 2 else 1 + (n % 6 == 0),
            )
        )
    opened.record_interactions(records)
    IntervalStore(opened.engine).init_schema()
    IntervalStore(opened.engine).rollup(15)
    yield opened
    opened.close()


@dataclass(frozen=True)
class Auth:
    reader: dict[str, str]
    """An auditor: reads the WFM API, may not push a schedule."""
    planner: dict[str, str]
    """The WFM platform's service account (wfm_reader): reads and pushes the plan."""


@pytest.fixture
def auth(store: Store, tmp_path: Path) -> Auth:
    settings = Settings(data_dir=tmp_path)
    return Auth(
        reader=bearer(api_key(store, settings, "audit", Role.AUDITOR)),
        planner=bearer(api_key(store, settings, "wfm-platform", Role.WFM_READER)),
    )


@pytest.fixture
def client(store: Store, tmp_path: Path, auth: Auth) -> Iterator[TestClient]:
    with TestClient(create_api_app(store, Settings(data_dir=tmp_path))) as test_client:
        yield test_client


def window(days: int = 1) -> dict[str, str]:
    return {"start": DAY.isoformat(), "end": (DAY + timedelta(days=days)).isoformat()}


def test_reads_need_the_reader_credential_and_the_push_the_planner(
    client: TestClient, auth: Auth
) -> None:
    assert client.get("/v1/wfm/capacity").status_code == 401
    assert (
        client.get("/v1/wfm/capacity", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert client.get("/v1/wfm/capacity", headers=auth.reader).status_code == 200
    assert client.get("/v1/wfm/capacity", headers=auth.planner).status_code == 200
    push = {
        "intervals": [
            {"interval_start": "2026-03-02T09:00:00Z", "queue": "billing", "planned_agents": 3}
        ]
    }
    assert client.put("/v1/wfm/plan", json=push, headers=auth.reader).status_code == 403
    assert client.put("/v1/wfm/plan", json=push, headers=auth.planner).status_code == 200


def test_interval_pages_cover_the_range_once(client: TestClient, auth: Auth, store: Store) -> None:
    seen = []
    token = None
    while True:
        params = window() | {"page_size": "1"} | ({"page_token": token} if token else {})
        page = client.get("/v1/wfm/intervals", params=params, headers=auth.reader).json()
        seen += page["items"]
        token = page["next_page_token"]
        if token is None:
            break
    assert page["total"] == len(seen) == 9  # 3 intervals x 3 pools
    ai = [n for n in range(40) if n % 3 != 2]
    handed = [n for n in ai if n % 2 == 0]
    assert sum(item["handed_off"] for item in seen) == len(handed)
    assert sum(item["handoffs"] for item in seen) == sum(1 + (n % 6 == 0) for n in handed)
    totals = WfmViews(store.engine).totals(15, DAY, DAY + timedelta(days=1))
    assert totals.handed_off == len(handed)
    assert sum(item["offered"] for item in seen) == 40
    starts = {item["interval_start"] for item in seen}
    assert starts == {"2026-03-02T09:00:00Z", "2026-03-02T09:15:00Z", "2026-03-02T09:30:00Z"}


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"start": "2026-03-02T00:00:00Z", "end": "2026-04-10T00:00:00Z"}, 400, "31 days"),
        ({"start": "2026-03-02T00:00:00", "end": "2026-03-03T00:00:00"}, 422, "pattern"),
        ({"start": "2026-13-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}, 400, "not a valid"),
        ({"start": "2026-03-03T00:00:00Z", "end": "2026-03-02T00:00:00Z"}, 400, "after start"),
        ({"start": "yesterday", "end": "2026-03-02T00:00:00Z"}, 422, "start"),
        (window() | {"page_size": "0"}, 422, "page_size"),
        (window() | {"page_token": "-3"}, 422, "page_token"),
        (window() | {"interval": "7"}, 422, "interval"),
    ],
)
def test_bad_ranges_get_a_4xx_with_the_reason(
    client: TestClient, params: dict[str, str], status: int, reason: str, auth: Auth
) -> None:
    response = client.get("/v1/wfm/intervals", params=params, headers=auth.reader)
    assert response.status_code == status
    assert reason in response.text


def test_a_bad_plan_is_refused_whole_naming_row_and_column(client: TestClient, auth: Auth) -> None:
    csv = (
        "interval_start,queue,planned_agents,planned_volume\n"
        "2026-03-02T09:00:00Z,billing,4,14\n"
        "2026-03-02T09:15:00Z,billing,many,13\n"
    )
    refused = client.post(
        "/v1/wfm/plan.csv", content=csv, headers=auth.planner | {"Content-Type": "text/csv"}
    )
    assert refused.status_code == 422
    assert refused.json()["details"] == [
        {
            "loc": ["body", 3, "planned_agents"],
            "msg": "plan refused, nothing applied: row 3, column planned_agents: 'many' is not "
            "a whole number",
            "type": "plan_rejected",
        }
    ]
    report = client.get("/v1/wfm/plan-vs-actual", params=window(), headers=auth.reader).json()
    assert all(row["planned_agents"] is None for row in report["intervals"]), "nothing applied"
    bad_json = {
        "intervals": [
            {"interval_start": "2026-03-02T09:00:00Z", "queue": "billing", "planned_agents": 4},
            {"interval_start": "2026-03-02T09:05:00Z", "queue": "billing", "planned_agents": 4},
        ]
    }
    refused = client.put("/v1/wfm/plan", json=bad_json, headers=auth.planner)
    assert refused.status_code == 422
    assert refused.json()["details"][0]["loc"] == ["body", 2, "interval_start"]


def test_plan_vs_actual_after_a_csv_push(client: TestClient, auth: Auth) -> None:
    csv = (
        "interval_start,queue,planned_agents,planned_volume\n"
        "2026-03-02T09:00:00Z,billing,4,14\n"
        "2026-03-02T09:15:00Z,billing,1,8\n"
    )
    applied = client.post(
        "/v1/wfm/plan.csv", content=csv, headers=auth.planner | {"Content-Type": "text/csv"}
    )
    assert applied.status_code == 200 and applied.json()["rows"] == 2
    report = client.get("/v1/wfm/plan-vs-actual", params=window(), headers=auth.reader).json()
    first = report["intervals"][0]
    # 09:00-09:15: 15 interactions, 10 of them human-bound (AI-assisted and human-only).
    assert (first["planned_agents"], first["actual_volume"], first["volume_variance"]) == (
        4,
        10,
        -4.0,
    )
    assert first["actual_aht_seconds"] == 180.0 and first["required_agents"] >= 3


def test_containment_trends_and_intraday(client: TestClient, auth: Auth) -> None:
    trend = client.get(
        "/v1/wfm/containment", params={"granularity": "hour"} | window(), headers=auth.reader
    ).json()
    (hour,) = trend["points"]
    # 40 interactions: 14 AI-contained and 13 AI-assisted are the AI's; 14 of 27 contained.
    assert (hour["ai_interactions"], hour["contained"]) == (27, 14)
    for granularity in ("day", "week", "month"):
        points = client.get(
            "/v1/wfm/containment",
            params={"granularity": granularity} | window(40),
            headers=auth.reader,
        ).json()["points"]
        assert [(p["ai_interactions"], p["contained"]) for p in points] == [(27, 14)]
    week = client.get(
        "/v1/wfm/containment", params={"granularity": "week"} | window(3), headers=auth.reader
    ).json()["points"][0]
    assert week["period_start"] == "2026-03-02T00:00:00Z"  # a Monday
    too_long = client.get(
        "/v1/wfm/containment", params={"granularity": "5m"} | window(3), headers=auth.reader
    )
    assert too_long.status_code == 400
    snapshot = client.get("/v1/wfm/intraday", headers=auth.reader).json()
    assert snapshot["capacity"]["status"] == "available"
    summary = client.get("/v1/wfm/summary", headers=auth.reader).json()
    assert summary["total"] == 40


def test_openapi_document_is_served(client: TestClient) -> None:
    document = client.get("/openapi.json").json()  # public, like /docs
    assert {
        "/v1/wfm/intervals",
        "/v1/wfm/intraday",
        "/v1/wfm/capacity",
        "/v1/wfm/plan-vs-actual",
        "/v1/wfm/containment",
        "/v1/wfm/plan",
        "/v1/wfm/plan.csv",
        "/v1/wfm/summary",
    } <= set(document["paths"])
