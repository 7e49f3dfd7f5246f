"""Text rules shared by contracts that take words from a customer."""

from __future__ import annotations


def not_blank(value: str) -> str:
    """A message of only white space has nothing to classify, redact or answer; refusing it at
    the boundary gives the client a clear error instead of an empty turn."""
    if not value.strip():
        raise ValueError("must contain non-whitespace text")
    return value
