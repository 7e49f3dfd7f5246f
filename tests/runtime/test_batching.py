"""Micro-batching: lone requests at once, bursts in one pass, failures isolated, clean close."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
import torch

from classifier import load_shared
from models.routing import Classification
from runtime.batching import MicroBatcher
from runtime.classification import ONE_THREAD_BATCH, BatchingClassifier


class Recorder:
    """Doubles numbers; holds its first pass until released so a burst can queue behind it."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def _hold(self) -> None:
        self.started.set()
        assert self.release.wait(timeout=10)

    def batch(self, items: Sequence[int]) -> list[int]:
        self._hold()
        if any(i < 0 for i in items):
            raise ValueError("negative in batch")
        self.batches.append(list(items))
        return [i * 2 for i in items]

    def one(self, item: int) -> int:
        self._hold()
        if item < 0:
            raise ValueError(f"negative: {item}")
        self.singles.append(item)
        return item * 2


def _batcher(recorder: Recorder, max_batch: int = 32) -> MicroBatcher[int, int]:
    return MicroBatcher("test-batcher", recorder.batch, recorder.one, max_batch)


@asynccontextmanager
async def held(max_batch: int = 32) -> AsyncIterator[tuple[Recorder, MicroBatcher[int, int]]]:
    """A batcher whose first pass (item 0) is in progress and held until ``release`` is set."""
    recorder = Recorder(hold_first=True)
    batcher = _batcher(recorder, max_batch)
    first = asyncio.ensure_future(batcher.submit(0))
    assert await asyncio.to_thread(recorder.started.wait, 10)
    try:
        yield recorder, batcher
        assert await first == 0
    finally:
        recorder.release.set()
        await asyncio.to_thread(batcher.close)


async def enqueue(batcher: MicroBatcher[int, int], items: list[int]) -> list[asyncio.Task[int]]:
    """Submit ``items`` and return once every one is queued behind the held pass."""
    tasks = [asyncio.ensure_future(batcher.submit(i)) for i in items]
    while batcher._queue.qsize() < len(items):
        await asyncio.sleep(0)  # a yield to the submitting tasks, not a timed wait
    return tasks


async def test_a_lone_request_is_handled_at_once_on_its_own() -> None:
    recorder = Recorder()
    batcher = _batcher(recorder)
    try:
        assert await batcher.submit(21) == 42
        assert recorder.singles == [21] and recorder.batches == []
    finally:
        await asyncio.to_thread(batcher.close)


async def test_a_burst_behind_a_busy_pass_shares_one_pass_in_order() -> None:
    async with held() as (recorder, batcher):
        burst = await enqueue(batcher, list(range(1, 11)))
        recorder.release.set()
        assert await asyncio.gather(*burst) == [i * 2 for i in range(1, 11)]
        assert recorder.batches == [list(range(1, 11))]
        assert (batcher.passes, batcher.items) == (2, 11)


async def test_max_batch_bounds_a_pass() -> None:
    async with held(max_batch=4) as (recorder, batcher):
        burst = await enqueue(batcher, list(range(1, 10)))
        recorder.release.set()
        assert await asyncio.gather(*burst) == [i * 2 for i in range(1, 10)]
        assert [len(b) for b in recorder.batches] == [4, 4] and recorder.singles[-1] == 9


async def test_a_bad_item_fails_alone_and_the_rest_of_its_batch_succeeds() -> None:
    async with held() as (recorder, batcher):
        good, bad, other = await enqueue(batcher, [3, -1, 4])
        recorder.release.set()
        assert await good == 6 and await other == 8
        with pytest.raises(ValueError, match="negative: -1"):
            await bad


async def test_close_finishes_queued_work_then_refuses_more() -> None:
    async with held() as (recorder, batcher):
        (queued,) = await enqueue(batcher, [2])
        closing = asyncio.ensure_future(asyncio.to_thread(batcher.close))
        recorder.release.set()
        assert await queued == 4
        await closing
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.submit(3)


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    """Its item is skipped (nobody would read the result); the rest of the burst is served."""
    async with held() as (recorder, batcher):
        gone, kept = await enqueue(batcher, [2, 3])
        gone.cancel()
        recorder.release.set()
        assert await kept == 6
        assert gone.cancelled()
    assert 2 not in recorder.singles + [i for b in recorder.batches for i in b]
    assert (batcher.skipped, batcher.items) == (1, 2)  # the held 0, then 3 alone


