"""The lean BERT forward passes compute what the transformers module computes."""

from __future__ import annotations

import pytest
import torch

from classifier.encoder import (
    PRECISION_ENV,
    SentenceEncoder,
    bundled_encoder_path,
    mean_pool,
    one_thread,
    resolve_precision,
)
from classifier.lean_bert import (
    LeanBert,
    TracedLean,
    _packing_works,
    bf16_native,
    traced,
    train_layers,
)


def test_lean_forward_matches_transformers() -> None:
    encoder = SentenceEncoder(bundled_encoder_path(), precision="fp32")
    assert encoder.fast is not None
    texts = ["reset my password", "where is my parcel, it is two weeks late now", "hi"]
    ids, mask = encoder.tokenizer.pad(encoder.tokenizer.encode(texts))
    assert isinstance(encoder.fast, TracedLean)  # served as one TorchScript graph
    eager = encoder.fast.lean
    with torch.inference_mode():
        reference = encoder.model(input_ids=ids, attention_mask=mask).last_hidden_state
        lean = encoder.fast(ids, mask)
        lower = eager.layers_forward(eager.embed(ids), mask, 0, 2)
        upper = train_layers(encoder.model, lower, mask, 2, training=False)
        single = encoder.embed_one(encoder.tokenizer.encode_one(texts[1]))
    keep = mask.bool()
    assert torch.allclose(reference[keep], lean[keep], atol=1e-4)
    assert torch.allclose(reference[keep], upper[keep], atol=1e-4)
    assert torch.allclose(mean_pool(reference, mask)[1], single, atol=1e-5)


def test_the_traced_pass_is_the_eager_pass_on_any_length_and_batch() -> None:
    encoder = SentenceEncoder(bundled_encoder_path(), precision="fp32")
    assert isinstance(encoder.fast, TracedLean)
    texts = ["hi", "my card was declined at the till twice today and I need it fixed now", "ok"]
    seqs = encoder.tokenizer.encode(texts)
    ids, mask = encoder.tokenizer.pad(seqs)
    with torch.inference_mode():
        assert torch.equal(encoder.fast(ids, mask), encoder.fast.lean(ids, mask))
        for seq in seqs:
            one = torch.tensor([seq])
            assert torch.equal(encoder.fast(one, None), encoder.fast.lean(one, None))


def test_an_encoder_that_cannot_be_traced_is_served_eagerly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoder = SentenceEncoder(bundled_encoder_path(), precision="fp32")
    assert isinstance(encoder.fast, TracedLean)

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("tracing is not supported here")

    monkeypatch.setattr(torch.jit, "trace", refuse)
    served = traced(encoder.fast.lean)
    assert isinstance(served, LeanBert) and served is encoder.fast.lean


def test_bf16_projections_keep_the_embeddings() -> None:
    exact = SentenceEncoder(bundled_encoder_path(), precision="fp32")
    fast = SentenceEncoder(bundled_encoder_path(), precision="bf16")
    assert (exact.precision, fast.precision) == ("fp32", "bf16")
    texts = [
        "I was charged twice for my subscription this month",
        "reset my password please",
        "can you book me a table for two tomorrow at eight",
        "hi",
    ]
    with torch.inference_mode():
        a, b = exact.embed(texts), fast.embed(texts)
    cosine = torch.nn.functional.cosine_similarity(a, b)
    assert bool((cosine > 0.995).all()), cosine
    assert not torch.equal(a, b)  # the bfloat16 path really ran


def test_precision_is_resolved_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert resolve_precision() == "fp32"
    assert resolve_precision("bf16") == "bf16"  # an explicit argument wins
    monkeypatch.setenv(PRECISION_ENV, "auto")
    assert resolve_precision() == ("bf16" if bf16_native() else "fp32")
    monkeypatch.setenv(PRECISION_ENV, "fp16")
    with pytest.raises(ValueError, match="WARMLINE_CLASSIFIER_PRECISION must be auto"):
        resolve_precision()


def test_packed_bf16_weights_give_the_plain_bf16_numbers() -> None:
    """Packing reorders the weights once instead of on every product: the same kernel on the
    same numbers, for one utterance and for padded batches, traced and eager."""
    if not _packing_works():
        pytest.skip("this torch build cannot pack bfloat16 weights")
    encoder = SentenceEncoder(bundled_encoder_path(), precision="bf16")
    assert isinstance(encoder.fast, TracedLean)
    packed = encoder.fast.lean
    assert packed.packed and all(layer.qkv.is_mkldnn for layer in packed.layers)
    plain = LeanBert(encoder.model, "bf16", pack=False)
    assert not plain.packed and not plain.layers[0].qkv.is_mkldnn
    texts = ["hi", "my card was declined at the till twice today and I need it fixed now", "ok"]
    seqs = encoder.tokenizer.encode(texts)
    ids, mask = encoder.tokenizer.pad(seqs)
    with torch.inference_mode():
        want = plain(ids, mask)
        assert torch.allclose(encoder.fast(ids, mask), want, atol=1e-5, rtol=0)
        assert torch.allclose(packed(ids, mask), want, atol=1e-5, rtol=0)
        for seq in seqs:
            one = torch.tensor([seq])
            assert torch.allclose(encoder.fast(one, None), plain(one, None), atol=1e-5, rtol=0)


def test_only_bfloat16_weights_are_packed() -> None:
    encoder = SentenceEncoder(bundled_encoder_path(), precision="fp32")
    assert isinstance(encoder.fast, TracedLean) and not encoder.fast.lean.packed
    with pytest.raises(ValueError, match="only bfloat16 weights are packed"):
        LeanBert(encoder.model, "fp32", pack=True)


@pytest.mark.usefixtures("two_torch_threads")
def test_one_utterance_runs_on_one_thread_and_gives_the_threads_back() -> None:
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("a failed pass")
    assert torch.get_num_threads() == 2
