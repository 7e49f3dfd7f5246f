"""``warmline wfm export``: each layout's file checked column by column from known facts.

Facts are recorded through the store as workers record them; the command rolls them into
intervals and writes the file. Site time zone: America/New_York (UTC-5 in March before DST),
so a 04:30 UTC interaction belongs to the previous local day in the Verint layout.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.audit_keys import TEST_AUDIT_KEYS_SETTING, open_test_store
from tests.store.builders import make_record

runner = CliRunner()

# id, started (UTC), queue, channel, pool, outcome, ai, queue wait, human s, csat
FACTS = [
    (
        "a",
        "2026-03-02T04:30:10+00:00",
        "billing",
        "voice",
        "human_only",
        "human_only",
        0,
        30,
        300,
        4,
    ),
    (
        "b",
        "2026-03-02T04:40:00+00:00",
        "billing",
        "voice",
        "ai_assisted",
        "escalated",
        60,
        20,
        200,
        None,
    ),
    (
        "c",
        "2026-03-02T04:44:59+00:00",
        "billing",
        "voice",
        "ai_contained",
        "contained",
        90,
        0,
        0,
        5,
    ),
    (
        "d",
        "2026-03-02T15:00:00+00:00",
        "billing",
        "chat",
        "human_only",
        "abandoned",
        0,
        45,
        0,
        None,
    ),
    (
        "e",
        "2026-03-02T15:01:00+00:00",
        "billing",
        "social",
        "ai_assisted",
        "escalated",
        30,
        10,
        100,
        2,
    ),
    (
        "f",
        "2026-03-02T15:02:00+00:00",
        "general",
        "chat",
        "ai_contained",
        "contained",
        40,
        0,
        0,
        None,
    ),
]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARMLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WARMLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("WARMLINE_WFM_SITE_TIMEZONE", "America/New_York")
    monkeypatch.setenv("WARMLINE_AUDIT_KEYS", TEST_AUDIT_KEYS_SETTING)  # the CLI's store too
    store = open_test_store(f"sqlite:///{(tmp_path / 'warmline.db').resolve()}")
    store.record_interactions(
        [
            make_record(
                iid,
                events=0,
                started_at=started,
                queue=queue,
                channel=channel,
                pool=pool,
                outcome=outcome,
                ai_seconds=float(ai),
                queue_seconds=float(wait),
                human_seconds=float(human),
                after_transfer_seconds=float(wait + human) if pool == "ai_assisted" else 0.0,
                csat=csat,
                intent="billing",
            )
            for iid, started, queue, channel, pool, outcome, ai, wait, human, csat in FACTS
        ]
    )
    store.close()
    return tmp_path


def export(layout: str, *extra: str) -> list[list[str]]:
    result = runner.invoke(
        app,
        ["wfm", "export", "--from", "2026-03-01", "--to", "2026-03-03", "--layout", layout, *extra],
    )
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.stdout)))


def test_genesys_cloud_layout(data_dir: Path) -> None:
    rows = export("genesys-cloud")
    assert rows[0] == [
        "Interval Start UTC Date",
        "Queue",
        "Media Type",
        "Skill Set",
        "Language",
        "Offered",
        "Interactions Handled",
        "Total Handle Time (Seconds)",
    ]
    # Human workload only (AI-contained c and f are not in it), per UTC interval x queue x media.
    assert rows[1:] == [
        ["2026-03-02T04:30:00Z", "billing", "voice", "", "", "2", "2", "500"],
        ["2026-03-02T15:00:00Z", "billing", "chat", "", "", "1", "0", "0"],
        ["2026-03-02T15:00:00Z", "billing", "message", "", "", "1", "1", "100"],
    ]


def test_verint_strategic_planner_layout_uses_site_days(data_dir: Path) -> None:
    rows = export("verint-strategic-planner")
    # Work queue name, M-D-YYYY, Volume, AHT (no header). 04:30 UTC is 23:30 on March 1 in
    # New York; the AHT is the mean human handle time of the day's human samples.
    assert rows == [
        ["billing", "3-1-2026", "2", "250"],
        ["billing", "3-2-2026", "2", "100"],
    ]


def test_generic_layout_every_column(data_dir: Path) -> None:
    rows = export("generic", "--interval-minutes", "30")
    header, body = rows[0], rows[1:]
    assert header[:7] == [
        "interval_start_utc",
        "interval_start_local",
        "interval_minutes",
        "queue",
        "channel",
        "intent",
        "pool",
    ]
    assert len(body) == 6
    by_pool = {(r[4], r[6]): dict(zip(header, r, strict=True)) for r in body}
    escalated = by_pool[("voice", "ai_assisted")]
    assert escalated == {
        "interval_start_utc": "2026-03-02T04:30:00Z",
        "interval_start_local": "2026-03-01T23:30:00-05:00",
        "interval_minutes": "30",
        "queue": "billing",
        "channel": "voice",
        "intent": "billing",
        "pool": "ai_assisted",
        "offered": "1",
        "handled": "1",
        "abandoned": "0",
        "deflected": "0",
        "callbacks": "0",
        "contained": "0",
        "escalated": "1",
        "ai_count": "1",
        "ai_mean_s": "60",
        "ai_p50_s": "90",  # one sample in the [60, 90) bucket: interpolated to its top
        "ai_p90_s": "90",
        "queue_wait_count": "1",
        "queue_wait_mean_s": "20",
        "queue_wait_p50_s": "30",
        "queue_wait_p90_s": "30",
        "human_count": "1",
        "human_mean_s": "200",
        "human_p50_s": "240",
        "human_p90_s": "240",
        "after_transfer_count": "1",
        "after_transfer_mean_s": "220",
        "after_transfer_p50_s": "240",
        "after_transfer_p90_s": "240",
        "containment_rate": "0",
        "csat_mean": "",
        "csat_count": "0",
        "cost_usd": "0",
    }
    contained = by_pool[("voice", "ai_contained")]
    assert contained["containment_rate"] == "1" and contained["csat_mean"] == "5"
    abandoned = by_pool[("chat", "human_only")]
    assert abandoned["abandoned"] == "1" and abandoned["handled"] == "0"
    assert abandoned["interval_start_local"] == "2026-03-02T10:00:00-05:00"


def test_bad_requests_are_refused_with_the_reason(data_dir: Path) -> None:
    def refused(*args: str) -> str:
        result = runner.invoke(app, ["wfm", "export", *args])
        assert result.exit_code != 0
        return result.output

    assert "unknown layout" in refused(
        "--from", "2026-03-01", "--to", "2026-03-02", "--layout", "x"
    )
    assert "after --from" in refused("--from", "2026-03-02", "--to", "2026-03-01")
    assert "366 days" in refused("--from", "2024-01-01", "--to", "2026-01-01")
    assert "time zone" in refused(
        "--from", "2026-03-01", "--to", "2026-03-02", "--timezone", "Mars/Olympus"
    )
    assert "not a date" in refused("--from", "yesterday", "--to", "2026-03-02")
