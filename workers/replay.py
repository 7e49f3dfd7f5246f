"""Replaying recorded histories against today's workflow code, for every Warmline workflow type.

A release records a corpus of closed histories (``warmline corpus record``); the next release's
test command replays it here (``tests/replay/test_previous_release.py``) and fails on any
non-determinism, so a workflow change that would break runs in flight is caught before deploy,
whatever their versioning behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.converter import BOUNDARY_CONVERTER
from workers import fleet, interaction, supervision
from workflows.boundary import BoundaryInterceptor

WORKFLOWS: Final[list[type]] = [*interaction.WORKFLOWS, *fleet.WORKFLOWS, *supervision.WORKFLOWS]
WORKFLOW_TYPES: Final = tuple(sorted(w.__name__ for w in WORKFLOWS))
MANIFEST: Final = "corpus.json"


@dataclass(frozen=True)
class ReplayOutcome:
    replayed: dict[str, int]
    """Histories replayed per workflow type."""
    failures: dict[str, str]
    """File name -> what went wrong."""


def workflow_type_of(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def corpus_file_name(workflow_id: str, run_id: str) -> str:
    """``<workflow id>.<run id>.json``: the history JSON itself does not hold the workflow id,
    and a run id (a UUID) has no dot, so the id is recovered from the name."""
    return f"{workflow_id}.{run_id}.json"


def warmline_replayer(workflows: Sequence[type] | None = None) -> Replayer:
    """Replays histories as a Warmline worker runs them: the boundary's converter and
    interceptor, payloads in clear (recorded histories are saved decrypted)."""
    return Replayer(
        workflows=workflows or WORKFLOWS,
        data_converter=BOUNDARY_CONVERTER,
        interceptors=[BoundaryInterceptor()],
    )


def load_corpus(directory: Path) -> list[tuple[str, WorkflowHistory]]:
    """Every ``*.json`` history under ``directory`` (the manifest excepted), by file name."""
    histories = []
    for path in sorted(directory.rglob("*.json")):
        if path.name == MANIFEST:
            continue
        workflow_id = path.stem.rsplit(".", 1)[0]
        text = path.read_text(encoding="utf-8")
        histories.append((path.name, WorkflowHistory.from_json(workflow_id, text)))
    return histories


async def replay_histories(
    histories: Iterable[tuple[str, WorkflowHistory]], workflows: list[type] | None = None
) -> ReplayOutcome:
    """Replay each history on today's workflows (or ``workflows``); collects every failure
    instead of stopping at the first."""
    replayer = warmline_replayer(workflows)
    named = list(histories)
    names = {id(history): name for name, history in named}

    async def each() -> AsyncIterator[WorkflowHistory]:
        for _, history in named:
            yield history

    replayed: dict[str, int] = {}
    failures: dict[str, str] = {}
    async with replayer.workflow_replay_iterator(each()) as results:
        async for result in results:
            kind = workflow_type_of(result.history)
            replayed[kind] = replayed.get(kind, 0) + 1
            if result.replay_failure is not None:
                failures[names[id(result.history)]] = str(result.replay_failure)
    return ReplayOutcome(replayed=replayed, failures=failures)
