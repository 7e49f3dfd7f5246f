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

Packing: oneDNN multiplies a plain bfloat16 weight by first reordering it into its blocked
layout, on every call. :class:`LeanBert` reorders each bfloat16 projection once, at load
(``mkldnn._reorder_linear_weight``), and multiplies with the packed weight: the same kernel on
the same numbers (the tests compare both passes), about a third less time per utterance on
this project's 2-core machine (``bench/classifier/contention`` prints both). The packed weights
are buffers of the module, so the traced graph reads them as attributes (an opaque oneDNN
tensor cannot be a graph constant).
"""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from classifier.tracing import trace

logger = logging.getLogger(__name__)

_GELU = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}

FP32 = "fp32"
BF16 = "bf16"
PRECISIONS = (FP32, BF16)
_PACK_ROWS = 16
"""Rows (tokens) the packed layout is chosen for: a turn's length; any count multiplies."""


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (else bfloat16 is emulated, slow)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def _packed_product(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x @ weight.T`` in bfloat16 for a weight packed by :func:`_pack` (float32 result)."""
    return torch.ops.mkldnn._linear_pointwise(
        x.to(torch.bfloat16), weight, None, "none", [], ""
    ).float()


@functools.cache
def _scripted_product() -> Any:
    # Scripted, not traced: a trace cannot record the operator's empty list of post-op scalars.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # as torch.jit.trace is, below
        return torch.jit.script(_packed_product)


def _pack(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` reordered once into oneDNN's blocked layout (see the module docstring)."""
    return torch.ops.mkldnn._reorder_linear_weight(weight, _PACK_ROWS)


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    if weight.is_mkldnn:
        return _scripted_product()(x, weight) + bias
    if weight.dtype is torch.bfloat16:
        return F.linear(x.to(torch.bfloat16), weight).float() + bias
    return F.linear(x, weight, bias)


def _packing_works() -> bool:
    """Whether this torch build packs and multiplies bfloat16 weights (checked once, on a
    small product against the plain one)."""
    try:
        generator = torch.Generator().manual_seed(0)
        weight = torch.randn(24, 16, generator=generator).to(torch.bfloat16)
        x = torch.randn(3, 16, generator=generator)
        plain = F.linear(x.to(torch.bfloat16), weight).float()
        with torch.inference_mode():
            return bool(torch.allclose(_scripted_product()(x, _pack(weight)), plain, atol=1e-2))
    except Exception as exc:  # an unusual torch build: multiply the plain weights
        logger.warning("bfloat16 weights not packed (%s: %s)", type(exc).__name__, exc)
        return False


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


class _Layer(nn.Module):
    """One encoder layer's weights, as (non-persistent) buffers: a trace reads them as the
    module's attributes, which packed weights need (see the module docstring)."""

    def __init__(self, layer: Any, dtype: torch.dtype, pack: bool) -> None:
        super().__init__()

        def projection(weight: torch.Tensor) -> torch.Tensor:
            weight = weight.detach().to(dtype)
            return _pack(weight) if pack else weight

        attn = layer.attention.self
        out = layer.attention.output
        final = layer.output
        weights = {
            "qkv": projection(torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])),
            "qkv_bias": torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]).detach(),
            "out": projection(out.dense.weight),
            "out_bias": out.dense.bias.detach(),
            "ln1_weight": out.LayerNorm.weight.detach(),
            "ln1_bias": out.LayerNorm.bias.detach(),
            "ff_in": projection(layer.intermediate.dense.weight),
            "ff_in_bias": layer.intermediate.dense.bias.detach(),
            "ff_out": projection(final.dense.weight),
            "ff_out_bias": final.dense.bias.detach(),
            "ln2_weight": final.LayerNorm.weight.detach(),
            "ln2_bias": final.LayerNorm.bias.detach(),
        }
        for name, tensor in weights.items():
            self.register_buffer(name, tensor, persistent=False)
        self.ln1_eps = float(out.LayerNorm.eps)
        self.ln2_eps = float(final.LayerNorm.eps)


