"""Prompt-injection rules: the precise half of the detector on customer messages.

A trained classifier (``classifier.injection``) scores how much a message reads like an attempt
to steer the AI; these rules catch the forms that are unambiguous whatever the wording around
them: an order to ignore the AI's instructions, a request for its system prompt, a forged
role marker ("SYSTEM:", "<|im_start|>"), a jailbreak persona. They look through the usual
disguises first: l33t digits, letters spaced apart, base64, zero-width characters.

Precision over recall: a customer writing "please ignore my previous email" or "the
instructions in the box are wrong" must not be flagged, so every rule needs a target that
only an AI has (its instructions, prompt, rules, persona).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass

# "Ignore the instructions on the box" is a customer; "ignore your/all/previous instructions"
# is not: at least one qualifier must point at the AI's own instructions.
_STRONG = (
    r"(?:all|any|every|your|previous|prior|above|earlier|preceding|initial|original|system"
    r"|safety|default)"
)
_QUALIFIER = rf"(?:{_STRONG}|the|these|those|given|current|existing|of|other)"
_TARGET = (
    r"(?:instructions?|rules|prompts?|guidelines|directives|programming|policies|restrictions"
    r"|constraints|guardrails|context|orders|commands|training|limitations|filters|settings)"
)
_OVERRIDE_VERB = r"(?:ignore|disregard|forget|override|bypass|overrule)"

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "override_instructions",
            rf"\b{_OVERRIDE_VERB}\b(?:\s+{_QUALIFIER}\b){{0,3}}?\s+{_STRONG}\b"
            rf"(?:\s+{_QUALIFIER}\b){{0,3}}\s+{_TARGET}\b",
        ),
        (
            "override_everything",
            r"\b(?:ignore|disregard|forget)\s+(?:everything|all)\s+(?:you(?:'ve| have)?\s+"
            r"(?:were|been)\s+(?:told|given|taught)|(?:said\s+)?(?:above|before|so far))",
        ),
        (
            "new_instructions",
            r"\b(?:new|updated|real|actual|revised)\s+(?:system\s+)?instructions?\s*[:\-]",
        ),
        (
            "prompt_extraction",
            r"\b(?:reveal|show|print|repeat|display|output|tell\s+me|give\s+me|what\s+(?:are|is|were))"
            r"\b[^.?!\n]{0,30}\b(?:system\s+prompt|initial\s+(?:prompt|instructions)|hidden"
            r"\s+(?:prompt|instructions|rules)|your\s+(?:instructions|prompt|system\s+message"
            r"|rules|guidelines|configuration|tools))",
        ),
        ("system_prompt_mention", r"\bsystem\s+prompt\b"),
        (
            "role_marker",
            r"(?:^|\n)\s*(?:system|assistant|developer|admin)\s*:|<\|im_(?:start|end)\|>|\[/?INST\]"
            r"|<\|(?:system|user|assistant)\|>|###\s*(?:instruction|system|response)\b|</?system>",
        ),
        (
            "persona",
            r"\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you(?:\s+are|\s+will|'re)|act\s+as\s+(?:an?\s+)?"
            r"(?:unrestricted|unfiltered|uncensored|jailbroken|evil|rogue)|pretend\s+(?:that\s+)?"
            r"you\s+(?:have\s+no|are\s+not\s+bound|can)|developer\s+mode|do\s+anything\s+now"
            r"|no\s+(?:rules|restrictions|limits)\s+apply)",
        ),
        (
            "authority_spoof",
            r"\b(?:as\s+your\s+(?:admin(?:istrator)?|developer|creator|supervisor|operator)"
            r"|(?:admin|developer|system)\s+override|i\s+am\s+your\s+(?:developer|creator|admin))\b",
        ),
        (
            "foreign_override",
            r"\b(?:ignorez|oubliez)\s+(?:toutes\s+)?(?:les|vos)\s+(?:instructions|consignes|règles)"
            r"|\bignora(?:r)?\s+(?:todas\s+)?(?:las|tus)\s+(?:instrucciones|reglas)"
            r"|\bignoriere\s+(?:alle\s+)?(?:vorherigen\s+|bisherigen\s+)?(?:anweisungen|regeln)"
            r"|\bvergiss\s+(?:alle\s+)?(?:vorherigen\s+)?(?:anweisungen|regeln)"
            r"|\bignora\s+(?:tutte\s+)?(?:le\s+)?(?:istruzioni|regole)(?:\s+precedenti)?",
        ),
    )
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l"})  # fmt: skip
_SPACED_RE = re.compile(r"\b(?:[A-Za-z][ ._*-]){3,}[A-Za-z]\b")
_BASE64_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/])")
MAX_CHARS = 8_000


@dataclass(frozen=True)
class RuleHit:
    """A rule that matched, and in which reading of the text (plain, l33t, spaced, base64)."""

    rule: str
    reading: str


def _strip_invisible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _unspaced(text: str) -> str:
    return _SPACED_RE.sub(lambda m: re.sub(r"[ ._*-]", "", m.group()), text)


def _decoded_base64(text: str) -> str:
    decoded: list[str] = []
    for match in _BASE64_RE.finditer(text):
        blob = match.group()
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
            decoded.append(raw.decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return "\n".join(decoded)


def readings(text: str) -> list[tuple[str, str]]:
    """The text as written and as its disguises decode; each reading is checked by the rules."""
    plain = unicodedata.normalize("NFKC", _strip_invisible(text[:MAX_CHARS]))
    found = [("plain", plain)]
    leet = plain.translate(_LEET)
    if leet != plain:
        found.append(("leet", leet))
    spaced = _unspaced(plain)
    if spaced != plain:
        found.append(("spaced", spaced))
    decoded = _decoded_base64(plain)
    if decoded:
        found.append(("base64", decoded))
    return found


def rule_hits(text: str) -> list[RuleHit]:
    """Every rule that matches some reading of ``text`` (first reading per rule)."""
    hits: list[RuleHit] = []
    seen: set[str] = set()
    for reading, candidate in readings(text):
        for name, pattern in _RULES:
            if name not in seen and pattern.search(candidate):
                seen.add(name)
                hits.append(RuleHit(name, reading))
    return hits
