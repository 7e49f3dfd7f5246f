"""The labelled corpus of ``bench/pii``: structured identifiers in the obfuscated forms issue #14
lists, names and addresses from the tagger's held-out side, clean CLINC150 test utterances.

Everything is generated here with fixed seeds (valid check digits included); nothing of it was
used to write or tune the patterns' tests, and the names and addresses come from the test side
of the tagger's corpus (unseen templates and unseen name and street words).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from classifier.pii.corpus import TEST, generate
from warmline.pii.checksums import IBAN_LENGTHS, luhn_valid, mod97

ZW = "\u200b"
_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_DNI = "TRWAGMYFPDXBNJZSQVHLCKE"


@dataclass
class Line:
    text: str
    spans: list[tuple[str, int, int]]  # (kind, start, end) of each gold identifier
    group: str  # structured | name_address | clean


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return _luhn_complete(body)


def _groups(digits: str, size: int = 4) -> list[str]:
    return [digits[i : i + size] for i in range(0, len(digits), size)]


def _wide(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _spelled(digits: str) -> str:
    return " ".join(_DIGIT_WORDS[int(d)] for d in digits)


CARD_FORMS: list[Callable[[str], str]] = [
    lambda d: d,
    lambda d: " ".join(_groups(d)),
    lambda d: "  ".join(_groups(d)),
    lambda d: "-".join(_groups(d)),
    lambda d: ".".join(_groups(d)),
    lambda d: ZW.join(_groups(d)),
    lambda d: ZW.join(d),
    lambda d: _spelled(d),
    lambda d: ", ".join(_spelled(g) for g in _groups(d)),
    lambda d: _wide(" ".join(_groups(d))),
    lambda d: " ".join(_groups(d)[:2]) + " " + _spelled(d[8:]),
]
CARD_TEMPLATES = [
    "my card number is {v}", "card: {v}", "charge it to {v} please", "{v} is the card I used",
    "visa {v} exp 09/27", "the new card is {v}, can you update it?", "use {v}",
    "it's {v} and the cvv is 123", "Card {v}.",
]  # fmt: skip


def _email(rng: random.Random, faker: Any) -> tuple[str, str]:
    user = faker.user_name().replace("_", ".")
    provider = rng.choice(["gmail", "yahoo", "outlook", "hotmail", "orange", "web", "libero"])
    tld = rng.choice(["com", "fr", "de", "it", "co.uk", "es"])
    forms = [
        f"{user}@{provider}.{tld}",
        f"{user.replace('.', ' dot ')} at {provider} dot {tld.replace('.', ' dot ')}",
        f"{user} at {provider}.{tld}",
        f"{user} (at) {provider} (dot) {tld.split('.')[0]}",
        f"{user}\uff20{provider}.{tld}",  # a full-width at sign
        _wide(f"{user}@{provider}.{tld}"),
        f"{user.replace('.', ' dot ')} at {provider}" if "." in user else f"{user}@{provider}",
    ]
    return rng.choice(forms), "email"


EMAIL_TEMPLATES = [
    "my email is {v}", "you can write to {v}", "e-mail: {v}", "send the receipt to {v}",
    "{v} is my address for invoices", "contact me at {v} thanks", "mail {v}",
]  # fmt: skip


def _phone(rng: random.Random) -> str:
    area = rng.choice(["212", "415", "312", "617", "206", "303", "702"])
    exchange = str(rng.randint(200, 999))
    line = f"{rng.randint(0, 9999):04d}"
    mobile_fr = f"0{rng.choice('67')}" + "".join(f"{rng.randint(0, 99):02d}" for _ in range(4))
    mobile_in = str(rng.randint(6, 9)) + "".join(rng.choice("0123456789") for _ in range(9))
    uk = "07" + "".join(rng.choice("0123456789") for _ in range(9))
    return rng.choice(
        [
            f"{area}{exchange}{line}",
            f"({area}) {exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1 {area} {exchange} {line}",
            " ".join([mobile_fr[i : i + 2] for i in range(0, 10, 2)]),
            f"+33 {mobile_fr[1]} " + " ".join(mobile_fr[i : i + 2] for i in range(2, 10, 2)),
            mobile_fr,
            f"{mobile_in[:5]} {mobile_in[5:]}",
            f"+91 {mobile_in[:5]} {mobile_in[5:]}",
            mobile_in,
            f"{uk[:5]} {uk[5:]}",
            f"+44 {uk[1:5]} {uk[5:]}",
            f"+49 30 {rng.randint(1000000, 9999999)}",
            f"+34 6{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            f"0033 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} 12",
        ]
    )


PHONE_TEMPLATES = [
    "call me back on {v}", "my number is {v}", "{v} is my mobile", "reach me at {v}",
    "you can text {v} after 6", "phone: {v}", "my new number {v}", "ring {v} please",
]  # fmt: skip


def _ssn(rng: random.Random) -> tuple[str, str]:
    area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    digits = f"{area:03d}{group:02d}{serial:04d}"
    return rng.choice(
        [
            (f"my ssn is {digits[:3]}-{digits[3:5]}-{digits[5:]}", "ssn"),
            (f"SSN {digits[:3]} {digits[3:5]} {digits[5:]}", "ssn"),
            (f"social security number {digits}", "ssn"),
            (f"my ssn: {digits}", "ssn"),
            (f"SSN {digits}, date of birth on file", "ssn"),
        ]
    )


def _sin(rng: random.Random) -> str:
    body = str(rng.choice([1, 2, 3, 4, 5, 6, 7, 9])) + "".join(
        rng.choice("0123456789") for _ in range(7)
    )
    digits = _luhn_complete(body)
    return rng.choice(
        [
            f"my SIN is {digits[:3]} {digits[3:6]} {digits[6:]}",
            f"social insurance number {digits}",
            f"SIN: {digits[:3]}-{digits[3:6]}-{digits[6:]}",
            f"mon NAS est {digits[:3]} {digits[3:6]} {digits[6:]}",
        ]
    )


def _dni(rng: random.Random) -> str:
    if rng.random() < 0.3:
        prefix = rng.choice("XYZ")
        number = f"{rng.randint(0, 9999999):07d}"
        letter = _DNI[int("XYZ".index(prefix).__str__() + number) % 23]
        value = rng.choice([f"{prefix}{number}{letter}", f"{prefix}-{number}-{letter}"])
    else:
        number = f"{rng.randint(10000000, 99999999)}"
        letter = _DNI[int(number) % 23]
        value = rng.choice([f"{number}{letter}", f"{number}-{letter}", f"{number} {letter}"])
    return value


def _iban(rng: random.Random) -> str:
    country = rng.choice(["DE", "FR", "ES", "IT", "GB", "NL", "BE", "PT"])
    length = IBAN_LENGTHS[country]
    if country in ("GB", "NL"):
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        bban += "".join(rng.choice("0123456789") for _ in range(length - 8))
    else:
        bban = "".join(rng.choice("0123456789") for _ in range(length - 4))
    check = 98 - mod97(bban + country + "00")
    iban = f"{country}{check:02d}{bban}"
    forms = [
        iban,
        " ".join(_groups(iban)),
        "-".join(_groups(iban)),
        " ".join(_groups(iban)).lower(),
    ]
    return rng.choice(forms)


def _dob(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2005)
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]  # fmt: skip
    return rng.choice(
        [
            f"{day:02d}/{month:02d}/{year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{day} {months[month - 1]} {year}",
            f"{months[month - 1]} {day}, {year}",
            f"{day}.{month}.{year}",
        ]
    )


DOB_TEMPLATES = [
    "my date of birth is {v}", "DOB {v}", "I was born on {v}", "born {v}", "birthday: {v}",
    "date of birth: {v}, postcode on file", "fecha de nacimiento {v}", "née le {v}",
]  # fmt: skip


def _nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    while first + second in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits = "".join(rng.choice("0123456789") for _ in range(6))
    value = f"{first}{second}{digits}{rng.choice('ABCD')}"
    return rng.choice([value, f"{value[:2]} {value[2:4]} {value[4:6]} {value[6:8]} {value[8]}"])


def _place(template: str, value: str, kind: str) -> Line:
    start = template.index("{v}")
    text = template.replace("{v}", value)
    return Line(text, [(kind, start, start + len(value))], "structured")


def structured(per_kind: int, seed: int = 11) -> list[Line]:
    from faker import Faker  # development dependency, like the tagger's corpus

    rng = random.Random(seed)
    faker = Faker("en_US")
    faker.seed_instance(seed)
    it = Faker("it_IT")
    it.seed_instance(seed)
    lines: list[Line] = []
    for _ in range(per_kind):
        digits = _card(rng)
        lines.append(_place(rng.choice(CARD_TEMPLATES), rng.choice(CARD_FORMS)(digits), "card"))
        email, _ = _email(rng, faker)
        lines.append(_place(rng.choice(EMAIL_TEMPLATES), email, "email"))
        lines.append(_place(rng.choice(PHONE_TEMPLATES), _phone(rng), "phone"))
        text, _ = _ssn(rng)
        value = text.split(" ", 3)[-1] if text.startswith("my ssn is") else None
        lines.append(_gold_number(text, "ssn", value))
        lines.append(_gold_number(_sin(rng), "sin"))
        lines.append(_place(rng.choice(["DNI {v}", "mi NIE es {v}", "documento {v}", "NIF: {v}"]),
                            _dni(rng), "dni"))  # fmt: skip
        lines.append(_place(rng.choice(["codice fiscale {v}", "CF: {v}", "il mio codice è {v}"]),
                            str(it.ssn()), "codice_fiscale"))  # fmt: skip
        lines.append(_place(rng.choice(["IBAN {v}", "pay into {v}", "my iban is {v} thanks",
                                        "account {v}"]), _iban(rng), "iban"))  # fmt: skip
        lines.append(_place(rng.choice(DOB_TEMPLATES), _dob(rng), "dob"))
        lines.append(_place(rng.choice(["NI number {v}", "my national insurance is {v}"]),
                            _nino(rng), "nino"))  # fmt: skip
    return lines


def _gold_number(text: str, kind: str, value: str | None = None) -> Line:
    """The identifier is the text's trailing run of digits and separators."""
    if value is None:
        end = len(text)
        while end > 0 and not text[end - 1].isdigit():
            end -= 1
        start = end
        while start > 0 and (text[start - 1].isdigit() or text[start - 1] in " -"):
            start -= 1
        while not text[start].isdigit():
            start += 1
        return Line(text, [(kind, start, end)], "structured")
    start = text.index(value)
    return Line(text, [(kind, start, start + len(value))], "structured")


