"""One utterance through the intent encoder, alone and beside a busy Python thread: eager
tensor operations against the traced graph the classifier serves (``classifier.lean_bert``).

Why: in a worker the classifier's thread shares the GIL with the event loop and the workflow
threads. The eager pass gives the GIL back and takes it again at each of its ~100 tensor
operations; the traced graph is one call. Both paths are measured in this one run, on the
bundled encoder, with the threads the classifier is configured for.

Then, where bfloat16 weights are packed (``classifier.lean_bert``), one utterance with plain and
with packed weights, on one thread as it is served.

Then the whole ``classify()`` of the bundled intent model, text to calibrated decision: pooling,
head and decision as eager operations after the traced encoder, against all of it in one traced
call (``classifier.one_pass``, what the worker serves), alone and beside the busy thread.

Run: ``python -m bench.classifier.contention [--calls 300]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import threading
import time
from collections.abc import Callable

import torch

from classifier import load_shared
from classifier.encoder import SentenceEncoder, bundled_encoder_path, one_thread
from classifier.lean_bert import LeanBert, TracedLean, traced

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


def _classified(classify: Callable[[str], object], calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        classify(f"{UTTERANCE} ({i})")
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _beside_busy(work: Callable[[], list[float]]) -> list[float]:
    stop = threading.Event()
    busy = threading.Thread(target=_busy, args=(stop,), daemon=True)
    busy.start()
    try:
        return work()
    finally:
        stop.set()
        busy.join()


def _packing(encoder: SentenceEncoder, ids: torch.Tensor, calls: int) -> None:
    """Packed against plain bfloat16 weights, traced, on one thread as one utterance is
    served (``encoder.one_thread``); in alternating halves, so a slower stretch weighs on
    both."""
    served = encoder.fast
    if not isinstance(served, TracedLean) or not served.lean.packed:
        print("bfloat16 weights are not packed on this machine: no packing comparison")
        return
    plain = LeanBert(encoder.model, served.lean.precision, pack=False)
    paths: dict[str, Forward] = {
        "plain bfloat16 weights": traced(plain),
        "packed once at load (served)": served,
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    with one_thread():
        for forward in paths.values():
            _timed(forward, ids, 20)  # warm up
        for _ in range(2):
            for name, forward in paths.items():
                samples[name] += _timed(forward, ids, max(1, calls // 2))
    print(f"one utterance, traced, on one thread, ms, {calls} calls each:")
    for name, timed in samples.items():
        print(_row(f"{name}, alone", timed))


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
    for name, forward in paths.items():
        samples = _beside_busy(lambda: _timed(forward, ids, calls))  # noqa: B023 (called now)
        print(_row(f"{name}, beside a busy thread", samples))
    _packing(encoder, ids, calls)
    served = load_shared()
    eager = copy.copy(served)
    eager._one = None  # the decision's pooling, head and calibration as eager operations
    if served._one is None:
        raise SystemExit("the intent decision is not traced on this machine: nothing to compare")
    models = {"eager decision": eager, "one traced call (served)": served}
    for model in models.values():
        _classified(model.classify, 20)  # warm up
    print(f"classify(), text to decision, ms, {calls} calls each:")
    for name, model in models.items():
        print(_row(f"{name}, alone", _classified(model.classify, calls)))
    for name, model in models.items():
        samples = _beside_busy(lambda: _classified(model.classify, calls))  # noqa: B023
        print(_row(f"{name}, beside a busy thread", samples))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    main(parser.parse_args().calls)
