"""The bundled default model and the input rules of ``IntentModel.classify``."""

from __future__ import annotations

import re

import pytest

from classifier import IntentModel, default_model_dir, load_shared
from classifier.artifact import HEAD_FILE
from models.routing import Classification
from warmline.intents import DEFAULT_INTENTS

CONTACT_CENTER = {
    "I forgot my password and now I can't log in": "password_reset",
    "why is my bill so much higher this month?": "billing_inquiry",
    "the blender arrived broken, I want my money back": "refund_request",
    "please close my account, I'm switching to another provider": "account_closure",
    "my debit card was stolen yesterday": "lost_card",
    "where is my order? I ordered it ten days ago": "order_status",
    "what time do you open on Saturday?": "store_hours",
    "I want to cancel my subscription": "cancel_subscription",
}
NOT_CONTACT_CENTER = (
    "what's the capital of Peru",
    "tell me a joke about penguins",
    "xqzv plmkr wrtyp",
)


def test_default_model_is_small_and_complete() -> None:
    path = default_model_dir()
    assert (path / HEAD_FILE).stat().st_size < 1_000_000
    assert all(p.stat().st_size < 1_000_000 for p in path.iterdir())
    model = load_shared()
    assert set(model.labels) == set(DEFAULT_INTENTS)
    assert re.fullmatch(r"intent-[0-9a-f]{12}", model.version)
    assert load_shared() is model, "one instance per process"


@pytest.mark.parametrize(("text", "intent"), CONTACT_CENTER.items())
def test_default_model_recognises_contact_center_utterances(
    default_model: IntentModel, text: str, intent: str
) -> None:
    result = default_model.classify(text)
    assert result.intent == intent
    assert not result.out_of_scope
    assert result.confidence > 0.5
    assert result.model_version == default_model.version
    assert result.source == "classifier"


@pytest.mark.parametrize("text", NOT_CONTACT_CENTER)
def test_default_model_flags_out_of_scope(default_model: IntentModel, text: str) -> None:
    result = default_model.classify(text)
    assert result.out_of_scope
    assert result.intent in default_model.labels, "intent stays the top in-scope label"


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \r\n", "\x00\x01\x02", "\u200b\u200b", "🙂🙂"])
def test_empty_or_unreadable_text_is_out_of_scope_with_zero_confidence(
    default_model: IntentModel, text: str
) -> None:
    result = default_model.classify(text)
    assert (result.intent, result.confidence, result.out_of_scope) == ("oos", 0.0, True)


@pytest.mark.parametrize("value", [None, b"reset my password", 42, 3.5, ["refund"]])
def test_non_text_raises_type_error(default_model: IntentModel, value: object) -> None:
    with pytest.raises(TypeError, match="str"):
        default_model.classify(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 1"):
        default_model.classify_batch(["refund please", value])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        default_model.classify_batch("a single string")


def test_very_long_text_is_truncated_not_failed(default_model: IntentModel) -> None:
    text = "I forgot my password and cannot log in. " + "blah " * 4000
    assert len(text) > 10_000
    result = default_model.classify(text)
    assert result.intent == "password_reset"
    huge = "x" * 2_000_000
    assert 0.0 <= default_model.classify(huge).confidence <= 1.0


def test_mixed_language_and_odd_text_classify(default_model: IntentModel) -> None:
    for text in (
        "Hola, quiero un refund de mi pedido por favor",
        "mon mot de passe ne marche plus, password reset please",
        "パスワードを忘れました",
        "broken \ud800 surrogate, refund",
        "<script>alert(1)</script> DROP TABLE users;",
    ):
        result = default_model.classify(text)
        assert isinstance(result, Classification)
        assert 0.0 <= result.confidence <= 1.0


def test_batch_matches_single(default_model: IntentModel) -> None:
    texts = [*CONTACT_CENTER, "", *NOT_CONTACT_CENTER]
    batch = default_model.classify_batch(texts)
    for text, result in zip(texts, batch, strict=True):
        single = default_model.classify(text)
        assert (single.intent, single.out_of_scope) == (result.intent, result.out_of_scope)
        # bfloat16 projections (on CPUs with native bf16) round differently with padding in the
        # batch: decisions must agree exactly, confidences to bf16's precision.
        assert single.confidence == pytest.approx(result.confidence, abs=5e-3)
    assert default_model.classify_batch([]) == []


def test_concurrent_classify_from_threads(default_model: IntentModel) -> None:
    """Activities classify from worker threads; the tokenizer and model must not trip."""
    from concurrent.futures import ThreadPoolExecutor

    texts = list(CONTACT_CENTER) * 3
    expected = [default_model.classify(t).intent for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: default_model.classify(t).intent, texts))
    assert got == expected


def test_bf16_and_fp32_serving_agree_on_the_example_data() -> None:
    """The bundled model served with bfloat16 projections decides as the float32 one does."""
    from classifier.example_data import build_example_rows

    texts = [text for text, _ in build_example_rows()["test"]]
    exact = IntentModel.load(default_model_dir(), precision="fp32").classify_batch(texts)
    fast = IntentModel.load(default_model_dir(), precision="bf16").classify_batch(texts)
    same = sum(
        a.intent == b.intent and a.out_of_scope == b.out_of_scope
        for a, b in zip(exact, fast, strict=True)
    )
    assert same / len(texts) >= 0.98
    drift = max(abs(a.confidence - b.confidence) for a, b in zip(exact, fast, strict=True))
    assert drift < 0.05
