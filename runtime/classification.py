"""Classification of concurrent first messages on one inference thread, in micro-batches.

Why: every new interaction classifies its first message, and a busy worker has dozens starting
at once. Handing each to its own thread (``asyncio.to_thread``) lets them all run the encoder
at the same time: each calling thread brings its own OpenMP team, so on a two-core worker eight
concurrent calls mean sixteen compute threads thrashing two cores, and each call pays a full
forward pass. Through :class:`~runtime.batching.MicroBatcher` one thread owns the model and
a burst of messages shares one padded forward pass, several times cheaper per utterance, while
a lone message on an idle worker is classified at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from models.routing import Classification
from runtime.batching import MicroBatcher

MAX_BATCH = 32
"""Utterances per forward pass: enough to drain a burst, small enough to bound one pass."""


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
        batch = model.classify_batch if isinstance(model, BatchCapable) else self._one_by_one
        self.batcher: MicroBatcher[str, Classification] = MicroBatcher(
            "warmline-classifier", batch, model.classify, max_batch
        )

    async def classify_async(self, text: str) -> Classification:
        return await self.batcher.submit(text)

    def close(self) -> None:
        self.batcher.close()

    def _one_by_one(self, texts: Sequence[str]) -> list[Classification]:
        return [self.model.classify(text) for text in texts]