async def test_batched_classification_matches_one_at_a_time() -> None:
    default_model = load_shared()
    texts = [
        "I forgot my password and cannot log in",
        "why is there a second charge on my bill",
        "I want my money back for the broken headphones",
        "please close my account",
        "what is the weather in Lisbon",
    ] * 4
    classifier = BatchingClassifier(default_model)
    try:
        results = await asyncio.gather(*(classifier.classify_async(t) for t in texts))
    finally:
        await asyncio.to_thread(classifier.close)
    assert classifier.batcher.passes < len(texts)  # the burst really was batched
    for text, result in zip(texts, results, strict=True):
        alone = default_model.classify(text)
        assert (result.intent, result.out_of_scope) == (alone.intent, alone.out_of_scope)
        assert abs(result.confidence - alone.confidence) < 0.02
        assert result.model_version == default_model.version


async def test_a_prefetched_classification_is_the_one_its_triage_gets() -> None:
    """One classification for a prefetch and the classify that claims it; the answer is the
    model's own, a claimed prefetch is not reused, and another text's is not taken."""
    default_model = load_shared()
    classifier = BatchingClassifier(default_model)
    text = "why is there a second charge on my bill"
    try:
        classifier.prefetch(text)
        classifier.prefetch(text)  # asked twice: still one classification
        result = await classifier.classify_async(text)
        assert classifier.batcher.items == 1
        classifier.prefetch("please close my account")  # not claimed by the next classify
        again = await classifier.classify_async(text)  # its prefetch was used up: a new one
        await classifier.classify_async("please close my account")  # claims its prefetch
        assert classifier.batcher.items == 3
    finally:
        await asyncio.to_thread(classifier.close)
    alone = default_model.classify(text)
    assert (result.intent, result.confidence) == (alone.intent, alone.confidence)
    assert again == result


class _HeldModel:
    """Classifies nothing until released, noting what it was asked."""

    version = "held"

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def classify(self, text: str) -> Classification:
        self.started.set()
        assert self.release.wait(timeout=10)
        self.asked.append(text)
        return Classification(intent="billing", confidence=0.9, model_version=self.version)


async def test_a_discarded_prefetch_queued_behind_a_pass_is_never_classified() -> None:
    """A turn stopped by the limits or the screen drops its prefetch: behind a busy pass it
    costs no forward pass, and the same words asked later are classified anew."""
    model = _HeldModel()
    classifier = BatchingClassifier(model)
    try:
        classifier.prefetch("first turn")
        assert await asyncio.to_thread(model.started.wait, 10)
        classifier.prefetch("refused turn")
        while classifier.batcher._queue.qsize() < 1:
            await asyncio.sleep(0)  # a yield to the submitting task, not a timed wait
        classifier.discard("refused turn")
        assert not classifier.prefetched("refused turn")
        model.release.set()
        await classifier.classify_async("first turn")
        assert model.asked == ["first turn"] and classifier.batcher.skipped == 1
        await classifier.classify_async("refused turn")
        assert model.asked == ["first turn", "refused turn"]
        classifier.discard("never prefetched")  # nothing to drop: no error
    finally:
        model.release.set()
        await asyncio.to_thread(classifier.close)


class _ThreadsSeen:
    """The bundled model, noting torch's thread count in each batched pass."""

    def __init__(self) -> None:
        self.model = load_shared()
        self.version = self.model.version
        self.seen: list[tuple[int, int]] = []

    def classify(self, text: str) -> Classification:
        return self.model.classify(text)

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]:
        self.seen.append((len(texts), torch.get_num_threads()))
        return self.model.classify_batch(texts)


@pytest.mark.usefixtures("two_torch_threads")
def test_a_small_pass_runs_on_one_thread_and_a_burst_keeps_the_configured_ones() -> None:
    spy = _ThreadsSeen()
    classifier = BatchingClassifier(spy)
    try:
        texts = [f"where is order {n}?" for n in range(ONE_THREAD_BATCH + 1)]
        small = classifier._classify_batch(texts[:2])
        burst = classifier._classify_batch(texts)
        assert spy.seen == [(2, 1), (ONE_THREAD_BATCH + 1, 2)]
        assert torch.get_num_threads() == 2
        assert small == burst[:2]
    finally:
        classifier.close()
