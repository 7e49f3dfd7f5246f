"""Money written in words: "five thousand dollars", "two hundred and fifty euros", "ten grand".

The numeric forms ("$1,250", "500 EUR") are read by ``warmline.supervision.find_amounts``; a
customer steering an AI into a refund, or an AI promising one, writes the same amounts in
words just as often, and a threshold that only sees digits is a threshold in name only.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "grand": 1_000, "k": 1_000, "million": 1_000_000,
           "billion": 1_000_000_000}  # fmt: skip
_CURRENCY = r"(?:dollars?|bucks|usd|euros?|eur|pounds?|quid|gbp|yen|rupees?|francs?|cad|aud|grand)"
_NUMBER_WORD = "|".join(sorted([*_UNITS, *_SCALES], key=len, reverse=True))
_DECIMAL = r"\d+(?:[.,]\d+)?"
_WORDED_RE = re.compile(
    rf"\b(?P<number>(?:(?:{_NUMBER_WORD}|{_DECIMAL})(?:[\s-]+(?:and[\s-]+)?)?)+?)"
    rf"(?:\s*(?P<currency>{_CURRENCY})\b)",
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(rf"{_DECIMAL}|[a-z]+", re.IGNORECASE)


def words_to_number(text: str) -> float | None:
    """'two hundred and fifty' -> 250, '1.5 million' -> 1.5e6, 'a thousand' -> 1000."""
    total = 0.0
    current = 0.0
    seen = False
    for token in _TOKEN_RE.findall(text.lower()):
        if token == "and":
            continue
        if token[0].isdigit():
            current += float(token.replace(",", "."))
            seen = True
        elif token in _UNITS:
            current += _UNITS[token]
            seen = True
        elif token in _SCALES:
            scale = _SCALES[token]
            current = max(current, 1.0) * scale
            if scale >= 1_000:
                total += current
                current = 0.0
            seen = True
        else:
            return None
    return total + current if seen else None


def find_worded_amounts(text: str) -> list[float]:
    """Amounts whose number is (partly) in words and that name a currency; "grand" counts as
    both ("ten grand"). Pure digits are left to the numeric reader."""
    amounts: list[float] = []
    for match in _WORDED_RE.finditer(text):
        number = match.group("number").strip(" -")
        currency = match.group("currency").lower()
        if not re.search(r"[a-z]", number, re.IGNORECASE) and currency != "grand":
            continue  # "500 dollars" is the numeric reader's
        value = words_to_number(number + (" grand" if currency == "grand" else ""))
        if value is not None and value > 0:
            amounts.append(value)
    return amounts
