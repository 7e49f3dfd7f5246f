"""Full fine-tuning of the encoder together with the classification head.

The recipe, and why it fits 15,000+ utterances into minutes on two CPU cores:

* **Prototype start**: the head starts as the normalised mean embedding of each label under the
  pre-trained encoder (a nearest-centroid classifier that is already ~90% right on CLINC150),
  so the epochs refine instead of discovering; one inference pass pays for it.
* **Scaled cosine-like head**: embeddings are unit length, so logits are
  ``scale * (e @ W.T) + b`` with a fixed scale (20); without it the head needs hundreds of steps
  just to grow its weights. The scale is folded into the saved weight, so inference stays a
  plain linear layer and temperature scaling calibrates the result.
* **Length-bucketed batches** and short training sequences (``max_length`` 64): utterances
  are ~12 tokens, and every padded token is paid for twice (forward and backward).
* **Frozen word-embedding table**: it holds half the parameters, gradients for it are mostly
  zeros, and its AdamW update alone would cost a large share of every step.
* AdamW, linear warm-up then linear decay, dropout as pre-trained.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from warmline.classifier.encoder import (
    SentenceEncoder,
    TextTokenizer,
    configure_threads,
    load_transformer,
    mean_pool,
)


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_share: float = 0.06
    max_length: int = 64
    logit_scale: float = 20.0
    freeze_word_embeddings: bool = True
    seed: int = 0


@dataclass
class FineTuned:
    model: PreTrainedModel
    tokenizer: TextTokenizer
    weight: torch.Tensor
    bias: torch.Tensor
    seconds: float
    steps: int


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


def fine_tune(
    encoder_path: Path,
    texts: Sequence[str],
    targets: torch.Tensor,
    n_labels: int,
    config: FineTuneConfig = FineTuneConfig(),
    on_step: Callable[[int, int, float], None] | None = None,
) -> FineTuned:
    """Fine-tune the encoder at ``encoder_path`` and a head for ``n_labels`` labels."""
    configure_threads()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    start = time.perf_counter()

    # Prototype start, computed with the same (pre-trained) weights the training begins from.
    reference = SentenceEncoder(encoder_path)
    weight0 = prototypes(reference.embed(texts), targets, n_labels)
    del reference

    tokenizer = TextTokenizer(encoder_path, config.max_length)
    seqs = tokenizer.encode(texts)
    model = load_transformer(encoder_path)
    embeddings = model.get_input_embeddings()
    if config.freeze_word_embeddings and embeddings is not None:
        embeddings.weight.requires_grad_(False)
    weight = torch.nn.Parameter(weight0.clone())
    bias = torch.nn.Parameter(torch.zeros(n_labels))

    steps_per_epoch = math.ceil(len(seqs) / config.batch_size)
    total = max(1, round(steps_per_epoch * config.epochs))
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
    while step < total:
        for batch in _bucketed([len(s) for s in seqs], config.batch_size, rng):
            ids, mask = tokenizer.pad([seqs[i] for i in batch])
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = config.logit_scale * F.linear(mean_pool(hidden, mask), weight) + bias
            loss = F.cross_entropy(logits, targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if on_step is not None:
                on_step(step, total, float(loss))
            if step >= total:
                break
    model.eval()
    return FineTuned(
        model=model,
        tokenizer=tokenizer,
        weight=(config.logit_scale * weight).detach(),
        bias=bias.detach(),
        seconds=time.perf_counter() - start,
        steps=step,
    )
