"""Full fine-tuning of the encoder together with the classification head.

The recipe, and why it fits 15,000+ utterances into minutes on two CPU cores:

* **One inference pass first**, which yields two things. The head starts as the normalised mean
  embedding of each label (a nearest-centroid classifier, already ~90% right on CLINC150), so
  the epochs refine instead of discovering. And the output of the lowest ``frozen_layers``
  layers is cached: those layers (and the embeddings) stay as pre-trained, so training runs the
  upper layers only, about a third less compute per step for two of six layers frozen, at no
  measurable accuracy cost on CLINC150.
* **Scaled head**: embeddings are unit length, so logits are ``scale * (e @ W.T) + b`` with a
  fixed scale (20); without it the head needs hundreds of steps just to grow its weights. The
  scale is folded into the saved weight, so inference is a plain linear layer and temperature
  scaling calibrates the result.
* **Length-bucketed batches** and short training sequences (``max_length`` 64): utterances are
  ~12 tokens, and every padded token is paid for twice (forward and backward).
* AdamW, linear warm-up then linear decay, dropout as pre-trained.
* Optional **supervised-contrastive** term (``contrastive_weight`` > 0; Khosla et al. 2020, as
  used for out-of-scope detection by Zeng et al. 2021): on the unit-length pooled embeddings,
  each in-scope row is pulled towards the other rows of its intent in the batch and pushed from
  the rest. Batches are then built from pairs of same-intent rows, so that every anchor has a
  positive; out-of-scope rows (``oos_index``) are negatives only, never anchors or positives.

Encoders that are not plain BERTs (see :mod:`.lean_bert`) train through their ``transformers``
module with all layers but the word embeddings trainable.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from classifier.encoder import (
    TextTokenizer,
    configure_threads,
    length_batches,
    load_transformer,
    mean_pool,
)
from classifier.lean_bert import LeanBert, supports_lean, train_layers

CACHE_BATCH = 128


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: float = 4.0
    batch_size: int = 32
    learning_rate: float = 1.5e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_share: float = 0.06
    max_length: int = 64
    logit_scale: float = 20.0
    frozen_layers: int = 2
    seed: int = 0
    contrastive_weight: float = 0.0
    contrastive_temperature: float = 0.1


@dataclass
class FineTuned:
    model: PreTrainedModel
    tokenizer: TextTokenizer
    weight: torch.Tensor
    bias: torch.Tensor
    seconds: float
    steps: int
    frozen_layers: int


def prototypes(embeddings: torch.Tensor, targets: torch.Tensor, n_labels: int) -> torch.Tensor:
    """Unit-length mean embedding per label (zeros for a label without rows)."""
    sums = torch.zeros((n_labels, embeddings.shape[1])).index_add_(0, targets, embeddings)
    return F.normalize(sums, dim=-1)


def _bucketed(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, then sort by length within windows of 50 batches: little padding, still random."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _paired(
    lengths: Sequence[int], targets: list[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Like :func:`_bucketed`, but over pairs of rows of one label (a label's odd row out and
    single rows stay alone), so each batch holds about ``batch_size // 2`` positive pairs."""
    by_label: dict[int, list[int]] = {}
    for i, label in enumerate(targets):
        by_label.setdefault(label, []).append(i)
    units: list[list[int]] = []
    for rows in by_label.values():
        rng.shuffle(rows)
        units += [rows[i : i + 2] for i in range(0, len(rows), 2)]
    rng.shuffle(units)
    per_batch = max(1, batch_size // 2)
    window = per_batch * 50
    batches: list[list[int]] = []
    for start in range(0, len(units), window):
        chunk = sorted(units[start : start + window], key=lambda u: max(lengths[i] for i in u))
        for i in range(0, len(chunk), per_batch):
            batches.append([row for unit in chunk[i : i + per_batch] for row in unit])
    rng.shuffle(batches)
    return batches


def supervised_contrastive(
    embeddings: torch.Tensor, targets: torch.Tensor, temperature: float, negative_only: int | None
) -> torch.Tensor:
    """Mean SupCon loss over the anchors that have a positive in the batch (zero if none).

    ``embeddings`` are unit length; rows labelled ``negative_only`` are only ever negatives."""
    n = len(targets)
    similarity = embeddings @ embeddings.T / temperature
    self_mask = torch.eye(n, dtype=torch.bool)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    positive = (targets[:, None] == targets[None, :]) & ~self_mask
    if negative_only is not None:
        positive &= (targets != negative_only)[:, None]
    counts = positive.sum(dim=1)
    anchors = counts > 0
    if not bool(anchors.any()):
        return embeddings.sum() * 0.0
    summed = log_prob.masked_fill(~positive, 0.0).sum(dim=1)
    return -(summed[anchors] / counts[anchors]).mean()


def _first_pass(
    model: PreTrainedModel, tokenizer: TextTokenizer, seqs: list[list[int]], frozen: int
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Pre-trained embeddings of every utterance, and the frozen layers' output per utterance
    (float16 to halve the memory: about 0.8 KB per token for MiniLM)."""
    dim = int(model.config.hidden_size)
    embeddings = torch.empty((len(seqs), dim))
    cache: list[torch.Tensor] = [torch.empty(0)] * len(seqs) if frozen else []
    lean = LeanBert(model) if frozen else None
    model.eval()
    with torch.no_grad():
        for index in length_batches(seqs, CACHE_BATCH):
            ids, mask = tokenizer.pad([seqs[i] for i in index])
            if lean is not None:
                lower = lean.layers_forward(lean.embed(ids), mask, 0, frozen)
                hidden = lean.layers_forward(lower, mask, frozen)
                for row, i in enumerate(index):
                    cache[i] = lower[row, : len(seqs[i])].to(torch.float16)
            else:
                hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            embeddings[index] = mean_pool(hidden, mask)
    return embeddings, cache


def _cached_batch(cache: list[torch.Tensor], batch: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(cache[i]) for i in batch)
    hidden = torch.zeros((len(batch), length, cache[batch[0]].shape[1]))
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    for row, i in enumerate(batch):
        hidden[row, : len(cache[i])] = cache[i].float()
        mask[row, : len(cache[i])] = 1
    return hidden, mask


def _freeze(model: Any, frozen: int) -> None:
    embeddings = model.get_input_embeddings()
    if frozen == 0:
        # The word table holds half the parameters and its gradient is mostly zeros.
        embeddings.weight.requires_grad_(False)
        return
    for module in (model.embeddings, *model.encoder.layer[:frozen]):
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def fine_tune(
    encoder_path: Path,
    texts: Sequence[str],
    targets: torch.Tensor,
    n_labels: int,
    config: FineTuneConfig = FineTuneConfig(),
    on_step: Callable[[int, int, float], None] | None = None,
    oos_index: int | None = None,
) -> FineTuned:
    """Fine-tune the encoder at ``encoder_path`` and a head for ``n_labels`` labels
    (``oos_index``: the out-of-scope label, if any, for the contrastive term)."""
    configure_threads()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    start = time.perf_counter()

    tokenizer = TextTokenizer(encoder_path, config.max_length)
    seqs = tokenizer.encode(texts)
    model = load_transformer(encoder_path)
    n_layers = int(model.config.num_hidden_layers)
    frozen = min(max(config.frozen_layers, 0), n_layers - 1) if supports_lean(model) else 0
    embeddings, cache = _first_pass(model, tokenizer, seqs, frozen)
    weight = torch.nn.Parameter(prototypes(embeddings, targets, n_labels))
    bias = torch.nn.Parameter(torch.zeros(n_labels))
    del embeddings
    _freeze(model, frozen)

    total = max(1, round(math.ceil(len(seqs) / config.batch_size) * config.epochs))
    warmup = max(1, round(total * config.warmup_share))
    optimizer = torch.optim.AdamW(
        [
            {
                "params": [p for p in model.parameters() if p.requires_grad],
                "lr": config.learning_rate,
                "weight_decay": config.weight_decay,
            },
            {"params": [weight, bias], "lr": config.head_learning_rate, "weight_decay": 0.0},
        ]
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total)
    )
    model.train()
    step = 0
    lengths = [len(s) for s in seqs]
    contrastive = config.contrastive_weight > 0
    target_list = [int(t) for t in targets]
    while step < total:
        if contrastive:
            batches = _paired(lengths, target_list, config.batch_size, rng)
        else:
            batches = _bucketed(lengths, config.batch_size, rng)
        for batch in batches:
            if frozen:
                lower, mask = _cached_batch(cache, batch)
                hidden = train_layers(model, lower, mask, frozen, training=True)
            else:
                ids, mask = tokenizer.pad([seqs[i] for i in batch])
                hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            pooled = mean_pool(hidden, mask)
            logits = config.logit_scale * F.linear(pooled, weight) + bias
            loss = F.cross_entropy(logits, targets[batch])
            if contrastive:
                loss = loss + config.contrastive_weight * supervised_contrastive(
                    pooled, targets[batch], config.contrastive_temperature, oos_index
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if on_step is not None:
                on_step(step, total, loss.item())
            if step >= total:
                break
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return FineTuned(
        model=model,
        tokenizer=tokenizer,
        weight=(config.logit_scale * weight).detach(),
        bias=bias.detach(),
        seconds=time.perf_counter() - start,
        steps=step,
        frozen_layers=frozen,
    )
