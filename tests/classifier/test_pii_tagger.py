"""The bundled name/address tagger: local files only, spans in the text's offsets, the same
tags alone or in a batch, long texts tagged to the end, and a tiny training run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from classifier.pii.corpus import TEST, TRAIN, bucket_of, generate
from classifier.pii.tagger import NameAddressTagger, load_shared_tagger, traced_net
from classifier.pii.training import TrainOptions, piece_tags, train
from models.redaction import PiiKind
from warmline.pii import new_state, redact_message


@pytest.fixture(scope="module")
def tagger() -> NameAddressTagger:
    return load_shared_tagger()


def _found(tagger: NameAddressTagger, text: str) -> list[tuple[PiiKind, str]]:
    return [(s.kind, text[s.start : s.end]) for s in tagger.find(text)]


def test_bundled_tagger_loads(tagger: NameAddressTagger) -> None:
    assert tagger.version.startswith("pii-") and 0 < tagger.spec.threshold < 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi, my name is John Smith", [(PiiKind.NAME, "John Smith")]),
        ("please ship it to 221 Baker Street, London NW1 6XE",
         [(PiiKind.ADDRESS, "221 Baker Street, London NW1 6XE")]),
        ("where is my parcel? it was due monday", []),
        ("what's the weather in Paris tomorrow", []),
    ],
)  # fmt: skip
def test_clear_cases(
    tagger: NameAddressTagger, text: str, expected: list[tuple[PiiKind, str]]
) -> None:
    assert _found(tagger, text) == expected


def test_batch_equals_single(tagger: NameAddressTagger) -> None:
    texts = [
        "this is Maria Rossi",
        "ok",
        "deliver to 12 rue de la Paix, 75002 Paris please, and thanks a lot for the help today",
        "",
    ]
    assert tagger.find_batch(texts) == [tagger.find(t) for t in texts]


def test_long_texts_are_tagged_to_the_end(tagger: NameAddressTagger) -> None:
    text = "my parcel is late again and nobody answers the phone. " * 30 + "my name is John Smith"
    found = tagger.find(text)
    assert found and text[found[-1].start : found[-1].end] == "John Smith"


def test_spans_feed_the_core(tagger: NameAddressTagger) -> None:
    text = "this is John Smith, card 4111 1111 1111 1111"
    result = redact_message(new_state("s"), text, tagger.find(text))
    assert result.text == "this is [NAME_1], card [CARD_1]"


def test_the_traced_network_tags_as_the_eager_module(tagger: NameAddressTagger) -> None:
    """Served as one graph (traced at load), with the eager module's numbers and spans on
    lengths and batches it was not traced with, long texts' windows included."""
    assert isinstance(tagger._serve, torch.jit.ScriptModule)
    texts = [
        "hi, my name is John Smith",
        "please ship it to 221 Baker Street, London NW1 6XE",
        "ok",
        "Jean Dupont here, " * 60 + "I moved to 12 rue de Rivoli, Paris",
    ]
    served = tagger.probabilities(texts)
    spans = tagger.find_batch(texts)
    eager = NameAddressTagger(tagger.path, tagger.spec, tagger.net, tagger.version)
    eager._serve = eager.net
    for (_, want), (_, got) in zip(eager.probabilities(texts), served, strict=True):
        assert torch.allclose(got, want, atol=1e-5, rtol=0)
    assert eager.find_batch(texts) == spans


def test_a_network_that_cannot_be_traced_is_served_eagerly(
    tagger: NameAddressTagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("tracing is not supported here")

    monkeypatch.setattr(torch.jit, "trace", refuse)
    assert traced_net(tagger.net) is tagger.net


def test_non_text_is_a_type_error(tagger: NameAddressTagger) -> None:
    with pytest.raises(TypeError, match="item 0"):
        tagger.find_batch([42])  # type: ignore[list-item]


def test_corpus_splits_names_and_templates() -> None:
    train_side = generate(TRAIN, 60, seed=3)
    test_side = generate(TEST, 60, seed=3)
    for example in test_side:
        for kind, start, end in example.spans:
            if kind == "NAME":
                assert all(bucket_of(w) == TEST for w in example.text[start:end].split())
    assert {e.text for e in train_side}.isdisjoint(e.text for e in test_side)


def test_piece_tags_mark_span_pieces(tagger: NameAddressTagger) -> None:
    from classifier.pii.features import encode

    text = "I'm Jean Dupont"
    [pieces] = encode(tagger.tokenizer, [text])
    tags = piece_tags(pieces, [("NAME", 4, 15)])
    assert tags[0] == 0 and tags[-1] in (2,) and 1 in tags


def test_a_tiny_training_run_writes_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "tagger"
    metrics = train(out, TrainOptions(generated=120, clean=60, epochs=1, validation=60))
    loaded = NameAddressTagger.load(out)
    assert loaded.version.startswith("pii-") and "validation" in metrics
    assert isinstance(loaded.find("my name is John Smith"), list)


@pytest.mark.usefixtures("two_torch_threads")
def test_the_tagger_runs_on_one_thread(
    tagger: NameAddressTagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tagger._serve
    seen: list[int] = []

    def spy(*args: torch.Tensor) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return served(*args)

    monkeypatch.setattr(tagger, "_serve", spy)
    tagger.find_batch(["hi, my name is John Smith", "ok"])
    assert seen == [1] and torch.get_num_threads() == 2
