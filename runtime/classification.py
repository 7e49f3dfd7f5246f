"""Classification of concurrent first messages on one inference thread, in micro-batches.

Why: every new interaction classifies its first message, and a busy worker has dozens starting
at once. Handing each to its own thread (``asyncio.to_thread``) lets them all run the encoder
at the same time: each calling thread brings its own OpenMP team, so on a two-core worker eight
concurrent calls mean sixteen compute threads thrashing two cores, and each call pays a full
forward pass. Through :class:`~runtime.batching.MicroBatcher` one thread owns the model and
a burst of messages shares one padded forward pass, several times cheaper per utterance, while
a lone message on an idle worker is classified at once.

``prefetch`` starts a classification that a triage is known to ask for next (a later turn
admitted by the turn gate, whose intent check follows the screen): the forward pass then runs
while the workflow moves on, and ``classify_async`` for that text takes its result.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from models.routing import Classification
from runtime.batching import MicroBatcher

MAX_BATCH = 32
"""Utterances per forward pass: enough to drain a burst, small enough to bound one pass."""
ONE_THREAD_BATCH = 8
"""Utterances up to which a pass runs on one thread (``_classify_batch``)."""
AHEAD_KEPT = 256
"""Prefetched classifications kept for their triage; the oldest unclaimed one is dropped."""


class IntentClassifier(Protocol):
    """What the triage step needs of a classifier; the transformers model satisfies it."""

    @property
    def version(self) -> str: ...

    def classify(self, text: str) -> Classification: ...


@runtime_checkable
class BatchCapable(Protocol):
    def classify_batch(self, texts: Sequence[str]) -> list[Classification]: ...


class BatchingClassifier:
    """A classifier whose ``classify_async`` batches concurrent callers; ``close()`` once."""

    def __init__(self, model: IntentClassifier, max_batch: int = MAX_BATCH) -> None:
        self.model = model
        self._batch = model.classify_batch if isinstance(model, BatchCapable) else self._one_by_one
        self.batcher: MicroBatcher[str, Classification] = MicroBatcher(
            "warmline-classifier", self._classify_batch, model.classify, max_batch
        )
        self._ahead: OrderedDict[str, asyncio.Future[Classification]] = OrderedDict()

    async def classify_async(self, text: str) -> Classification:
        ahead = self._ahead.pop(text, None)
        if ahead is not None and ahead.get_loop() is asyncio.get_running_loop():
            try:
                return await ahead
            except Exception:  # classified anew below, failing (or not) on its own
                pass
        return await self.batcher.submit(text)

    def prefetch(self, text: str) -> None:
        """Start classifying ``text`` now for a ``classify_async`` to come (same event loop)."""
        if text in self._ahead:
            return
        ahead = asyncio.ensure_future(self.batcher.submit(text))
        ahead.add_done_callback(_retrieved)
        self._ahead[text] = ahead
        while len(self._ahead) > AHEAD_KEPT:
            self._ahead.popitem(last=False)

    def discard(self, text: str) -> None:
        """Drop the unclaimed prefetch of ``text``: its turn was stopped, so nobody will read
        it. A pass not yet begun is then skipped (``MicroBatcher``), and a flood of refused
        messages queues no forward passes behind a busy classifier. (A turn elsewhere that
        sent the same words at the same moment classifies them anew.)"""
        ahead = self._ahead.pop(text, None)
        if ahead is not None:
            ahead.cancel()

    def prefetched(self, text: str) -> bool:
        """A classification of ``text`` was started and is not claimed yet."""
        return text in self._ahead

    def close(self) -> None:
        self.batcher.close()

    def _classify_batch(self, texts: Sequence[str]) -> list[Classification]:
        """A pass of up to ``ONE_THREAD_BATCH`` utterances runs on this thread alone: a second
        thread cut its time by a quarter to a third for a quarter to a half more CPU (2 and 8
        utterances, bundled model), which a loaded worker's other work then lacks (larger
        bursts keep the configured threads, for the latency of the first answers)."""
        if len(texts) > ONE_THREAD_BATCH:
            return self._batch(texts)
        from classifier.encoder import one_thread  # here: importing this module loads no torch

        with one_thread():
            return self._batch(texts)

    def _one_by_one(self, texts: Sequence[str]) -> list[Classification]:
        return [self.model.classify(text) for text in texts]


def _retrieved(future: asyncio.Future[Classification]) -> None:
    """An unclaimed prefetch's failure is not an error of anyone's (its triage retries)."""
    if not future.cancelled():
        future.exception()