def names_addresses(count: int, fillers: list[str], seed: int = 42) -> list[Line]:
    out = []
    for example in generate(TEST, count, seed=seed, fillers=fillers):
        if example.spans:
            out.append(Line(example.text, list(example.spans), "name_address"))
    return out


def split_pairs(count: int, seed: int = 5) -> list[tuple[list[str], str, str]]:
    """Two-message conversations with a card, IBAN or phone split between them:
    (messages, the identifier's digits, kind)."""
    rng = random.Random(seed)
    pairs = []
    for index in range(count):
        kind = ("card", "iban", "phone")[index % 3]
        if kind == "card":
            value = " ".join(_groups(_card(rng)))
            lead = rng.choice(["my card is ", "card number ", "", "here: "])
        elif kind == "iban":
            value = " ".join(_groups(_iban(rng).replace(" ", "").replace("-", "").upper()))
            lead = rng.choice(["my iban is ", "IBAN ", ""])
        else:
            value = "+44 7911 " + str(rng.randint(100000, 999999))
            lead = rng.choice(["call me on ", "my number is ", ""])
        groups = value.split(" ")
        cut = rng.randint(1, len(groups) - 1)
        first = lead + " ".join(groups[:cut])
        second = " ".join(groups[cut:]) + rng.choice(["", " thanks", " ok?"])
        pairs.append(([first, second], "".join(ch for ch in value if ch.isalnum()), kind))
    return pairs
