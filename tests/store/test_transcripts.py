"""Transcript archive: one row per run, idempotent, read back in run order."""

from __future__ import annotations

from models.facts import ArchiveTranscript
from models.interaction import Sender, TranscriptEntry
from store import Store


def _entries(run: int, count: int = 2) -> list[TranscriptEntry]:
    return [
        TranscriptEntry(
            turn=run * 10 + n,
            sender=Sender.CUSTOMER if n % 2 else Sender.AI,
            text=f"run {run} turn {n} ✓",
            at=f"2025-01-01T10:{run:02d}:{n:02d}Z",
        )
        for n in range(count)
    ]


def test_archive_is_idempotent_per_run(store: Store) -> None:
    archive = ArchiveTranscript(interaction_id="i-1", run_index=0, entries=_entries(0))
    assert store.archive_transcript(archive) is True
    assert store.archive_transcript(archive) is False
    changed = archive.model_copy(update={"entries": _entries(0, 5)})
    assert store.archive_transcript(changed) is False  # first write wins
    assert store.archived_transcript("i-1") == archive.entries


def test_runs_come_back_in_order(store: Store) -> None:
    for run in (2, 0, 1):
        store.archive_transcript(
            ArchiveTranscript(interaction_id="i-1", run_index=run, entries=_entries(run))
        )
    store.archive_transcript(ArchiveTranscript(interaction_id="i-2", run_index=0, entries=[]))
    assert store.archived_transcript("i-1") == _entries(0) + _entries(1) + _entries(2)
    assert store.archived_transcript("i-2") == []
    assert store.archived_transcript("missing") == []


def test_runs_before_a_run_leave_that_run_and_later_ones_out(store: Store) -> None:
    for run in (0, 1, 2):
        store.archive_transcript(
            ArchiveTranscript(interaction_id="i-1", run_index=run, entries=_entries(run))
        )
    assert store.archived_transcript("i-1", before_run=2) == _entries(0) + _entries(1)
    assert store.archived_transcript("i-1", before_run=0) == []
