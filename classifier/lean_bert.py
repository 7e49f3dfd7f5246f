"""Lean forward passes for BERT-family encoders (MiniLM is one), for inference and training.

Why it exists: for one 10-20 token utterance, a MiniLM-L6 forward pass is a few milliseconds of
matrix products plus a comparable amount of Python overhead in the general ``transformers``
module (configuration checks, mask builders, hooks, three separate Q/K/V projections).
:class:`LeanBert` runs the same weights and arithmetic with one fused QKV projection per layer
and no per-call bookkeeping; it matches the reference implementation to float rounding (the
tests check). It can also stop after the first ``k`` layers, which fine-tuning uses to compute
the frozen lower layers once. :func:`train_layers` is the differentiable counterpart for the
upper layers, with the dropout of the pre-trained configuration.

Anything that is not a plain post-LayerNorm BERT (another activation, relative positions,
decoders) keeps using the ``transformers`` module.

Precision: for one short utterance the four projections per layer are bound by reading their
weights from memory, not by arithmetic, so on CPUs with native bfloat16 matrix instructions
(AVX512-BF16, AMX) keeping those weights in bfloat16 halves the forward pass. Only the matrix
products run in bfloat16 (with float32 accumulation inside oneDNN); bias, residuals, LayerNorm,
attention softmax and pooling stay float32, which keeps predictions and calibration where the
float32 model has them (the tests and ``bench/classifier`` compare both).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_GELU = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}

FP32 = "fp32"
BF16 = "bf16"
PRECISIONS = (FP32, BF16)


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (else bfloat16 is emulated, slow)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    if weight.dtype is torch.bfloat16:
        return F.linear(x.to(torch.bfloat16), weight).float() + bias
    return F.linear(x, weight, bias)


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


def attention_mask(mask: torch.Tensor | None) -> torch.Tensor | None:
    """Boolean key mask for scaled_dot_product_attention; None for unpadded input."""
    return None if mask is None else mask[:, None, None, :].to(torch.bool)


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

    def __init__(self, layer: Any, dtype: torch.dtype) -> None:
        attn = layer.attention.self
        qkv = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]).detach()
        self.qkv = qkv.to(dtype)
        self.qkv_bias = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]).detach()
        out = layer.attention.output
        self.out, self.out_bias = out.dense.weight.detach().to(dtype), out.dense.bias.detach()
        self.ln1 = (out.LayerNorm.weight.detach(), out.LayerNorm.bias.detach(), out.LayerNorm.eps)
        self.ff_in = layer.intermediate.dense.weight.detach().to(dtype)
        self.ff_in_bias = layer.intermediate.dense.bias.detach()
        final = layer.output
        self.ff_out = final.dense.weight.detach().to(dtype)
        self.ff_out_bias = final.dense.bias.detach()
        self.ln2 = (
            final.LayerNorm.weight.detach(),
            final.LayerNorm.bias.detach(),
            final.LayerNorm.eps,
        )


class LeanBert:
    """``last_hidden_state`` of a ``BertModel`` (a snapshot of its weights, inference only).

    ``precision`` is ``fp32`` (exact) or ``bf16`` (projection weights in bfloat16, see above).
    """

    def __init__(self, model: Any, precision: str = FP32) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.precision = precision
        dtype = torch.bfloat16 if precision == BF16 else torch.float32
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
        self.layers = [_Layer(layer, dtype) for layer in model.encoder.layer]

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        x = self.word[ids] + self.position[:length] + self.token_type
        return F.layer_norm(x, (self.hidden,), self.emb_ln[0], self.emb_ln[1], eps=self.emb_ln[2])

    def layers_forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, start: int = 0, stop: int | None = None
    ) -> torch.Tensor:
        """Run layers ``start:stop`` on hidden states ``x`` [batch, length, hidden]."""
        batch, length, hidden = x.shape
        heads = self.heads
        keys = attention_mask(mask)
        x = x.reshape(-1, hidden)
        for layer in self.layers[start:stop]:
            qkv = _linear(x, layer.qkv, layer.qkv_bias)
            qkv = qkv.view(batch, length, 3, heads, hidden // heads).permute(2, 0, 3, 1, 4)
            attn = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=keys)
            attn = attn.transpose(1, 2).reshape(-1, hidden)
            x = F.layer_norm(
                _linear(attn, layer.out, layer.out_bias) + x,
                (hidden,),
                layer.ln1[0],
                layer.ln1[1],
                eps=layer.ln1[2],
            )
            inner = F.gelu(_linear(x, layer.ff_in, layer.ff_in_bias), approximate=self.approximate)
            x = F.layer_norm(
                _linear(inner, layer.ff_out, layer.ff_out_bias) + x,
                (hidden,),
                layer.ln2[0],
                layer.ln2[1],
                eps=layer.ln2[2],
            )
        return x.view(batch, length, hidden)

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.layers_forward(self.embed(ids), mask)


def train_layers(
    model: Any, x: torch.Tensor, mask: torch.Tensor | None, start: int, training: bool
) -> torch.Tensor:
    """Differentiable layers ``start:`` of a BERT ``model`` on hidden states ``x``, with the
    configuration's dropout when ``training``; the same arithmetic as :class:`LeanBert`."""
    config = model.config
    heads, hidden = int(config.num_attention_heads), int(config.hidden_size)
    p_attn = float(config.attention_probs_dropout_prob) if training else 0.0
    p_hidden = float(config.hidden_dropout_prob) if training else 0.0
    approximate = _GELU[config.hidden_act]
    batch, length, _ = x.shape
    keys = attention_mask(mask)

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(batch, length, heads, hidden // heads).transpose(1, 2)

    h = x.reshape(-1, hidden)
    for layer in model.encoder.layer[start:]:
        self_attn, out = layer.attention.self, layer.attention.output
        q, k, v = (split(proj(h)) for proj in (self_attn.query, self_attn.key, self_attn.value))
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=keys, dropout_p=p_attn)
        attn = attn.transpose(1, 2).reshape(-1, hidden)
        h = out.LayerNorm(F.dropout(out.dense(attn), p_hidden, training) + h)
        inner = F.gelu(layer.intermediate.dense(h), approximate=approximate)
        final = layer.output
        h = final.LayerNorm(F.dropout(final.dense(inner), p_hidden, training) + h)
    return h.view(batch, length, hidden)
