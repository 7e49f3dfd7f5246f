"""Per-turn customer sentiment from a small, readable lexicon.

Why a lexicon and not a model: the score is computed inside the workflow's per-turn path, so it
must be deterministic on replay, dependency-free and fast, and a supervisor must be able to see
why a turn scored the way it did. The rules follow the VADER idea in miniature: word valences,
negation flips, intensifiers scale, and shouting (all caps, "!!!") pushes towards anger.
"""

from __future__ import annotations

import math
import re

# Valences roughly on VADER's -4..4 scale; contact-center words only.
LEXICON: dict[str, float] = {
    # negative
    "terrible": -3.0,
    "useless": -2.5,
    "angry": -2.5,
    "ridiculous": -2.5,
    "worst": -3.0,
    "furious": -3.2,
    "unacceptable": -3.0,
    "waste": -2.0,
    "wasted": -2.0,
    "scam": -3.0,
    "hate": -3.0,
    "awful": -3.0,
    "horrible": -3.0,
    "pathetic": -3.0,
    "incompetent": -3.0,
    "disgusting": -3.0,
    "rubbish": -2.5,
    "stupid": -2.5,
    "sucks": -2.5,
    "frustrated": -2.5,
    "frustrating": -2.5,
    "disappointed": -2.0,
    "disappointing": -2.0,
    "annoyed": -2.0,
    "annoying": -2.0,
    "upset": -2.0,
    "unhappy": -2.0,
    "fed": -1.0,
    "joke": -1.5,
    "bad": -1.5,
    "poor": -1.5,
    "slow": -1.0,
    "wrong": -1.0,
    "never": -0.5,
    # positive
    "good": 1.5,
    "great": 2.0,
    "excellent": 3.0,
    "perfect": 2.5,
    "awesome": 2.5,
    "amazing": 2.5,
    "fantastic": 2.5,
    "wonderful": 2.5,
    "love": 2.5,
    "happy": 2.0,
    "helpful": 2.0,
    "appreciate": 2.0,
    "thanks": 1.5,
    "thank": 1.5,
    "nice": 1.5,
    "pleased": 2.0,
    "glad": 1.5,
    "resolved": 1.0,
    "easy": 1.0,
}

NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "hardly",
        "isn't",
        "isnt",
        "wasn't",
        "wasnt",
        "don't",
        "dont",
        "doesn't",
        "doesnt",
        "didn't",
        "didnt",
        "can't",
        "cant",
        "cannot",
        "won't",
        "wont",
        "aren't",
        "arent",
        "haven't",
        "havent",
    }
)
INTENSIFIERS: dict[str, float] = {
    "very": 1.5,
    "really": 1.5,
    "so": 1.4,
    "extremely": 1.8,
    "totally": 1.6,
    "absolutely": 1.7,
    "completely": 1.6,
    "incredibly": 1.7,
    "utterly": 1.8,
    "super": 1.5,
    "slightly": 0.6,
    "somewhat": 0.6,
    "bit": 0.6,
    "kinda": 0.6,
}

# Negation is asymmetric: "not good" is bad, but "not angry" is only faintly positive.
NEGATED_POSITIVE = -0.75
NEGATED_NEGATIVE = -0.3
NEGATION_WINDOW = 3  # tokens before a word that a negator still reaches
CAPS_WORD_BOOST = 1.5
SHOUTING_PENALTY = 1.5
EXCLAMATION_PENALTY = 0.75
EXCLAMATION_PENALTY_CAP = 2.0
NORMALIZATION_ALPHA = 15.0  # VADER's: maps a raw sum of about -3.9 to -0.7

_TOKEN_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[.!?;,]")
_CLAUSE_BREAK = frozenset(".!?;,")
_EXCLAMATION_RUN_RE = re.compile(r"!{2,}")
_CAPS_MIN_LETTERS = 12
_CAPS_MIN_RATIO = 0.7


def _word_valence(tokens: list[str], index: int) -> float:
    raw = tokens[index]
    valence = LEXICON.get(raw.lower(), 0.0)
    if valence == 0.0:
        return 0.0
    if raw.isupper() and len(raw) >= 2:
        valence *= CAPS_WORD_BOOST
    if index > 0:
        valence *= INTENSIFIERS.get(tokens[index - 1].lower(), 1.0)
    for back in range(index - 1, max(-1, index - 1 - NEGATION_WINDOW), -1):
        previous = tokens[back]
        if previous in _CLAUSE_BREAK:
            break
        if previous.lower() in NEGATORS:
            return valence * (NEGATED_POSITIVE if valence > 0 else NEGATED_NEGATIVE)
    return valence


def _is_shouting(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < _CAPS_MIN_LETTERS:
        return False
    return sum(ch.isupper() for ch in letters) / len(letters) >= _CAPS_MIN_RATIO


def _emphasis_penalty(text: str) -> float:
    penalty = EXCLAMATION_PENALTY * len(_EXCLAMATION_RUN_RE.findall(text))
    penalty = min(penalty, EXCLAMATION_PENALTY_CAP)
    if _is_shouting(text):
        penalty += SHOUTING_PENALTY
    return penalty


def raw_valence(text: str) -> float:
    """Unnormalized sum of word valences plus emphasis; useful when explaining a score."""
    tokens = _TOKEN_RE.findall(text)
    lexical = sum(_word_valence(tokens, i) for i in range(len(tokens)))
    # Shouting thanks ("THANK YOU SO MUCH!!!") is delight, not anger: emphasis only
    # pushes text that is not already positive.
    if lexical <= 0.0:
        lexical -= _emphasis_penalty(text)
    return lexical


def sentiment_score(text: str) -> float:
    """Sentiment of one customer turn in [-1, 1]; 0.0 means neutral or no signal."""
    raw = raw_valence(text)
    if raw == 0.0:
        return 0.0
    score = raw / math.sqrt(raw * raw + NORMALIZATION_ALPHA)
    return max(-1.0, min(1.0, score))
