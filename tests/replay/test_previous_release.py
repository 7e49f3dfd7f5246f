"""The previous release's histories replay on this code: the deploy gate for workflow changes.

``tests/replay/previous_release`` holds closed histories of every Warmline workflow type,
recorded with ``warmline corpus record`` from the release before this one (its manifest names
it). Any non-determinism a change introduces (a reordered activity, a removed timer, an
unguarded new command) fails here, before workers carrying it meet runs in flight. Replace
the corpus at each release, after the release's own tests pass (README "Safe deploys").
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow

from workers.replay import MANIFEST, WORKFLOW_TYPES, load_corpus, replay_histories

CORPUS = Path(__file__).parent / "previous_release"
MAX_TOTAL_BYTES = 3_000_000


def manifest() -> dict[str, object]:
    data = json.loads((CORPUS / MANIFEST).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_corpus_covers_every_workflow_type_and_stays_small() -> None:
    counts = manifest()["histories"]
    assert isinstance(counts, dict)
    assert set(counts) == set(WORKFLOW_TYPES)
    assert all(count > 0 for count in counts.values())
    assert sum(p.stat().st_size for p in CORPUS.rglob("*.json")) < MAX_TOTAL_BYTES


async def test_previous_release_histories_replay_on_this_code() -> None:
    outcome = await replay_histories(load_corpus(CORPUS))
    assert not outcome.failures, outcome.failures
    assert outcome.replayed == manifest()["histories"]


@workflow.defn(name="InteractionWorkflow", sandboxed=False)
class ChangedInteraction:
    """An incompatible change: waits on a timer where the released code did something else."""

    @workflow.run
    async def run(self, _: object) -> None:
        await workflow.sleep(timedelta(seconds=1))


async def test_the_gate_fails_on_a_non_deterministic_change() -> None:
    interactions = [
        (name, history)
        for name, history in load_corpus(CORPUS / "InteractionWorkflow")
        if len(history.events) > 5
    ][:3]
    if not interactions:
        pytest.fail("the corpus has no InteractionWorkflow history to replay")
    outcome = await replay_histories(interactions, workflows=[ChangedInteraction])
    assert set(outcome.failures) == {name for name, _ in interactions}
    assert all("ondetermin" in error for error in outcome.failures.values())
