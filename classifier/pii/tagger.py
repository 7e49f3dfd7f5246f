"""Names and street addresses as spans, from a small local model (``default_model/``).

Loaded from local files only: the trained network (``head.safetensors``, under 2 MB) and the
bundled encoder's tokenizer and word-piece table. The core (``warmline.pii``) takes the spans
as input; this package never redacts anything itself.

Model directory::

    model.json          format, kind, encoder reference, network size, decision threshold
    head.safetensors    the trained network (without the encoder's frozen table)
    metrics.json        validation figures of the training run; not versioned
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from classifier.artifact import content_version
from classifier.encoder import BUNDLED_ENCODER, configure_threads, one_thread, resolve_encoder
from classifier.pii.features import Pieces, batch, encode, load_tokenizer, windows
from classifier.pii.network import OUTSIDE, SHAPE_FEATURES, TAGS, TaggerNet
from classifier.tracing import trace
from models.redaction import ModelSpan, PiiKind

FORMAT = 1
KIND = "pii-tagger"
MODEL_FILE = "model.json"
HEAD_FILE = "head.safetensors"
VERSION_PREFIX = "pii-"
EMBEDDINGS_KEY = "embeddings.word_embeddings.weight"
BATCH_WINDOWS = 64
logger = logging.getLogger(__name__)
_KINDS = {"NAME": PiiKind.NAME, "ADDRESS": PiiKind.ADDRESS}


def default_tagger_dir() -> Path:
    return Path(__file__).resolve().parent / "default_model"


def encoder_embeddings(encoder_dir: Path) -> torch.Tensor:
    """The encoder's word-piece table, read alone from its safetensors file (no full load)."""
    with safe_open(str(encoder_dir / "model.safetensors"), "pt") as handle:
        return handle.get_tensor(EMBEDDINGS_KEY).float()


