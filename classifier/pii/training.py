"""Train the name/address tagger and choose its decision threshold.

    python -m classifier.pii.training --out classifier/pii/default_model

Data: the generated corpus (``corpus.py``, train side of every split) with CLINC150's train
utterances and the project's example intents as clean negatives; validation is a fresh draw
from the train side plus CLINC150's validation split. The threshold is the lowest P(entity)
that keeps clean validation utterances flagged at or below ``max_clean_flagged``: every
utterance the tagger flags is one an agent reads with a token in it, so the budget is spent
on recall only as far as clean text allows. The test side is left to ``bench/pii``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import torch
import torch.nn.functional as F
import typer

from classifier.encoder import BUNDLED_ENCODER, configure_threads, resolve_encoder
from classifier.pii.corpus import TRAIN, Example, clean, generate
from classifier.pii.features import Pieces, batch, encode, load_tokenizer, windows
from classifier.pii.network import OUTSIDE, TAGS, TaggerNet
from classifier.pii.tagger import (
    NameAddressTagger,
    TaggerSpec,
    encoder_embeddings,
    save_tagger,
)

REPO = Path(__file__).resolve().parents[2]
CLINC = REPO.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(2, 19))
_TAG_INDEX = {tag: i for i, tag in enumerate(TAGS)}


@dataclass(frozen=True)
class TrainOptions:
    generated: int = 12_000
    clean: int = 8_000
    epochs: int = 4
    validation: int = 2_000
    batch_size: int = 64
    learning_rate: float = 2e-3
    max_clean_flagged: float = 0.005
    seed: int = 0


def piece_tags(item: Pieces, spans: Sequence[tuple[str, int, int]]) -> list[int]:
    """B-/I- tag of each piece overlapping a gold span, O elsewhere."""
    tags = [OUTSIDE] * len(item.ids)
    for kind, start, end in spans:
        first = True
        for index, (s, e) in enumerate(item.offsets):
            if s < end and start < e:
                tags[index] = _TAG_INDEX[("B-" if first else "I-") + kind]
                first = False
    return tags


def clinc(split: str) -> list[str]:
    """CLINC150 utterances of one split (in-scope and out-of-scope), if ../shared has them."""
    if not CLINC.is_file():
        return []
    raw = json.loads(CLINC.read_text(encoding="utf-8"))
    return [text for text, _ in raw[split] + raw[f"oos_{split}"]]


def _example_intents() -> list[str]:
    from classifier.example_data import build_example_rows

    return [text for text, _ in build_example_rows()["train"]]


def _epoch(
    net: TaggerNet,
    pieces: list[Pieces],
    tags: list[list[int]],
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    rng: random.Random,
) -> float:
    net.train()
    chosen = windows(pieces)
    rng.shuffle(chosen)
    total = 0.0
    for low in range(0, len(chosen), batch_size):
        group = chosen[low : low + batch_size]
        ids, shapes, mask = batch(pieces, group)
        target = torch.full(ids.shape, -100, dtype=torch.long)
        for row, window in enumerate(group):
            seq = tags[window.text][window.start : window.start + ids.shape[1]]
            target[row, : len(seq)] = torch.tensor(seq)
        target[mask == 0] = -100
        logits = net(ids, shapes, mask)
        loss = F.cross_entropy(logits.reshape(-1, len(TAGS)), target.reshape(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(group)
    return total / max(1, len(chosen))


def span_recall(found: Sequence[Sequence[Any]], gold: Sequence[Example]) -> dict[str, float]:
    """Share of gold spans whose every letter and digit is inside a found span, per kind."""
    hit: dict[str, int] = {}
    seen: dict[str, int] = {}
    for spans, example in zip(found, gold, strict=True):
        covered = [False] * len(example.text)
        for span in spans:
            for i in range(span.start, min(span.end, len(covered))):
                covered[i] = True
        for kind, start, end in example.spans:
            seen[kind] = seen.get(kind, 0) + 1
            chars = [i for i in range(start, end) if example.text[i].isalnum()]
            hit[kind] = hit.get(kind, 0) + all(covered[i] for i in chars)
    return {kind: hit.get(kind, 0) / n for kind, n in seen.items()}


def choose_threshold(
    tagger: NameAddressTagger, positives: list[Example], negatives: list[str], budget: float
) -> tuple[float, dict[str, Any]]:
    """Lowest threshold whose clean-flag rate stays within ``budget`` (validation data)."""
    best: tuple[float, dict[str, Any]] | None = None
    pos_probs = tagger.probabilities([e.text for e in positives])
    neg_probs = tagger.probabilities(negatives)
    from classifier.pii.tagger import _decode

    for threshold in THRESHOLDS:
        flagged = sum(
            bool(_decode(p, item, text, threshold))
            for text, (item, p) in zip(negatives, neg_probs, strict=True)
        ) / max(1, len(negatives))
        found = [
            _decode(p, item, e.text, threshold)
            for e, (item, p) in zip(positives, pos_probs, strict=True)
        ]
        recall = span_recall(found, positives)
        figures: dict[str, Any] = {"threshold": threshold, "clean_flagged": flagged}
        figures.update({f"recall_{kind.lower()}": value for kind, value in recall.items()})
        if flagged <= budget and best is None:
            best = (threshold, figures)
    if best is None:
        return THRESHOLDS[-1], {"threshold": THRESHOLDS[-1], "note": "budget not reached"}
    return best


def train(out: Path, options: TrainOptions) -> dict[str, Any]:
    configure_threads()
    torch.manual_seed(options.seed)
    rng = random.Random(options.seed)
    started = time.perf_counter()
    encoder_dir = resolve_encoder(BUNDLED_ENCODER)
    tokenizer = load_tokenizer(encoder_dir)
    clean_train = clinc("train")
    examples = generate(TRAIN, options.generated, seed=options.seed, fillers=clean_train)
    sampled = rng.sample(clean_train, min(options.clean, len(clean_train)))
    examples += list(clean(sampled, "clinc150"))
    examples += list(clean(_example_intents()[: options.clean], "example_intents"))
    pieces = encode(tokenizer, [e.text for e in examples])
    tags = [piece_tags(p, e.spans) for p, e in zip(pieces, examples, strict=True)]
    spec = TaggerSpec()
    net = TaggerNet(encoder_embeddings(encoder_dir), spec.width, spec.layers, spec.kernel)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=1e-4)
    losses = []
    for epoch in range(options.epochs):
        for group in optimizer.param_groups:  # linear decay to a tenth
            group["lr"] = options.learning_rate * (1 - 0.9 * epoch / max(1, options.epochs - 1))
        losses.append(_epoch(net, pieces, tags, optimizer, options.batch_size, rng))
        typer.echo(
            f"epoch {epoch + 1}: loss {losses[-1]:.4f} at {time.perf_counter() - started:.0f}s",
            err=True,
        )
    save_tagger(out, spec, net.eval())
    tagger = NameAddressTagger.load(out)
    validation = generate(TRAIN, options.validation, seed=options.seed + 1, fillers=clinc("val"))
    positives = [e for e in validation if e.spans]
    negatives = clinc("val")[: options.validation] or [e.text for e in validation if not e.spans]
    threshold, figures = choose_threshold(tagger, positives, negatives, options.max_clean_flagged)
    spec = TaggerSpec(threshold=threshold)
    save_tagger(out, spec, net.eval())
    metrics = {
        "validation": figures,
        "train_examples": len(examples),
        "epochs": options.epochs,
        "losses": [round(x, 5) for x in losses],
        "train_seconds": round(time.perf_counter() - started, 1),
        "data": "generated (Faker, 8 locales, train side) + CLINC150 train + example intents",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    generated: Annotated[int, typer.Option(help="Generated utterances.")] = 12_000,
    epochs: Annotated[int, typer.Option()] = 4,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train the name/address tagger (needs Faker, a development dependency)."""
    metrics = train(out, TrainOptions(generated=generated, epochs=epochs, seed=seed))
    typer.echo(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    app()
