"""PII redaction in the core: patterns with check digits on a normalised view of the text,
spans from a local name/address model merged in, tokens stable per interaction, identifiers
split over messages joined, metadata redacted whatever its type. See :mod:`.redactor`."""

from warmline.pii.metadata import key_kind, redact_metadata, redact_value_once
from warmline.pii.redactor import apply_revisions, new_state, redact_message, redact_text

__all__ = [
    "apply_revisions",
    "key_kind",
    "new_state",
    "redact_message",
    "redact_metadata",
    "redact_text",
    "redact_value_once",
]
