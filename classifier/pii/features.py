"""Word pieces and word shapes of a text, with character offsets back into it.

The bundled MiniLM vocabulary is uncased and strips accents, so "Jean Dupont" and "jean
dupont" are the same pieces; the shape features put back what the text shows (capitals,
digits, punctuation, where words start), which is often what tells a name from a word.
Long texts are cut into overlapping windows of ``MAX_PIECES``: every piece of every text is
tagged, none is dropped by truncation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from classifier.pii.network import SHAPE_FEATURES

MAX_PIECES = 128
STRIDE = 96  # windows overlap by 32 pieces, so every piece sees context on both sides
MAX_CHARS = 20_000


@dataclass(frozen=True)
class Pieces:
    """One text as word pieces."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    shapes: list[list[float]]


def load_tokenizer(encoder_dir: Path) -> Tokenizer:
    """The encoder's Rust tokenizer, without truncation or padding (windows are cut here)."""
    hf = AutoTokenizer.from_pretrained(str(encoder_dir), local_files_only=True, use_fast=True)
    backend = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    backend.no_truncation()
    backend.no_padding()
    return backend


def _shape(text: str, start: int, end: int, continuation: bool, first: bool) -> list[float]:
    piece = text[start:end]
    letters = [ch for ch in piece if ch.isalpha()]
    return [
        float(bool(letters) and piece[:1].isupper()),
        float(len(letters) > 1 and all(ch.isupper() for ch in letters)),
        float(any(ch.isdigit() for ch in piece)),
        float(piece.isdigit()),
        float(not any(ch.isalnum() for ch in piece)),
        float(continuation),
        float(start > 0 and text[start - 1].isspace()),
        float(first),
    ]


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[Pieces]:
    texts = [t[:MAX_CHARS] for t in texts]
    out: list[Pieces] = []
    for text, enc in zip(texts, tokenizer.encode_batch(list(texts), add_special_tokens=False),
                         strict=True):  # fmt: skip
        offsets = [tuple(o) for o in enc.offsets]
        shapes = [
            _shape(text, s, e, token.startswith("##"), i == 0)
            for i, ((s, e), token) in enumerate(zip(offsets, enc.tokens, strict=True))
        ]
        out.append(Pieces(list(enc.ids), [(int(s), int(e)) for s, e in offsets], shapes))
    return out


@dataclass(frozen=True)
class Window:
    """Pieces ``[start, start + len(ids))`` of text ``text``; it decides ``[own_from, own_to)``."""

    text: int
    start: int
    own_from: int
    own_to: int


def windows(pieces: Sequence[Pieces]) -> list[Window]:
    """Windows of at most ``MAX_PIECES`` covering every text; each piece owned by one."""
    found: list[Window] = []
    margin = (MAX_PIECES - STRIDE) // 2
    for index, item in enumerate(pieces):
        length = len(item.ids)
        if length == 0:
            continue
        start = 0
        while True:
            end = min(length, start + MAX_PIECES)
            own_from = 0 if start == 0 else start + margin
            own_to = length if end == length else end - margin
            found.append(Window(index, start, own_from, own_to))
            if end == length:
                break
            start += STRIDE
    return found


def batch(
    pieces: Sequence[Pieces], chosen: Sequence[Window]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ids, shapes and mask of ``chosen`` windows."""
    spans = [
        (pieces[w.text], w.start, min(len(pieces[w.text].ids), w.start + MAX_PIECES))
        for w in chosen
    ]
    length = max(end - start for _, start, end in spans)
    ids = torch.zeros((len(spans), length), dtype=torch.long)
    shapes = torch.zeros((len(spans), length, SHAPE_FEATURES))
    mask = torch.zeros((len(spans), length), dtype=torch.long)
    for row, (item, start, end) in enumerate(spans):
        n = end - start
        ids[row, :n] = torch.tensor(item.ids[start:end])
        shapes[row, :n] = torch.tensor(item.shapes[start:end])
        mask[row, :n] = 1
    return ids, shapes, mask