@dataclass(frozen=True)
class TaggerSpec:
    encoder_ref: str = BUNDLED_ENCODER
    width: int = 128
    layers: int = 3
    kernel: int = 5
    threshold: float = 0.5
    """A piece is part of a name or address when P(outside) < 1 - threshold."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": KIND,
            "encoder": self.encoder_ref,
            "tags": list(TAGS),
            "width": self.width,
            "layers": self.layers,
            "kernel": self.kernel,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaggerSpec:
        if data.get("format") != FORMAT or data.get("kind") != KIND:
            raise ValueError(f"unsupported tagger model {data!r}")
        if list(data.get("tags", [])) != list(TAGS):
            raise ValueError(f"tagger tags {data.get('tags')} differ from {list(TAGS)}")
        return cls(
            encoder_ref=str(data["encoder"]),
            width=int(data["width"]),
            layers=int(data["layers"]),
            kernel=int(data["kernel"]),
            threshold=float(data["threshold"]),
        )


def save_tagger(out_dir: Path, spec: TaggerSpec, net: TaggerNet) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_text(json.dumps(spec.to_json(), indent=2, sort_keys=True) + "\n")
    state = {k: v.detach().float().contiguous() for k, v in net.trainable_state().items()}
    save_file(state, str(out_dir / HEAD_FILE), metadata={"format": str(FORMAT)})
    (out_dir / HEAD_FILE).chmod(0o644)


def _decode(probs: torch.Tensor, item: Pieces, text: str, threshold: float) -> list[ModelSpan]:
    """Runs of pieces that are part of an entity -> character spans widened to whole words."""
    # Python lists for the walk below: indexing a tensor element by element costs more than
    # the network's pass on a short text.
    inside: list[bool] = ((1.0 - probs[:, OUTSIDE]) >= threshold).tolist()
    names = (probs[:, 1] + probs[:, 2]) >= (probs[:, 3] + probs[:, 4])
    begins: list[bool] = torch.where(
        names, probs[:, 1] > probs[:, 2], probs[:, 3] > probs[:, 4]
    ).tolist()
    is_name: list[bool] = names.tolist()
    spans: list[ModelSpan] = []
    run: list[int] = []

    def close() -> None:
        if not run:
            return
        kind = PiiKind.NAME if is_name[run[0]] else PiiKind.ADDRESS
        start, end = item.offsets[run[0]][0], item.offsets[run[-1]][1]
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        score = float((1.0 - probs[run, OUTSIDE]).mean())
        spans.append(ModelSpan(kind=kind, start=start, end=end, score=min(1.0, score)))
        run.clear()

    for index in range(len(item.ids)):
        if not inside[index]:
            close()
            continue
        # A new entity starts where the kind changes or a B- tag wins on a word's first piece.
        continuation = item.shapes[index][5] > 0
        if run and (is_name[index] != is_name[run[-1]] or (begins[index] and not continuation)):
            close()
        run.append(index)
    close()
    return spans


def _probe(batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(batch * 1000 + length)
    ids = torch.randint(1000, 2000, (batch, length), generator=generator)
    shapes = torch.rand((batch, length, SHAPE_FEATURES), generator=generator).round()
    mask = torch.ones((batch, length), dtype=torch.long)
    mask[-1, length // 2 :] = 0
    return ids, shapes, mask


def traced_net(net: TaggerNet) -> Callable[..., torch.Tensor]:
    """The network as one TorchScript graph, or the module itself where tracing fails.

    Why: the eager pass is some twenty tensor operations, each giving the GIL back and taking
    it again, which a worker's busy event loop turns into waits (as for the encoder, see
    ``classifier.lean_bert.TracedLean``); alone the graph is also about a tenth faster. Shapes
    stay dynamic; the graph is checked against the eager pass on other shapes before use.
    """
    try:
        graph = trace(net, _probe(2, 9))
        with torch.inference_mode():
            for batch, length in ((1, 5), (3, 17)):
                args = _probe(batch, length)
                if not torch.allclose(graph(*args), net(*args), atol=1e-5, rtol=0):
                    raise RuntimeError("the traced tagger differs from the eager pass")
        return graph
    except Exception as exc:  # an unusual torch build: serve the eager pass
        logger.warning(
            "tagger not traced (%s: %s); serving the eager pass", type(exc).__name__, exc
        )
        return net


class NameAddressTagger:
    """Finds names and street addresses; thread-safe for concurrent ``find`` calls."""

    def __init__(self, path: Path, spec: TaggerSpec, net: TaggerNet, version: str) -> None:
        encoder_dir = resolve_encoder(spec.encoder_ref, path)
        self.path = path
        self.spec = spec
        self.net = net.eval()
        self._serve = traced_net(self.net)
        self.version = version
        self.tokenizer = load_tokenizer(encoder_dir)

    @classmethod
    def load(cls, path: str | Path | None = None) -> NameAddressTagger:
        path = Path(path or default_tagger_dir())
        spec = TaggerSpec.from_json(json.loads((path / MODEL_FILE).read_text(encoding="utf-8")))
        encoder_dir = resolve_encoder(spec.encoder_ref, path)
        configure_threads()
        net = TaggerNet(encoder_embeddings(encoder_dir), spec.width, spec.layers, spec.kernel)
        missing = net.load_state_dict(load_file(str(path / HEAD_FILE)), strict=False)
        unexpected = [k for k in missing.missing_keys if not k.startswith("embeddings.")]
        if unexpected or missing.unexpected_keys:
            raise ValueError(f"{path}: head does not fit the network ({unexpected})")
        version = content_version(VERSION_PREFIX, path, encoder_dir.resolve())
        return cls(path, spec, net, version)

    def probabilities(self, texts: Sequence[str]) -> list[tuple[Pieces, torch.Tensor]]:
        """Per text: its pieces and tag probabilities [pieces, tags]."""
        pieces = encode(self.tokenizer, texts)
        probs = [torch.zeros((len(p.ids), len(TAGS))) for p in pieces]
        chosen = windows(pieces)
        # One thread: this network is too small to split across cores (a second thread cut a
        # pass's time by at most a quarter and cost half again to twice the CPU).
        with torch.inference_mode(), one_thread():
            for low in range(0, len(chosen), BATCH_WINDOWS):
                group = chosen[low : low + BATCH_WINDOWS]
                ids, shapes, mask = batch(pieces, group)
                out = torch.softmax(self._serve(ids, shapes, mask), dim=-1)
                for row, window in enumerate(group):
                    a, b = window.own_from, window.own_to
                    probs[window.text][a:b] = out[row, a - window.start : b - window.start]
        return list(zip(pieces, probs, strict=True))

    def find_batch(self, texts: Sequence[str]) -> list[list[ModelSpan]]:
        """Names and addresses of each text, in its character offsets."""
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"find_batch() item {index} is {type(text).__name__}, not str")
        texts = list(texts)
        return [
            _decode(p, item, text, self.spec.threshold)
            for text, (item, p) in zip(texts, self.probabilities(texts), strict=True)
        ]

    def find(self, text: str) -> list[ModelSpan]:
        return self.find_batch([text])[0]


@lru_cache(maxsize=2)
def _load_cached(path: str) -> NameAddressTagger:
    return NameAddressTagger.load(path)


def load_shared_tagger(path: str | Path | None = None) -> NameAddressTagger:
    """One tagger per directory per process (an activity calls this every time)."""
    return _load_cached(str(Path(path or default_tagger_dir()).resolve()))
