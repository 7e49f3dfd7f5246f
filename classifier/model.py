"""``IntentModel``: load a model directory once per process, classify utterances.

Input rules (the activity relies on them, the tests pin them):

* Only ``str`` is classified. Anything else (``bytes``, ``None``, numbers) raises ``TypeError``
  naming the type: it is a programming error upstream that retrying cannot fix, and the
  activity maps it to a non-retryable failure.
* Empty or whitespace-only text, and text with nothing the tokenizer can read (control
  characters, zero-width marks), gives ``intent="oos"``, ``confidence=0.0``,
  ``out_of_scope=True``: there is no intent to report, and the router sends it outside AI scope.
* Whitespace runs are collapsed, text is cut to ``MAX_CHARS`` characters and then to
  ``max_length`` tokens (128): the start of a long message decides.
* Lone surrogates (from broken decoders) are replaced, so any ``str`` encodes.
* Mixed-language or unknown-language text is classified like any other; the calibrated
  confidence and the out-of-scope decision say how much the model recognises it.

When the model says out-of-scope for real text, ``intent`` is still the top in-scope intent
(useful for reporting and for a human agent's context) and ``out_of_scope`` is True.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch

from classifier.artifact import (
    KIND_HEAD,
    ModelSpec,
    load_head,
    model_version,
    read_spec,
)
from classifier.calibration import Calibration, Decisions, decide
from classifier.encoder import (
    BATCH_SIZE,
    MAX_CHARS,
    SentenceEncoder,
    TextTokenizer,
    configure_threads,
    length_batches,
    resolve_encoder,
)
from classifier.one_pass import OnePass, one_pass
from models.routing import Classification
from warmline.intents import OUT_OF_SCOPE

SOURCE = "classifier"


def clean_text(text: object) -> str:
    """Validate and normalise one utterance (see the module docstring for the rules)."""
    if not isinstance(text, str):
        raise TypeError(
            f"classify() takes text as str, got {type(text).__name__}; "
            "decode bytes and drop missing messages before classifying"
        )
    text = " ".join(text[: MAX_CHARS * 4].split())[:MAX_CHARS]
    # Lone surrogates cannot be encoded to UTF-8 for the tokenizer; replace them.
    return text.encode("utf-8", "replace").decode("utf-8")


class Scorer(Protocol):
    """Token ids in, logits over the label map out."""

    tokenizer: TextTokenizer

    def logits_one(self, ids: list[int]) -> torch.Tensor: ...

    def logits_batch(self, seqs: Sequence[Sequence[int]]) -> torch.Tensor: ...


class HeadScorer:
    """Sentence encoder plus linear head: the kind Warmline trains."""

    def __init__(self, encoder: SentenceEncoder, weight: torch.Tensor, bias: torch.Tensor) -> None:
        if weight.shape[1] != encoder.dim:
            raise ValueError(
                f"head expects {weight.shape[1]}-dim embeddings, encoder gives {encoder.dim}"
            )
        self.encoder = encoder
        self.tokenizer = encoder.tokenizer
        self.weight, self.bias = weight, bias

    def head(self, embeddings: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(embeddings, self.weight, self.bias)

    def logits_one(self, ids: list[int]) -> torch.Tensor:
        return self.head(self.encoder.embed_one(ids))

    def logits_batch(self, seqs: Sequence[Sequence[int]]) -> torch.Tensor:
        return self.head(self.encoder.embed_ids(seqs))


class SequenceScorer:
    """Any local ``AutoModelForSequenceClassification`` directory, used as it is."""

    def __init__(self, path: Path, max_length: int) -> None:
        from transformers import AutoModelForSequenceClassification

        configure_threads()
        self.tokenizer = TextTokenizer(path, max_length)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True
        ).eval()

    def logits_one(self, ids: list[int]) -> torch.Tensor:
        out = self.model(input_ids=torch.tensor([ids], dtype=torch.long))
        return out.logits[0]

    def logits_batch(self, seqs: Sequence[Sequence[int]]) -> torch.Tensor:
        out = torch.empty((len(seqs), self.model.config.num_labels))
        for index in length_batches(seqs, BATCH_SIZE):
            ids, mask = self.tokenizer.pad([seqs[i] for i in index])
            out[index] = self.model(input_ids=ids, attention_mask=mask).logits.float()
        return out


class IntentModel:
    """A loaded intent model. Thread-safe for concurrent ``classify`` calls."""

    def __init__(self, path: Path, spec: ModelSpec, scorer: Scorer, version: str) -> None:
        self.path = path
        self.spec = spec
        self.scorer = scorer
        self.version = version
        self.oos_index = spec.oos_index
        self.labels: list[str] = [label for label in spec.labels if label != spec.oos_label]
        """In-scope intents the model can return, in head order (without ``oos``)."""
        self._one: OnePass | None = None
        if isinstance(scorer, HeadScorer):
            fast = scorer.encoder.fast
            self._one = one_pass(fast, scorer.weight, scorer.bias, spec.calibration, self.oos_index)

    @classmethod
    def load(cls, path: str | Path, precision: str | None = None) -> IntentModel:
        """Load a model directory (Warmline layout or a sequence-classification dir).

        ``precision`` (``auto``/``fp32``/``bf16``) applies to Warmline's own encoder path; the
        default follows ``WARMLINE_CLASSIFIER_PRECISION``.
        """
        path = Path(path)
        spec = read_spec(path)
        version = model_version(path, spec)
        scorer: Scorer
        if spec.kind == KIND_HEAD:
            encoder = SentenceEncoder(
                resolve_encoder(spec.encoder_ref, path), spec.max_length, precision
            )
            weight, bias = load_head(path)
            scorer = HeadScorer(encoder, weight, bias)
        else:
            scorer = SequenceScorer(path, spec.max_length)
        return cls(path, spec, scorer, version)

    @property
    def precision(self) -> str:
        """Arithmetic of the encoder's projections (``fp32`` or ``bf16``), for reports."""
        encoder = getattr(self.scorer, "encoder", None)
        return str(getattr(encoder, "precision", "fp32"))

    @property
    def label_map(self) -> list[str]:
        """All labels in head order, including the out-of-scope class when trained with one."""
        return list(self.spec.labels)

    @property
    def calibration(self) -> Calibration:
        return self.spec.calibration

    def _empty(self) -> Classification:
        return Classification(
            intent=OUT_OF_SCOPE,
            confidence=0.0,
            out_of_scope=True,
            model_version=self.version,
            source=SOURCE,
        )

    def _result(self, decisions: Decisions, row: int) -> Classification:
        return self._classification(
            int(decisions.top[row]),
            float(decisions.confidence[row]),
            bool(decisions.out_of_scope[row]),
        )

    def _classification(self, top: int, confidence: float, out_of_scope: bool) -> Classification:
        return Classification(
            intent=self.spec.labels[top],
            confidence=min(1.0, max(0.0, confidence)),
            out_of_scope=out_of_scope,
            model_version=self.version,
            source=SOURCE,
        )

    def classify(self, text: str) -> Classification:
        """Calibrated intent of one utterance (rules in the module docstring)."""
        ids = self.scorer.tokenizer.encode_one(clean_text(text))
        if not self.scorer.tokenizer.has_content(ids):
            return self._empty()
        if self._one is not None:
            return self._classification(*self._one(ids))
        with torch.inference_mode():
            logits = self.scorer.logits_one(ids).unsqueeze(0)
            decisions = decide(logits, self.spec.calibration, self.oos_index)
        return self._result(decisions, 0)

    def logits(self, texts: Sequence[str]) -> tuple[torch.Tensor, list[bool]]:
        """Raw logits for many texts and, per text, whether it had any content."""
        cleaned = [clean_text(t) for t in texts]
        seqs = self.scorer.tokenizer.encode(cleaned)
        has = [self.scorer.tokenizer.has_content(s) for s in seqs]
        n_labels = len(self.spec.labels)
        out = torch.zeros((len(seqs), n_labels))
        live = [i for i, ok in enumerate(has) if ok]
        if live:
            with torch.inference_mode():
                out[live] = self.scorer.logits_batch([seqs[i] for i in live])
        return out, has

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]:
        """Classify many utterances at once: length-sorted, dynamically padded batches."""
        if isinstance(texts, str | bytes):
            raise TypeError("classify_batch() takes a list of str, not a single string")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"classify_batch() item {i} is {type(text).__name__}, expected str")
        logits, has = self.logits(texts)
        decisions = decide(logits, self.spec.calibration, self.oos_index)
        return [self._result(decisions, i) if ok else self._empty() for i, ok in enumerate(has)]
