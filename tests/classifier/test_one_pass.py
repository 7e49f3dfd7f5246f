"""The per-utterance path as one traced call (``classifier.one_pass``) decides exactly what the
eager path decides, on the bundled model and on any text."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier import IntentModel, load_shared
from classifier.data import LabelledData
from classifier.one_pass import OnePass


@pytest.fixture(scope="module")
def both() -> tuple[IntentModel, IntentModel]:
    traced = load_shared()
    eager = copy.copy(traced)
    eager._one = None  # the reference: pooling, head and decision as eager tensor operations
    return traced, eager


def test_the_bundled_model_is_served_in_one_call(both: tuple[IntentModel, IntentModel]) -> None:
    traced, _ = both
    assert isinstance(traced._one, OnePass)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=0, max_size=200))
def test_any_text_gets_the_eager_decision(both: tuple[IntentModel, IntentModel], text: str) -> None:
    traced, eager = both
    got, want = traced.classify(text), eager.classify(text)
    assert (got.intent, got.out_of_scope) == (want.intent, want.out_of_scope)
    assert got.confidence == pytest.approx(want.confidence, abs=1e-4)


def test_held_out_utterances_get_the_eager_decision(
    both: tuple[IntentModel, IntentModel], clinc_subset: dict[str, LabelledData]
) -> None:
    traced, eager = both
    for text in clinc_subset["test"].texts:
        got, want = traced.classify(text), eager.classify(text)
        assert (got.intent, got.out_of_scope) == (want.intent, want.out_of_scope), text
        assert got.confidence == pytest.approx(want.confidence, abs=1e-4), text


@pytest.mark.usefixtures("two_torch_threads")
def test_one_utterance_runs_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's batches keep their threads; one utterance's call runs on one (see
    ``classifier.encoder.one_thread``)."""
    model = load_shared()
    assert model._one is not None
    graph = model._one._graph
    seen: list[int] = []

    def spy(ids: torch.Tensor) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return graph(ids)

    monkeypatch.setattr(model._one, "_graph", spy)
    model.classify("where is my parcel, it is two weeks late")
    assert seen == [1] and torch.get_num_threads() == 2
