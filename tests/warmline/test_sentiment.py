from __future__ import annotations

import pytest

from warmline.sentiment import raw_valence, sentiment_score


@pytest.mark.parametrize(
    "text",
    [
        "I want to reset my password",
        "Where is order 12345?",
        "my card was declined",
        "",
    ],
)
def test_neutral_text_scores_zero(text: str) -> None:
    assert sentiment_score(text) == 0.0


@pytest.mark.parametrize(
    "word",
    [
        "terrible",
        "useless",
        "angry",
        "ridiculous",
        "worst",
        "furious",
        "unacceptable",
        "waste",
        "scam",
        "hate",
    ],
)
def test_listed_negative_words_score_negative(word: str) -> None:
    assert sentiment_score(f"this is {word}") < -0.3


@pytest.mark.parametrize("word", ["great", "excellent", "helpful", "thanks", "perfect", "love"])
def test_positive_words_score_positive(word: str) -> None:
    assert sentiment_score(f"that was {word}") > 0.3


def test_score_stays_in_range_for_extreme_text() -> None:
    angry = "WORST USELESS TERRIBLE SCAM, I HATE IT, FURIOUS!!! " * 20
    happy = "excellent perfect amazing wonderful love it, thanks " * 20
    assert -1.0 <= sentiment_score(angry) < -0.99
    assert 0.99 < sentiment_score(happy) <= 1.0


def test_negation_flips_positive_to_negative() -> None:
    assert sentiment_score("good") > 0
    assert sentiment_score("not good") < 0
    assert sentiment_score("this isn't helpful") < 0
    assert sentiment_score("it is not very good") < sentiment_score("not good")


def test_negated_negative_is_only_mildly_positive() -> None:
    assert 0 < sentiment_score("not bad") < sentiment_score("good")
    assert 0 < sentiment_score("I am not angry") < 0.3


def test_negation_stops_at_clause_boundary() -> None:
    assert sentiment_score("no, this is terrible") < -0.5
    assert sentiment_score("not sure. this is great") > 0.3


def test_negation_reaches_only_a_few_words() -> None:
    assert sentiment_score("I did not expect that the service would be great") > 0


def test_intensifiers_scale_and_downtoners_soften() -> None:
    assert sentiment_score("very bad") < sentiment_score("bad") < sentiment_score("a bit bad") < 0
    assert sentiment_score("absolutely useless") < sentiment_score("useless")


def test_caps_word_is_stronger() -> None:
    assert sentiment_score("this is TERRIBLE") < sentiment_score("this is terrible")


def test_shouting_pushes_neutral_text_negative() -> None:
    assert sentiment_score("I NEED MY MONEY BACK RIGHT NOW") < -0.3
    assert sentiment_score("I need my money back right now") == 0.0


def test_exclamation_runs_push_negative() -> None:
    assert sentiment_score("where is my order!!!") < 0
    assert sentiment_score("where is my order!") == 0.0
    assert sentiment_score("this is bad!!!") < sentiment_score("this is bad")


def test_exclamation_penalty_is_capped() -> None:
    few = raw_valence("why!! why!! why!!")
    many = raw_valence("why!! " * 30)
    assert few == many  # 3 runs already reach the cap


def test_enthusiastic_thanks_is_not_anger() -> None:
    assert sentiment_score("THANK YOU SO MUCH!!!") > 0.3


def test_acronyms_are_not_shouting() -> None:
    assert sentiment_score("my ATM PIN does not work") == 0.0


def test_mixed_text_balances() -> None:
    mixed = sentiment_score("the agent was helpful but the app is terrible")
    assert sentiment_score("the app is terrible") < mixed < sentiment_score("helpful")


def test_is_deterministic() -> None:
    text = "This is RIDICULOUS, worst service ever!!!"
    assert len({sentiment_score(text) for _ in range(5)}) == 1
