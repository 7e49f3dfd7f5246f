"""A generated, labelled corpus of names and street addresses in contact-center utterances.

Training and evaluation data for the tagger, made with Faker (a development dependency only:
the model that ships does not need it) in eight locales. Three things keep the evaluation
honest: every fourth template is held out, names are split by their words (a test name's
first and last names never occur in training), and addresses by their street word. Clean
utterances (no names or addresses) come from the caller: CLINC150 read at training time,
never copied into the repository.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from classifier.pii.templates import (
    ADDRESS_FRAMES,
    ADDRESS_TEMPLATES,
    BRANDS,
    CITIES,
    LOCAL_TEMPLATES,
    MIXED_TEMPLATES,
    NAME_FRAMES,
    NAME_TEMPLATES,
    NEGATIVE_TEMPLATES,
)

LOCALES = ("en_US", "en_GB", "en_CA", "en_IN", "fr_FR", "de_DE", "es_ES", "it_IT")
TRAIN, TEST = "train", "test"
_SLOT_RE = re.compile(r"\{(name|first|last|address|street|city|brand)\}")
_LABELLED = {"name": "NAME", "first": "NAME", "last": "NAME", "address": "ADDRESS",
             "street": "ADDRESS"}  # fmt: skip


@dataclass
class Example:
    """A text and its gold spans ``(kind, start, end)``; kind NAME or ADDRESS (or none)."""

    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    source: str = "generated"


def bucket_of(word: str) -> str:
    """Held-out side of a word: a quarter of all words belong to the test side."""
    digest = hashlib.sha1(word.strip().lower().encode("utf-8")).digest()
    return TEST if digest[0] % 4 == 0 else TRAIN


def split_templates(templates: Sequence[str], split: str) -> list[str]:
    return [t for i, t in enumerate(templates) if (i % 4 == 3) == (split == TEST)]


class _Faces:
    """Faker per locale, drawing names and addresses from one side of the word split."""

    def __init__(self, split: str, seed: int) -> None:
        from faker import Faker  # development dependency: training and benchmarks only

        self.split = split
        self.fakers: dict[str, Any] = {}
        for index, locale in enumerate(LOCALES):
            faker = Faker(locale)
            faker.seed_instance(seed * 100 + index)
            self.fakers[locale] = faker

    def _draw(self, locale: str, make: Any, key: Any) -> Any:
        for _ in range(200):
            value = make(self.fakers[locale])
            if all(bucket_of(word) == self.split for word in key(value)):
                return value
        raise RuntimeError(f"no {self.split} value drawn for {locale}")

    def person(self, locale: str) -> tuple[str, str]:
        def make(f: Any) -> tuple[str, str]:
            return str(f.first_name()), str(f.last_name())

        return self._draw(locale, make, lambda v: [*v[0].split(), *v[1].split()])

    def address(self, locale: str) -> tuple[str, str]:
        """(full one-line address, street line)."""

        def make(f: Any) -> tuple[str, str]:
            full = ", ".join(line.strip() for line in str(f.address()).splitlines())
            street = " ".join(str(f.street_address()).split())
            return full, street

        def street_word(value: tuple[str, str]) -> list[str]:
            words = re.findall(r"[^\W\d_]{3,}", value[0])
            return [max(words, key=len)] if words else []

        return self._draw(locale, make, street_word)


def _fill(template: str, values: dict[str, str]) -> Example:
    pieces: list[str] = []
    spans: list[tuple[str, int, int]] = []
    cursor = 0
    length = 0
    for match in _SLOT_RE.finditer(template):
        before = template[cursor : match.start()]
        pieces.append(before)
        length += len(before)
        value = values[match.group(1)]
        kind = _LABELLED.get(match.group(1))
        if kind is not None:
            if spans and spans[-1][0] == kind and spans[-1][2] == length - 1 and before == " ":
                spans[-1] = (kind, spans[-1][1], length + len(value))  # "{first} {last}"
            else:
                spans.append((kind, length, length + len(value)))
        pieces.append(value)
        length += len(value)
        cursor = match.end()
    pieces.append(template[cursor:])
    return Example("".join(pieces), spans)


def _casing(example: Example, rng: random.Random) -> Example:
    """Customers often type in lower case; some shout."""
    roll = rng.random()
    if roll < 0.3:
        return Example(example.text.lower(), example.spans, example.source)
    if roll < 0.35:
        return Example(example.text.upper(), example.spans, example.source)
    return example


_JOINERS = (". ", ", ", " - ", " ", "! ", "? ")


def _framed(frame: str, fillers: Sequence[str], rng: random.Random) -> str:
    """A frame with a clean utterance before and/or after it (a template of its own)."""
    filler = rng.choice(fillers) if fillers else "hello"
    joiner = rng.choice(_JOINERS)
    roll = rng.random()
    if roll < 0.4:
        return f"{filler}{joiner}{frame}"
    if roll < 0.8:
        return f"{frame}{joiner}{filler}"
    return frame


def generate(split: str, count: int, seed: int = 0, fillers: Sequence[str] = ()) -> list[Example]:
    """``count`` utterances with names and/or addresses, plus a tenth as many hard negatives
    (brands, cities, capitalised plan names: capitals that are not names). Half are a short
    frame ("my name is {name}") joined to one of ``fillers`` (clean utterances of the same
    split), so phrasings vary far beyond the templates."""
    rng = random.Random(f"{split}-{seed}")
    faces = _Faces(split, seed)
    english = [
        *split_templates(NAME_TEMPLATES, split),
        *split_templates(ADDRESS_TEMPLATES, split),
        *split_templates(MIXED_TEMPLATES, split),
    ]
    local = {loc: split_templates(t, split) for loc, t in LOCAL_TEMPLATES.items()}
    negatives = split_templates(NEGATIVE_TEMPLATES, split)
    frames = [*split_templates(NAME_FRAMES, split), *split_templates(ADDRESS_FRAMES, split)]
    # A brace in a filler could read as a slot: such fillers are left out.
    plain = [f for f in fillers if "{" not in f]
    out: list[Example] = []
    for _ in range(count):
        locale = rng.choice(LOCALES)
        roll = rng.random()
        if roll < 0.5:
            template = _framed(rng.choice(frames), plain, rng)
        elif roll < 0.65 and locale in local:
            template = rng.choice(local[locale])
        else:
            template = rng.choice(english)
        first, last = faces.person(locale)
        full, street = faces.address(locale)
        values = {
            "name": f"{first} {last}",
            "first": first,
            "last": last,
            "address": full,
            "street": street,
            "city": rng.choice(CITIES),
            "brand": rng.choice(BRANDS),
        }
        out.append(_casing(_fill(template, values), rng))
    for _ in range(count // 10):
        values = {"city": rng.choice(CITIES), "brand": rng.choice(BRANDS)}
        out.append(_casing(_fill(rng.choice(negatives), values), rng))
    rng.shuffle(out)
    return out


def clean(texts: Sequence[str], source: str) -> Iterator[Example]:
    """Utterances known to hold no name or address (e.g. CLINC150), as negatives."""
    for text in texts:
        yield Example(text, [], source)
