"""The lean BERT forward passes compute what the transformers module computes."""

from __future__ import annotations

import torch

from warmline.classifier.encoder import SentenceEncoder, bundled_encoder_path, mean_pool
from warmline.classifier.lean_bert import train_layers


def test_lean_forward_matches_transformers() -> None:
    encoder = SentenceEncoder(bundled_encoder_path())
    assert encoder.fast is not None
    texts = ["reset my password", "where is my parcel, it is two weeks late now", "hi"]
    ids, mask = encoder.tokenizer.pad(encoder.tokenizer.encode(texts))
    with torch.inference_mode():
        reference = encoder.model(input_ids=ids, attention_mask=mask).last_hidden_state
        lean = encoder.fast(ids, mask)
        lower = encoder.fast.layers_forward(encoder.fast.embed(ids), mask, 0, 2)
        upper = train_layers(encoder.model, lower, mask, 2, training=False)
        single = encoder.embed_one(encoder.tokenizer.encode_one(texts[1]))
    keep = mask.bool()
    assert torch.allclose(reference[keep], lean[keep], atol=1e-4)
    assert torch.allclose(reference[keep], upper[keep], atol=1e-4)
    assert torch.allclose(mean_pool(reference, mask)[1], single, atol=1e-5)
