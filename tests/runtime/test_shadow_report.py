"""Shadow reports from the store with the real bundled MiniLM: agreement is semantic, what
production did comes from the facts, and the judge's verdict follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models.ai import ShadowAnswer
from models.shadow import ShadowGate, ShadowReportRequest, ShadowVerdict
from runtime.shadow_report import ShadowReporter, minilm_similarity
from store import Store
from tests.audit_keys import open_test_store
from tests.store.builders import make_record

SHADOW = "care-bot:2026.11"
LIVE = "Your parcel left our warehouse yesterday and should arrive on Friday."
CLOSE = "The package shipped yesterday; you can expect it to arrive Friday."
FAR = "Our stores open at nine in the morning on weekdays."


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def reporter_similarity() -> object:
    return minilm_similarity()


def answer(iid: str, turn: int, text: str | None, **fields: object) -> ShadowAnswer:
    values: dict[str, object] = {
        "interaction_id": iid,
        "turn": turn,
        "endpoint": SHADOW,
        "live_model_version": "2026.10",
        "live_text": LIVE,
        "shadow_text": text,
        "shadow_action": "reply",
        "latency_ms": 120.0,
        "cost_usd": 0.0004,
        **fields,
    }
    return ShadowAnswer.model_validate(values)


def test_agreement_is_semantic_and_escalation_comes_from_the_facts(
    store: Store, reporter_similarity: object
) -> None:
    store.record_interaction(
        make_record(
            "esc",
            outcome="escalated",
            escalation_trigger="ai_requested",
            ai_calls=2,
            ai_latency_ms_total=200.0,
            cost_usd=0.0008,
        )
    )
    store.record_shadow_answer(answer("esc", 1, CLOSE))
    store.record_shadow_answer(answer("esc", 2, CLOSE))  # production escalated here, shadow not
    store.record_shadow_answer(answer("far", 1, FAR))
    store.record_shadow_answer(answer("down", 1, None, error="timeout: read"))
    store.record_shadow_answer(answer("other", 1, CLOSE, endpoint="care-bot:2027.1"))
    reporter = ShadowReporter(store, similarity=lambda: reporter_similarity)  # type: ignore[arg-type,return-value]
    report = reporter.report(ShadowReportRequest(endpoint=SHADOW, gate=ShadowGate(min_answers=3)))
    assert (report.answers, report.errors, report.compared) == (4, 1, 3)
    assert report.live_escalated_shadow_replied == 1
    assert report.live_latency_ms_mean == 100.0
    assert report.p10_agreement is not None and report.p10_agreement < 0.4  # the far answer
    assert report.mean_agreement is not None and report.mean_agreement > 0.55
    assert report.verdict is ShadowVerdict.FAILED
    assert any("escalation differs" in r for r in report.reasons)


def test_no_answers_is_inconclusive_without_loading_the_encoder(store: Store) -> None:
    def never() -> object:
        raise AssertionError("the encoder was loaded for nothing")

    reporter = ShadowReporter(store, similarity=never)  # type: ignore[arg-type]
    report = reporter.report(ShadowReportRequest(endpoint=SHADOW))
    assert report.verdict is ShadowVerdict.INCONCLUSIVE and report.answers == 0
