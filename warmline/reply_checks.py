"""Output checks on AI replies: commitments outside the intent's policy, text echoed from the
system prompt or tool descriptions.

An injection that gets past the detector shows up here: the AI promises a refund in an
order-status conversation, names five thousand dollars, says it changed the account's
e-mail, or recites its instructions. These are pure functions on the reply text; the policy
(``warmline.safety``) decides what a finding does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from models.safety import CommitmentAllowance, CommitmentKind, ReplyFinding, ReplyFindingKind
from warmline.supervision import find_amounts

_SUBJECT = (
    r"(?:i(?:'ve|'ll| have| will| am| can|'m)?|we(?:'ve|'ll| have| will| are| can|'re)?"
    r"|it(?:'s| has been| will be| is)|(?:this|that|your \w+)\s+(?:has been|will be|is being|is))"
)
_REFUND_RE = re.compile(
    rf"\b{_SUBJECT}\s+(?:(?:now|just|already|also|gone ahead and|going to|be)\s+){{0,2}}"
    r"(?:refund(?:ed|ing)?|reimburs(?:e|ed|ing)|credit(?:ed|ing)?"
    r"|compensat(?:e|ed|ing)|(?:issu|process|approv|initiat)(?:ed|ing|e)\s+(?:a|the|your|an)?\s*"
    r"(?:full\s+|partial\s+)?(?:refund|credit|reimbursement|chargeback))\b"
    r"|\byou(?:'ll| will)\s+(?:\w+\s+){0,2}(?:receive|get|see)\s+(?:a|the|your)?\s*(?:full\s+)?"
    r"(?:refund|credit|reimbursement)\b"
    r"|\b(?:a|the|your)\s+(?:full\s+|partial\s+)?refund\s+(?:of\s+\S+\s+)?(?:has been|was|is being"
    r"|will be)\s+(?:issued|processed|approved|sent|initiated)\b",
    re.IGNORECASE,
)
_CHANGE_VERB = (
    r"(?:changed|updated|reset|closed|cancell?ed|deleted|removed|added|increased|raised"
    r"|waived|unlocked|transferred|replaced|switched)"
)
_ACCOUNT_OBJECT = (
    r"(?:e-?mail|address|password|phone|number|account|limit|plan|subscription|fee|card|pin"
    r"|owner|holder|payee|beneficiary|iban|details|balance|login)"
)
_ACCOUNT_CHANGE_RE = re.compile(
    rf"\b(?:i(?:'ve| have)|we(?:'ve| have)|(?:it|this|that|your \w+)\s+(?:has|have)\s+been"
    rf"|i(?:'ll| will)|we(?:'ll| will)|has been|have been)\s+(?:now\s+|just\s+|successfully\s+)?"
    rf"{_CHANGE_VERB}\b[^.!?\n]{{0,40}}?\b{_ACCOUNT_OBJECT}\b"
    rf"|\b(?:your|the)\s+(?:\w+\s+)?{_ACCOUNT_OBJECT}\s+(?:has|have|is)\s+(?:now\s+)?been\s+"
    rf"{_CHANGE_VERB}\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[a-z0-9]+")
_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+(?!\d)|\n|$)")
# Amounts count where money changes hands ("a refund of $5,000", "we owe you ten grand"); the
# price of the order being tracked ("your $45.99 order shipped") is not a commitment.
_MONEY_PROMISE_RE = re.compile(
    r"\b(?:refund\w*|credit\w*|discount\w*|compensat\w*|reimburs\w*|owe|pay(?:ing)? you"
    r"|voucher|goodwill|cashback|chargeback|waive\w*|transfer\w*)\b",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def shared_run(reply: str, source: str, length: int) -> bool:
    """Whether ``reply`` contains ``length`` consecutive words of ``source`` (case, spacing
    and punctuation ignored): a reply reciting its instructions, however reformatted."""
    source_words = _words(source)
    if len(source_words) < length:
        return False
    shingles = {tuple(source_words[i : i + length]) for i in range(len(source_words) - length + 1)}
    reply_words = _words(reply)
    return any(
        tuple(reply_words[i : i + length]) in shingles for i in range(len(reply_words) - length + 1)
    )


def commitment_findings(reply: str, allowance: CommitmentAllowance) -> list[ReplyFinding]:
    """Refunds, account changes and promised amounts the intent's allowance does not cover."""
    findings: list[ReplyFinding] = []
    allowed = set(allowance.allowed)
    if CommitmentKind.REFUND not in allowed and _REFUND_RE.search(reply):
        findings.append(
            ReplyFinding(
                kind=ReplyFindingKind.REFUND_COMMITMENT,
                detail=f"refund promised; intent {allowance.intent} allows no refunds",
            )
        )
    if CommitmentKind.ACCOUNT_CHANGE not in allowed and _ACCOUNT_CHANGE_RE.search(reply):
        findings.append(
            ReplyFinding(
                kind=ReplyFindingKind.ACCOUNT_CHANGE,
                detail=f"account change stated; intent {allowance.intent} allows none",
            )
        )
    promised = [
        amount
        for sentence in _SENTENCE_RE.findall(reply)
        if _MONEY_PROMISE_RE.search(sentence)
        for amount in find_amounts(sentence)
    ]
    largest = max(promised, default=None)
    limit = allowance.max_amount if allowance.max_amount is not None else 0.0
    if largest is not None and largest > limit:
        findings.append(
            ReplyFinding(
                kind=ReplyFindingKind.AMOUNT_OVER_LIMIT,
                detail=f"amount {largest:,.2f} above the {limit:,.2f} intent {allowance.intent} "
                "allows",
            )
        )
    return findings


def echo_findings(
    reply: str, system_prompt: str, tool_texts: Iterable[str], min_words: int
) -> list[ReplyFinding]:
    """The system prompt or a tool's description recited in the reply."""
    findings: list[ReplyFinding] = []
    if system_prompt and shared_run(reply, system_prompt, min_words):
        findings.append(
            ReplyFinding(
                kind=ReplyFindingKind.PROMPT_ECHO,
                detail=f"{min_words}+ consecutive words of the system prompt",
            )
        )
    for index, tool in enumerate(tool_texts):
        if tool and shared_run(reply, tool, min_words):
            findings.append(
                ReplyFinding(
                    kind=ReplyFindingKind.TOOL_ECHO,
                    detail=f"{min_words}+ consecutive words of tool description {index}",
                )
            )
            break
    return findings
