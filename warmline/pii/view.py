"""A normalised view of a message for the patterns, with a way back to the original offsets.

Customers (and scripts trying to get past a filter) write numbers in ways no single pattern
expects: zero-width spaces inside a card number, full-width digits and at signs, other scripts'
digits, "four one one one ...". The view undoes these so the patterns see plain ASCII digits,
and every character of the view remembers which original characters it came from, so spans
found in the view redact exactly the original characters (the zero-width marks included).

Most messages need none of this: :func:`make_view` returns an identity view (no offset
tables) unless the message has a character or a run of number words to normalise.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_DIGIT_WORDS: dict[str, str] = {}
for _digit, _words in enumerate(
    (
        "zero oh nought cero zéro zero null",
        "one uno un une eins",
        "two dos deux due zwei",
        "three tres trois tre drei",
        "four cuatro quatre quattro vier",
        "five cinco cinq cinque fünf funf",
        "six seis sei sechs",
        "seven siete sept sette sieben",
        "eight ocho huit otto acht",
        "nine nueve neuf nove neun",
    )
):
    for _word in _words.split():
        _DIGIT_WORDS[_word] = str(_digit)
_REPEATS = {"double": 2, "triple": 3}

_NUMBER_WORDS = frozenset(_DIGIT_WORDS) | frozenset(_REPEATS)
# Letter runs and digit runs; a spelled-out number is a run of these with short separators.
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")
_RUN_SEPARATOR_RE = re.compile(r"[\s,.-]{1,3}")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_MIN_RUN_TOKENS = 3  # "one" or "two" in prose is left alone
_MIN_RUN_WORDS = 2  # "2019 2020 2021" is not spelled out
# Characters that may need normalising: anything outside printable ASCII.
_NON_ASCII_RE = re.compile(r"[^\t\n\r -~]")


@dataclass(frozen=True)
class TextView:
    """``text`` as the patterns see it; ``starts``/``ends`` map each of its characters back to
    the original (``None``: the view is the original)."""

    original: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the view's ``[start, end)`` (``end > start``)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _char(ch: str) -> str:
    """The normalised form of one non-ASCII character ('' drops it)."""
    category = unicodedata.category(ch)
    if category == "Cf":  # zero-width spaces and joiners, soft hyphens, bidi marks
        return ""
    if category == "Nd":
        return str(unicodedata.digit(ch))
    if category == "Zs":
        return " "
    if category == "Pd" or ch == "\u2212":
        return "-"
    folded = unicodedata.normalize("NFKC", ch)
    # Full-width and compatibility forms fold to ASCII (U+FF20 -> '@'); letters with accents
    # stay, they are what a name or a street is written with.
    return folded if len(folded) == 1 and folded.isascii() else ch


@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    digits: str


def _spelled_runs(text: str) -> list[_Run]:
    """Runs of three or more number tokens with at least two words ("four one one one")."""
    words = _LETTERS_RE.findall(text.lower())
    if _NUMBER_WORDS.isdisjoint(words) or sum(w in _NUMBER_WORDS for w in words) < 2:
        return []  # the common case, decided without scanning token by token
    runs: list[_Run] = []
    run: list[tuple[int, int, str, bool]] = []  # start, end, digits, spelled
    repeat, repeat_start = 1, -1

    def close() -> None:
        spelled = sum(1 for *_, is_word in run if is_word)
        if len(run) >= _MIN_RUN_TOKENS and spelled >= _MIN_RUN_WORDS:
            runs.append(_Run(run[0][0], run[-1][1], "".join(t[2] for t in run)))
        run.clear()

    last_end = -1
    for match in _TOKEN_RE.finditer(text):
        token = match.group().lower()
        if last_end >= 0 and not _RUN_SEPARATOR_RE.fullmatch(text[last_end : match.start()]):
            close()
            repeat = 1
        last_end = match.end()
        if token in _REPEATS:
            repeat, repeat_start = _REPEATS[token], match.start()
            continue
        digit = token if token.isdigit() else _DIGIT_WORDS.get(token)
        if digit is None:
            close()
            repeat, last_end = 1, -1
            continue
        start = repeat_start if repeat > 1 else match.start()
        run.append((start, match.end(), digit * repeat, repeat > 1 or not token.isdigit()))
        repeat = 1
    close()
    return runs


def make_view(text: str) -> TextView:
    """The normalised view of ``text`` (an identity view when nothing needs normalising)."""
    odd_chars = _NON_ASCII_RE.search(text) is not None
    runs = _spelled_runs(text)
    if not odd_chars and not runs:
        return TextView(text, text)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    for run in [*runs, None]:
        stop = run.start if run is not None else len(text)
        for index in range(cursor, stop):
            ch = text[index]
            mapped = _char(ch) if odd_chars and not (" " <= ch <= "~") else ch
            for out in mapped:
                chars.append(out)
                starts.append(index)
                ends.append(index + 1)
        if run is None:
            break
        # A run's digits spread over the run's characters: each maps to the whole run, so any
        # span touching one of them redacts the spoken number as a whole.
        for out in run.digits:
            chars.append(out)
            starts.append(run.start)
            ends.append(run.end)
        cursor = run.end
    return TextView(text, "".join(chars), tuple(starts), tuple(ends))
