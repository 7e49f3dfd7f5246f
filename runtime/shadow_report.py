"""Shadow reports: the stored answers of a shadow version, paired with production's, scored with
the local sentence encoder and judged (``warmline.shadow_judge``).

The encoder is the bundled all-MiniLM-L6-v2 (``classifier.encoder``), loaded once per process
on first use: the API (``warmline fleet shadow-report``) and the fleet worker (the canary's
shadow gate) each hold one. Both sides' texts were redacted before they were stored.

What production did on a turn comes from the interaction's facts, which are written at close:
production's AI asked for a human on the shadowed turn when the interaction escalated on the
AI's own request (``ai_requested``) and that turn was the last one shadowed; its latency and
cost are the interaction's means per AI turn. Interactions still open count with no
escalation and no production latency or cost.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from models.ai import ShadowAnswer
from models.facts import InteractionFacts
from models.shadow import ShadowPair, ShadowReport, ShadowReportRequest
from store.learning import ShadowStore
from store.repository import Store
from warmline.shadow_judge import judge

AI_REQUESTED = "ai_requested"


class Similarity(Protocol):
    def __call__(self, left: Sequence[str], right: Sequence[str]) -> list[float]: ...


def minilm_similarity() -> Similarity:
    """Cosine similarity of the bundled MiniLM's embeddings, pair by pair."""
    from classifier.encoder import SentenceEncoder, bundled_encoder_path

    encoder = SentenceEncoder(bundled_encoder_path())

    def similarity(left: Sequence[str], right: Sequence[str]) -> list[float]:
        if not left:
            return []
        a, b = encoder.embed(list(left)), encoder.embed(list(right))
        return [round(float(v), 4) for v in (a * b).sum(dim=-1)]

    return similarity


class ShadowReporter:
    """One per process; thread-safe (callers run it with ``asyncio.to_thread``)."""

    def __init__(
        self, store: Store, similarity: Callable[[], Similarity] = minilm_similarity
    ) -> None:
        self._shadows = ShadowStore(store)
        self._load = similarity
        self._similarity: Similarity | None = None
        self._lock = threading.Lock()

    def report(self, request: ShadowReportRequest) -> ShadowReport:
        since = datetime.fromisoformat(request.since) if request.since else None
        answers = self._shadows.shadow_answers(request.endpoint, since, request.limit)
        facts = self._shadows.facts_of({a.interaction_id for a in answers})
        pairs = pair_answers(answers, facts)
        both = [i for i, p in enumerate(pairs) if p.shadow_text and p.error is None]
        if both:
            with self._lock:  # one inference at a time per process: two cores, shared
                scores = self._scorer_unlocked()(
                    [pairs[i].live_text for i in both], [pairs[i].shadow_text or "" for i in both]
                )
            for index, score in zip(both, scores, strict=True):
                pairs[index].agreement = score
        return judge(request.endpoint, pairs, request.gate)

    def _scorer_unlocked(self) -> Similarity:
        if self._similarity is None:
            self._similarity = self._load()
        return self._similarity


def pair_answers(
    answers: Sequence[ShadowAnswer], facts: dict[str, InteractionFacts]
) -> list[ShadowPair]:
    """Each answer beside what production did on that turn (see the module's note)."""
    last_turn: dict[str, int] = defaultdict(int)
    for answer in answers:
        last_turn[answer.interaction_id] = max(last_turn[answer.interaction_id], answer.turn)
    pairs = []
    for answer in answers:
        fact = facts.get(answer.interaction_id)
        escalated = (
            fact is not None
            and fact.outcome == "escalated"
            and fact.escalation_trigger == AI_REQUESTED
            and answer.turn == last_turn[answer.interaction_id]
        )
        calls = fact.ai_calls if fact is not None else 0
        pairs.append(
            ShadowPair(
                interaction_id=answer.interaction_id,
                turn=answer.turn,
                intent=fact.intent if fact is not None else None,
                live_model_version=answer.live_model_version,
                live_text=answer.live_text,
                shadow_text=answer.shadow_text,
                shadow_action=answer.shadow_action,
                live_escalated=escalated,
                error=answer.error,
                shadow_latency_ms=answer.latency_ms,
                shadow_cost_usd=answer.cost_usd,
                live_latency_ms=fact.ai_latency_ms_total / calls if fact and calls else None,
                live_cost_usd=fact.cost_usd / calls if fact and calls else None,
            )
        )
    return pairs
