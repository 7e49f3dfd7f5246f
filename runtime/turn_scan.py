"""The local models every customer turn passes through, owned by the worker process.

One thread owns both models (``MicroBatcher``), so concurrent turns share padded forward
passes instead of each bringing its own OpenMP team to two cores (the reason
``runtime.classification`` batches too). The models load from local files once per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from models.redaction import ModelSpan
from models.safety import InjectionScore, TurnScan
from runtime.batching import MicroBatcher

MAX_BATCH = 32


class SpanTagger(Protocol):
    version: str

    def find_batch(self, texts: Sequence[str]) -> list[list[ModelSpan]]: ...


class InjectionScorer(Protocol):
    def score_batch(self, texts: Sequence[str]) -> list[InjectionScore]: ...


class TurnScanner:
    """``scan_async(text)`` from any event loop; ``close()`` once when the worker stops."""

    def __init__(self, tagger: SpanTagger, detector: InjectionScorer) -> None:
        self.tagger = tagger
        self.detector = detector
        self.batcher: MicroBatcher[str, TurnScan] = MicroBatcher(
            "warmline-turn-scan", self.scan_batch, lambda text: self.scan_batch([text])[0],
            MAX_BATCH,
        )  # fmt: skip

        self.injections: MicroBatcher[str, InjectionScore] = MicroBatcher(
            "warmline-injection", detector.score_batch,
            lambda text: detector.score_batch([text])[0], MAX_BATCH,
        )  # fmt: skip
        self.names: MicroBatcher[str, list[ModelSpan]] = MicroBatcher(
            "warmline-names", tagger.find_batch, lambda text: tagger.find_batch([text])[0],
            MAX_BATCH,
        )  # fmt: skip

    def scan_batch(self, texts: Sequence[str]) -> list[TurnScan]:
        spans = self.tagger.find_batch(texts)
        scores = self.detector.score_batch(texts)
        return [
            TurnScan(spans=found, injection=score, tagger_version=self.tagger.version)
            for found, score in zip(spans, scores, strict=True)
        ]

    async def scan_async(self, text: str) -> TurnScan:
        return await self.batcher.submit(text)

    async def injection_async(self, text: str) -> InjectionScore:
        """The injection score alone (the message to an AI is redacted by patterns already)."""
        return await self.injections.submit(text)

    async def spans_many(self, texts: Sequence[str]) -> list[list[ModelSpan]]:
        """Names and addresses of each text (what a record writes at rest): the texts ride
        in the tagger's batches with whatever other interactions send at the same moment."""
        found = await asyncio.gather(
            *(self.names.submit(text) for text in texts), return_exceptions=True
        )
        for result in found:
            if isinstance(result, BaseException):
                raise result
        return [result for result in found if not isinstance(result, BaseException)]

    def close(self) -> None:
        self.batcher.close()
        self.injections.close()
        self.names.close()


def load_turn_scanner() -> TurnScanner:
    """The bundled tagger and detector (local files only)."""
    from classifier.injection.detector import load_shared_detector
    from classifier.pii.tagger import load_shared_tagger

    return TurnScanner(load_shared_tagger(), load_shared_detector())
