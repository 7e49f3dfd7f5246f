"""Detectors of identifiers written with words: e-mail addresses (also spoken, "john dot doe at
gmail"), and dates of birth.

A spoken address is only taken for one when it could not be ordinary English: the local part
has a separator or a digit ("john dot doe", "jdoe85"), the domain has a top-level domain
("example dot com"), or an e-mail word stands just before it. "Look at gmail" stays. A date is
only a date of birth after a birth word ("DOB", "born on", "date de naissance", ...): other
dates (orders, appointments) are what an agent needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from models.redaction import PiiKind
from warmline.pii.numbers import Found

_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)
_SEP = r"(?:\s*(?:\.|_|-|\bdot\b|\bpoint\b|\bpunto\b|\bunderscore\b|\bdash\b|\bhyphen\b)\s*)"
_DOT = r"(?:\s*(?:\.|\(\s*dot\s*\)|\[\s*dot\s*\]|\bdot\b|\bpoint\b|\bpunto\b|\bpunkt\b)\s*)"
_AT = (
    r"(?:\s*(?:@|\(\s*at\s*\)|\[\s*at\s*\]|\{\s*at\s*\}|\bat\b|\barroba\b|\barobase\b"
    r"|\bchiocciola\b)\s*)"
)
_SPOKEN_EMAIL_RE = re.compile(
    rf"(?<![\w.@])(?P<local>[a-z0-9]+(?:{_SEP}[a-z0-9]+){{0,4}})(?P<at>{_AT})"
    rf"(?P<domain>[a-z0-9][a-z0-9-]*(?:{_DOT}[a-z0-9-]+){{0,3}})(?![\w@])",
    re.IGNORECASE,
)
_PROVIDERS = frozenset(
    [
        "gmail",
        "googlemail",
        "yahoo",
        "ymail",
        "hotmail",
        "outlook",
        "live",
        "msn",
        "icloud",
        "me",
        "aol",
        "proton",
        "protonmail",
        "gmx",
        "web",
        "orange",
        "free",
        "wanadoo",
        "laposte",
        "sfr",
        "libero",
        "virgilio",
        "tiscali",
        "alice",
        "rediffmail",
        "btinternet",
        "sky",
        "mail",
        "zoho",
        "yandex",
        "fastmail",
        "hey",
    ]
)
_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "io",
        "co",
        "uk",
        "us",
        "ca",
        "de",
        "fr",
        "es",
        "it",
        "in",
        "nl",
        "be",
        "ch",
        "at",
        "ie",
        "pt",
        "eu",
        "info",
        "biz",
        "me",
        "app",
        "dev",
        "ai",
        "email",
        "online",
        "shop",
    ]
)
_WORD_SPLIT_RE = re.compile(r"[^a-z0-9-]+")
_EMAIL_WORDS_RE = re.compile(
    r"\b(?:e-?mail|mail|address|correo|courriel|adresse|indirizzo)\b", re.IGNORECASE
)
_BRACKETED_AT = re.compile(r"[(\[{]")


def emails(text: str) -> Iterator[Found]:
    """Written addresses (``a@b.io``; with a full-width at sign once normalised)."""
    for match in _EMAIL_RE.finditer(text):
        yield PiiKind.EMAIL, match.start(), match.end()


def spoken_emails(text: str) -> Iterator[Found]:
    """Addresses with words for the symbols ("john dot doe at gmail", "jdoe (at) web dot de")
    or without a top-level domain ("jane@gmail")."""
    position = 0
    while True:
        match = _SPOKEN_EMAIL_RE.search(text, position)
        if match is None:
            return
        if _spoken_email(text, match):
            yield PiiKind.EMAIL, match.start(), match.end()
            position = match.end()
        else:
            # Not an address from here: a later start may still begin one ("me at john dot
            # doe at gmail" fails at "me", succeeds at "john").
            position = match.start() + 1


def _spoken_email(text: str, match: re.Match[str]) -> bool:
    at = match.group("at").strip().lower()
    domain = [w for w in _WORD_SPLIT_RE.split(match.group("domain").lower()) if w]
    words = [w for w in domain if w not in ("dot", "point", "punto", "punkt")]
    has_tld = len(words) >= 2 and words[-1] in _TLDS
    provider = bool(words) and words[0] in _PROVIDERS
    if not (has_tld or provider):
        return False
    if at == "@" or _BRACKETED_AT.match(at):
        return True
    local = match.group("local")
    separated = re.search(_SEP, local) is not None or any(ch.isdigit() for ch in local)
    keyword = _EMAIL_WORDS_RE.search(text[max(0, match.start() - 40) : match.start()])
    # "example dot com" or "jdoe at outlook.es": nobody writes prose like that.
    spoken_dot = len(words) < len(domain)
    return separated or keyword is not None or (has_tld and (spoken_dot or provider))


_MONTHS = (
    r"(?:jan(?:uary|vier)?|feb(?:ruary)?|févr(?:ier)?|fevr(?:ier)?|mar(?:ch|s)?|apr(?:il)?"
    r"|avr(?:il)?|may|mai|jun(?:e)?|juin|jul(?:y)?|juil(?:let)?|aug(?:ust)?|août|aout"
    r"|sep(?:t(?:ember)?)?|oct(?:ober|obre)?|nov(?:ember|embre)?|dec(?:ember)?|déc(?:embre)?"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre"
    r"|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre"
    r"|januar|februar|märz|maerz|juni|juli|oktober|dezember)\.?"
)
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th|er|º)?"
_YEAR = r"(?:19|20)\d{2}"
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-](?:\d{{4}}|\d{{2}})"
    rf"|{_YEAR}[./-]\d{{1,2}}[./-]\d{{1,2}}"
    rf"|{_DAY}(?:\s+(?:of|de|di))?\s+{_MONTHS}(?:\s+(?:de|del))?,?\s+{_YEAR}"
    rf"|{_MONTHS}\s+{_DAY},?\s+{_YEAR})"
)
_DOB_RE = re.compile(
    r"\b(?:date of birth|birth ?date|birthday|born|dob|d\.o\.b\.?|fecha de nacimiento"
    r"|nacid[oa]|data di nascita|nat[oa]|date de naissance|né|née|geburtsdatum|geboren)"
    rf"(?P<gap>[^\d\n]{{0,24}}?)(?P<date>{_DATE})(?![\w])",
    re.IGNORECASE,
)


def dates_of_birth(text: str) -> Iterator[Found]:
    """The date after a birth word; the word stays, so "born on [DOB_1]" still reads."""
    for match in _DOB_RE.finditer(text):
        yield PiiKind.DOB, match.start("date"), match.end("date")
