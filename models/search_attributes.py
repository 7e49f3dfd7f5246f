"""Custom search attributes Warmline workflows upsert, so supervisors and auditors can find
work with plain Temporal visibility queries (``temporal workflow list --query …``)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PENDING_REVIEW = SearchAttributeKey.for_bool("WarmlinePendingReview")
REVIEW_SINCE = SearchAttributeKey.for_datetime("WarmlineReviewSince")
INTENT = SearchAttributeKey.for_keyword("WarmlineIntent")
SUPERVISION_MODE = SearchAttributeKey.for_keyword("WarmlineSupervisionMode")
INTERACTION_STATE = SearchAttributeKey.for_keyword("WarmlineState")
POOL = SearchAttributeKey.for_keyword("WarmlinePool")

ALL = (PENDING_REVIEW, REVIEW_SINCE, INTENT, SUPERVISION_MODE, INTERACTION_STATE, POOL)

# How `temporal server start-dev --search-attribute NAME=TYPE` spells each type.
CLI_TYPES = {"BOOL": "Bool", "DATETIME": "Datetime", "KEYWORD": "Keyword"}


def dev_server_args() -> list[str]:
    args: list[str] = []
    for key in ALL:
        args += ["--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type.name]}"]
    return args