class LeanBert(nn.Module):
    """``last_hidden_state`` of a ``BertModel`` (a snapshot of its weights, inference only).

    ``precision`` is ``fp32`` (exact) or ``bf16`` (projection weights in bfloat16, see above);
    ``pack`` (default: where this torch build can) packs the bfloat16 weights once.
    """

    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor
    emb_ln_weight: torch.Tensor
    emb_ln_bias: torch.Tensor

    def __init__(self, model: Any, precision: str = FP32, pack: bool | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        super().__init__()
        self.precision = precision
        dtype = torch.bfloat16 if precision == BF16 else torch.float32
        if pack is None:
            pack = precision == BF16 and _packing_works()
        elif pack and precision != BF16:
            raise ValueError("only bfloat16 weights are packed")
        self.packed = pack
        config = model.config
        emb = model.embeddings
        self.heads = int(config.num_attention_heads)
        self.hidden = int(config.hidden_size)
        self.approximate = _GELU[config.hidden_act]
        self.register_buffer("word", emb.word_embeddings.weight.detach(), persistent=False)
        self.register_buffer("position", emb.position_embeddings.weight.detach(), persistent=False)
        self.register_buffer(
            "token_type", emb.token_type_embeddings.weight[0].detach(), persistent=False
        )
        self.register_buffer("emb_ln_weight", emb.LayerNorm.weight.detach(), persistent=False)
        self.register_buffer("emb_ln_bias", emb.LayerNorm.bias.detach(), persistent=False)
        self.emb_ln_eps = float(emb.LayerNorm.eps)
        self.layers = nn.ModuleList(_Layer(layer, dtype, pack) for layer in model.encoder.layer)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        x = self.word[ids] + self.position[:length] + self.token_type
        return F.layer_norm(
            x, (self.hidden,), self.emb_ln_weight, self.emb_ln_bias, eps=self.emb_ln_eps
        )

    def layers_forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, start: int = 0, stop: int | None = None
    ) -> torch.Tensor:
        """Run layers ``start:stop`` on hidden states ``x`` [batch, length, hidden]."""
        batch, length, hidden = x.shape
        heads = self.heads
        keys = attention_mask(mask)
        x = x.reshape(-1, hidden)
        layer: Any
        for layer in self.layers[start:stop]:
            qkv = _linear(x, layer.qkv, layer.qkv_bias)
            qkv = qkv.view(batch, length, 3, heads, hidden // heads).permute(2, 0, 3, 1, 4)
            attn = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=keys)
            attn = attn.transpose(1, 2).reshape(-1, hidden)
            x = F.layer_norm(
                _linear(attn, layer.out, layer.out_bias) + x,
                (hidden,),
                layer.ln1_weight,
                layer.ln1_bias,
                eps=layer.ln1_eps,
            )
            inner = F.gelu(_linear(x, layer.ff_in, layer.ff_in_bias), approximate=self.approximate)
            x = F.layer_norm(
                _linear(inner, layer.ff_out, layer.ff_out_bias) + x,
                (hidden,),
                layer.ln2_weight,
                layer.ln2_bias,
                eps=layer.ln2_eps,
            )
        return x.view(batch, length, hidden)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.layers_forward(self.embed(ids), mask)


class _Unmasked(nn.Module):
    def __init__(self, lean: LeanBert) -> None:
        super().__init__()
        self.lean = lean

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lean(ids, None)


class _Masked(_Unmasked):
    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.lean(ids, mask)


class TracedLean:
    """:class:`LeanBert`'s forward pass recorded once as a TorchScript graph (``torch.jit.trace``),
    for serving: the same operations on the same weights, run by one call into C++.

    Why: the eager pass is about a hundred Python-level tensor operations, and each gives the GIL
    back and must take it again. In a worker whose event loop and workflow threads keep the GIL
    busy, the classifier's thread then waits at every one of them: one utterance beside a busy
    Python thread took p95 1.3 s eager against 23 ms traced (and alone ~8% less time). Shapes
    stay dynamic (length and batch are read from the input inside the graph); the graph is
    checked against the eager pass on other shapes before use, and :func:`traced` falls back to
    the eager pass if tracing or that check fails.
    """

    def __init__(self, lean: LeanBert) -> None:
        self.lean = lean
        self.precision = lean.precision
        ids = torch.full((2, 7), 1000, dtype=torch.long)
        mask = torch.ones_like(ids)
        mask[1, 5:] = 0
        self._one = trace(_Unmasked(lean), (ids[:1],))
        self._masked = trace(_Masked(lean), (ids, mask))
        self._check()

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if mask is None:
            return self._one(ids)
        return self._masked(ids, mask)

    def _check(self) -> None:
        """The graph gives the eager pass's numbers on shapes it was not traced with."""
        generator = torch.Generator().manual_seed(0)
        ids = torch.randint(1000, 2000, (3, 19), generator=generator)
        mask = torch.ones_like(ids)
        mask[1, 11:] = 0
        mask[2, 4:] = 0
        with torch.inference_mode():
            for got, want in (
                (self(ids[:1, :13], None), self.lean(ids[:1, :13], None)),
                (self(ids, mask), self.lean(ids, mask)),
            ):
                if got.shape != want.shape or not torch.allclose(got, want, atol=1e-5, rtol=0):
                    raise RuntimeError("the traced encoder differs from the eager pass")


def traced(lean: LeanBert) -> TracedLean | LeanBert:
    """The traced forward pass, or the eager one where tracing is not possible here."""
    try:
        return TracedLean(lean)
    except Exception as exc:  # an unusual torch build or encoder: serve the eager pass
        logger.warning(
            "encoder not traced (%s: %s); serving the eager pass", type(exc).__name__, exc
        )
        return lean


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
