"""One utterance through the intent encoder, alone and beside a busy Python thread: eager
tensor operations against the traced graph the classifier serves (``classifier.lean_bert``).

Why: in a worker the classifier's thread shares the GIL with the event loop and the workflow
threads. The eager pass gives the GIL back and takes it again at each of its ~100 tensor
operations; the traced graph is one call. Both paths are measured in this one run, on the
bundled encoder, with the threads the classifier is configured for.

Run: ``python -m bench.classifier.contention [--calls 300]``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import torch

from classifier.encoder import SentenceEncoder, bundled_encoder_path
from classifier.lean_bert import TracedLean

UTTERANCE = "One more detail about line 5 of the bill, it shows a charge I do not know"


Forward = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def _timed(forward: Forward, ids: torch.Tensor, calls: int) -> list[float]:
    samples = []
    with torch.inference_mode():
        for _ in range(calls):
            started = time.perf_counter()
            forward(ids, None)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _busy(stop: threading.Event) -> None:
    """Pure Python work that holds the GIL, as a worker's event loop does under load."""
    while not stop.is_set():
        sum(i * i for i in range(2_000))


def _row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"  {name:38}: p50 {statistics.median(samples):8.2f}  p95 {p95:8.2f}"


def main(calls: int) -> None:
    encoder = SentenceEncoder(bundled_encoder_path())
    if not isinstance(encoder.fast, TracedLean):
        raise SystemExit("the encoder is not traced on this machine: nothing to compare")
    ids = torch.tensor([encoder.tokenizer.encode_one(UTTERANCE)])
    paths: dict[str, Forward] = {"eager": encoder.fast.lean, "traced (served)": encoder.fast}
    for forward in paths.values():
        _timed(forward, ids, 20)  # warm up
    threads = torch.get_num_threads()
    print(f"one utterance ({ids.shape[1]} tokens), ms, {calls} calls each, {threads} threads:")
    for name, forward in paths.items():
        print(_row(f"{name}, alone", _timed(forward, ids, calls)))
    stop = threading.Event()
    busy = threading.Thread(target=_busy, args=(stop,), daemon=True)
    busy.start()
    try:
        for name, forward in paths.items():
            print(_row(f"{name}, beside a busy thread", _timed(forward, ids, calls)))
    finally:
        stop.set()
        busy.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    main(parser.parse_args().calls)
