"""Check digits of the identifiers redaction looks for.

Why they matter: patterns alone would have to choose between missing obfuscated numbers and
eating every long order id. A check digit lets the patterns stay permissive (any separators,
any spacing) while an ordinary number passes only by chance: Luhn one time in ten, mod 97 one
in ninety-seven, the DNI letter one in twenty-three, the codice fiscale character one in
twenty-six.
"""

from __future__ import annotations

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30,
    "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip
"""ISO 13616 registry lengths: with the country's length, one candidate end is checked."""

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NIE_PREFIX = {"X": "0", "Y": "1", "Z": "2"}
# Codice fiscale: values of odd (1st, 3rd, ...) positions; even positions count 0-25.
_CF_ODD = [
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
]
_CF_OMOCODE = "LMNPQRSTUV"  # letters that replace digits when two people share a code
_CF_DIGIT_POSITIONS = (6, 7, 9, 10, 12, 13, 14)
_CF_MONTHS = "ABCDEHLMPRST"


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def luhn_sums(digits: str) -> tuple[int, int]:
    """Luhn sums mod 10 of ``digits`` as the head of a longer number: (even, odd) count after.

    The Luhn weight of a digit depends on its position from the right, so a head's sum is
    known once it is known whether an even or odd number of digits follows. Keeping both lets
    a number split over two messages be checked without keeping the first part's digits.
    """
    even = odd = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        doubled = value * 2 - 9 if value > 4 else value * 2
        # Followed by an even count: the last digit here sits at an even offset (not doubled).
        even += doubled if index % 2 == 1 else value
        odd += value if index % 2 == 1 else doubled
    return even % 10, odd % 10


def luhn_valid(digits: str) -> bool:
    """Luhn checksum; a random 16-digit number passes one time in ten."""
    return bool(digits) and luhn_sums(digits)[0] == 0


def luhn_joined(head_even: int, head_odd: int, tail: str) -> bool:
    """Whether head + ``tail`` passes Luhn, from the head's :func:`luhn_sums` alone."""
    head = head_even if len(tail) % 2 == 0 else head_odd
    return (head + luhn_sums(tail)[0]) % 10 == 0


def card_valid(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def iban_number(chars: str) -> str:
    """Letters as two digits (A=10 .. Z=35), the way ISO 7064 mod 97-10 reads an IBAN."""
    return "".join(str(int(ch, 36)) for ch in chars)


def mod97(chars: str, start: int = 0) -> int:
    """``int(start followed by iban_number(chars)) % 97``, without building a big integer."""
    value = start
    for ch in chars.upper():
        number = int(ch, 36)
        value = (value * (100 if number > 9 else 10) + number) % 97
    return value


def iban_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 check on an IBAN written with or without spaces or dashes; where the
    country's registered length is known, the length must match too."""
    compact = "".join(ch for ch in candidate if ch.isalnum()).upper()
    if not 15 <= len(compact) <= 34 or not compact.isascii():
        return False
    country = compact[:2]
    if not (country.isalpha() and compact[2:4].isdigit()):
        return False
    expected = IBAN_LENGTHS.get(country)
    if expected is not None and len(compact) != expected:
        return False
    return mod97(compact[4:] + compact[:4]) == 1


def iban_joined(head: int, body: int, tail: str) -> bool:
    """IBAN check of a head (country + check digits mod 97, account so far mod 97) + ``tail``."""
    value = mod97(tail, body)
    # The four head characters (two letters, two digits) read as six digits after the body.
    return (value * 10**6 + head) % 97 == 1


def dni_valid(number: str, letter: str) -> bool:
    """Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits): the letter is the number mod 23."""
    number = number.upper()
    if number[:1] in _NIE_PREFIX:
        number = _NIE_PREFIX[number[0]] + number[1:]
    if not number.isdigit():
        return False
    return _DNI_LETTERS[int(number) % 23] == letter.upper()


def codice_fiscale_valid(code: str) -> bool:
    """Italian codice fiscale: 16 characters, a month letter, and the check character."""
    code = code.upper()
    if len(code) != 16 or not code.isascii() or not code.isalnum() or code[8] not in _CF_MONTHS:
        return False
    for position in _CF_DIGIT_POSITIONS:
        if not (code[position].isdigit() or code[position] in _CF_OMOCODE):
            return False
    if not (code[:6].isalpha() and code[11].isalpha() and code[15].isalpha()):
        return False
    total = 0
    for index, ch in enumerate(code[:15]):
        value = int(ch) if ch.isdigit() else ord(ch) - 65
        if index % 2 == 0:  # 1st, 3rd, ... (1-based odd)
            total += _CF_ODD[value]
        else:
            total += value
    return chr(65 + total % 26) == code[15]


def ssn_valid(digits: str) -> bool:
    """US SSN structure: no area 000, 666 or 9xx, no group 00, no serial 0000."""
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def sin_valid(digits: str) -> bool:
    """Canadian SIN: nine digits, Luhn-valid, not starting with 0 or 8 (never issued)."""
    return len(digits) == 9 and digits[0] not in "08" and luhn_valid(digits)


def nanp_valid(digits: str) -> bool:
    """A ten-digit North American number: area and exchange start 2-9, area not N11."""
    if len(digits) != 10:
        return False
    area, exchange = digits[:3], digits[3:6]
    return area[0] in "23456789" and area[1:] != "11" and exchange[0] in "23456789"


def bare_phone_valid(digits: str) -> bool:
    """Ten digits that read as a phone number somewhere Warmline's customers call from:
    North American (NANP rules), Indian mobile (6-9 first), Italian mobile (3 first), or a
    French/UK national number (0 then 1-9)."""
    if len(digits) != 10:
        return False
    return (
        nanp_valid(digits)
        or digits[0] in "6789"
        or digits[0] == "3"
        or (digits[0] == "0" and digits[1] != "0")
    )
