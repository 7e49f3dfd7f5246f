"""A lean inference-only forward pass for BERT-family encoders (MiniLM is one).

Why it exists: for one 10-20 token utterance, a MiniLM-L6 forward pass is a few milliseconds of
matrix products plus a comparable amount of Python overhead in the general ``transformers``
module (configuration checks, mask builders, hooks, three separate Q/K/V projections). This
module runs the same weights and the same arithmetic with one fused QKV projection per layer and
no per-call bookkeeping; results match the reference implementation to float rounding, which
``supports_lean`` plus the tests check. Anything that is not a plain post-LayerNorm BERT
(different activation, relative positions, decoders) uses the ``transformers`` module instead.
Training never uses this path (it has no dropout and no gradients by design).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_GELU = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}


def supports_lean(model: nn.Module) -> bool:
    config: Any = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) != "bert":
        return False
    return (
        config.hidden_act in _GELU
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and not getattr(config, "is_decoder", False)
        and hasattr(model, "embeddings")
        and hasattr(model, "encoder")
    )


class _Layer:
    __slots__ = (
        "ff_in",
        "ff_in_bias",
        "ff_out",
        "ff_out_bias",
        "ln1",
        "ln2",
        "out",
        "out_bias",
        "qkv",
        "qkv_bias",
    )

    def __init__(self, layer: Any) -> None:
        attn = layer.attention.self
        self.qkv = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]).detach()
        self.qkv_bias = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]).detach()
        out = layer.attention.output
        self.out, self.out_bias = out.dense.weight.detach(), out.dense.bias.detach()
        self.ln1 = (out.LayerNorm.weight.detach(), out.LayerNorm.bias.detach(), out.LayerNorm.eps)
        self.ff_in = layer.intermediate.dense.weight.detach()
        self.ff_in_bias = layer.intermediate.dense.bias.detach()
        final = layer.output
        self.ff_out, self.ff_out_bias = final.dense.weight.detach(), final.dense.bias.detach()
        self.ln2 = (
            final.LayerNorm.weight.detach(),
            final.LayerNorm.bias.detach(),
            final.LayerNorm.eps,
        )


class LeanBert:
    """``last_hidden_state`` of a ``BertModel`` for given ids and optional padding mask."""

    def __init__(self, model: Any) -> None:
        config = model.config
        emb = model.embeddings
        self.heads = int(config.num_attention_heads)
        self.hidden = int(config.hidden_size)
        self.approximate = _GELU[config.hidden_act]
        self.word = emb.word_embeddings.weight.detach()
        self.position = emb.position_embeddings.weight.detach()
        self.token_type = emb.token_type_embeddings.weight[0].detach()
        self.emb_ln = (
            emb.LayerNorm.weight.detach(),
            emb.LayerNorm.bias.detach(),
            emb.LayerNorm.eps,
        )
        self.layers = [_Layer(layer) for layer in model.encoder.layer]

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, length = ids.shape
        hidden, heads = self.hidden, self.heads
        x = self.word[ids] + self.position[:length] + self.token_type
        x = F.layer_norm(x, (hidden,), *self.emb_ln[:2], eps=self.emb_ln[2]).view(-1, hidden)
        # Padding keys are masked out; unpadded single sequences need no mask at all.
        attn_mask = None if mask is None else mask[:, None, None, :].to(torch.bool)
        for layer in self.layers:
            qkv = F.linear(x, layer.qkv, layer.qkv_bias)
            qkv = qkv.view(batch, length, 3, heads, hidden // heads).permute(2, 0, 3, 1, 4)
            attn = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
            attn = attn.transpose(1, 2).reshape(-1, hidden)
            x = F.layer_norm(
                F.linear(attn, layer.out, layer.out_bias) + x,
                (hidden,),
                layer.ln1[0],
                layer.ln1[1],
                eps=layer.ln1[2],
            )
            inner = F.gelu(F.linear(x, layer.ff_in, layer.ff_in_bias), approximate=self.approximate)
            x = F.layer_norm(
                F.linear(inner, layer.ff_out, layer.ff_out_bias) + x,
                (hidden,),
                layer.ln2[0],
                layer.ln2[1],
                eps=layer.ln2[2],
            )
        return x.view(batch, length, hidden)
