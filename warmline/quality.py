"""Semantic quality of AI replies: the failures that come back as HTTP 200.

An AI agent can answer every call in 300 ms and still be broken: hedging ("I'm not sure, could
you rephrase?"), emitting garbage, or looping (the same answer again and again while the
customer gets nowhere, burning tokens). Infrastructure metrics never see this, so each reply is
judged here, cheaply (token sets, one regex), against the last few replies of its conversation.

Judgements are heuristics with named thresholds, not a model: they are there to notice a
systematic shift across many conversations (which the breaker turns into Degraded), not to
grade a single answer.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from warmline.health import ReplySample

HEDGES = re.compile(
    r"\b(i'?m not sure|i am not sure|could you rephrase|can you rephrase|please rephrase|"
    r"i don'?t understand|i do not understand|i can'?t help with that|i cannot help with that|"
    r"as an ai( language model)?|i'?m unable to (help|answer)|please clarify)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9']+")
_MARKUP = re.compile(r'^\s*[{\[<]|"\w+"\s*:')
"""A reply that opens like JSON or markup, or carries JSON keys, is a leaked payload."""
MIN_REPLY_CHARS = 8
MIN_LETTER_SHARE = 0.5
"""Below this share of letters a reply is noise (JSON fragments, symbols, base64)."""
MIN_DISTINCT_WORD_SHARE = 0.3
"""A reply of 8+ words with fewer distinct words than this is degenerate repetition."""
NEAR_IDENTICAL = 0.8
"""Jaccard similarity of word sets at or above which two replies say the same thing."""
ACTIONS_THAT_PROGRESS = frozenset({"resolve", "escalate"})


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def is_low_quality(text: str) -> bool:
    """Flags from the answer itself: too short, noise or markup, degenerate, or a hedge."""
    stripped = text.strip()
    if len(stripped) < MIN_REPLY_CHARS:
        return True
    letters = sum(ch.isalpha() for ch in stripped)
    if letters / len(stripped) < MIN_LETTER_SHARE or _MARKUP.search(stripped):
        return True
    tokens = words(stripped)
    if len(tokens) >= 8 and len(set(tokens)) / len(tokens) < MIN_DISTINCT_WORD_SHARE:
        return True
    return HEDGES.search(stripped) is not None


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class QualityConfig:
    memory: int = 3
    """Replies per conversation a new reply is compared with."""
    loop_turns: int = 3
    """Consecutive replies without progress that make a reasoning loop (at 2, healthy
    simulated traffic that answers a follow-up the same way already shows 22% "loops")."""
    max_conversations: int = 10_000
    """Conversations remembered (least recently seen are forgotten first)."""


@dataclass
class _Conversation:
    recent: deque[frozenset[str]] = field(default_factory=deque)
    stalled: int = 0
    looped: bool = False


class ConversationTracker:
    """Per-conversation memory of the last replies; bounded, O(reply length) per reply."""

    def __init__(self, config: QualityConfig | None = None) -> None:
        self.config = config or QualityConfig()
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._conversations)

    def observe(
        self, at: float, conversation_key: str, text: str, action: str, tokens: int
    ) -> ReplySample:
        """Judge one reply against its conversation and remember it."""
        conversation = self._conversations.get(conversation_key)
        new = conversation is None
        if conversation is None:
            conversation = _Conversation(recent=deque(maxlen=self.config.memory))
            self._conversations[conversation_key] = conversation
            if len(self._conversations) > self.config.max_conversations:
                self._conversations.popitem(last=False)
        else:
            self._conversations.move_to_end(conversation_key)
        signature = frozenset(words(text))
        repeated = any(
            similarity(signature, seen) >= NEAR_IDENTICAL for seen in conversation.recent
        )
        closing = action in ACTIONS_THAT_PROGRESS
        low = not closing and is_low_quality(text)
        progress = closing or not (repeated or low)
        conversation.recent.append(signature)
        conversation.stalled = 0 if progress else conversation.stalled + 1
        loop = not conversation.looped and conversation.stalled >= self.config.loop_turns
        conversation.looped = conversation.looped or loop
        return ReplySample(
            at=at,
            tokens=max(0, tokens),
            low_quality=low,
            repeated=repeated,
            progress=progress,
            new_conversation=new,
            loop_detected=loop,
        )

    def forget(self, conversation_key: str) -> None:
        """Drop a closed conversation (its outcome has been recorded)."""
        self._conversations.pop(conversation_key, None)

    def clear(self) -> None:
        self._conversations.clear()
