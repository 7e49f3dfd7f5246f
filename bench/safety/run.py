"""Prompt-injection benchmark: detection rate, false positives on benign contact-center
messages, latency per message.

Run from the repository root::

    python -m bench.safety.run [--attacks 1000] [--latency-samples 400] [--json out.json]

Held-out data only (the detector trained on the other sides):

* attacks: generated attacks from the held-out templates and payloads (``attacks.py``), and
  deepset's prompt-injections ``test`` rows labelled injection;
* benign contact-center messages: CLINC150 ``test`` (in-scope and out-of-scope, read from
  ../shared), the example intents' ``test`` split, held-out hard benign messages, held-out
  conversational turns (closings, acknowledgements, follow-ups);
* the simulated customers' later turns (``simulators.conversations``: clarifications,
  closers, angry and human-request turns; never trained on) are reported apart, as the
  turns a live conversation sends after its opening;
* deepset's benign ``test`` rows (news questions, not contact-center traffic) are reported
  apart.

Latency is ``InjectionDetector.score`` on one message at a time (rules, then the encoder on
the unpadded single-message path), as a customer turn would pay it; the load average is
printed because the cores may be shared.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # when run as a script
    sys.path.insert(0, str(REPO))

from bench.report import report  # noqa: E402
from classifier.injection.attacks import TEST, attacks  # noqa: E402
from classifier.injection.detector import InjectionDetector  # noqa: E402
from classifier.injection.training import (  # noqa: E402
    clinc,
    conversation_turns,
    deepset,
    hard_benign,
)
from simulators import conversations  # noqa: E402

GOALS = {"detection": 0.90, "false_positive_contact_center": 0.05, "latency_p95_ms": 10.0}
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _intents_test() -> list[str]:
    from classifier.example_data import build_example_rows

    return [text for text, _ in build_example_rows()["test"]]


def _rate(detector: InjectionDetector, texts: list[str]) -> float:
    if not texts:
        return float("nan")
    verdicts = detector.score_batch(texts)
    return sum(v.flagged for v in verdicts) / len(verdicts)


@app.command()
def main(
    attack_count: Annotated[int, typer.Option("--attacks")] = 1000,
    latency_samples: Annotated[int, typer.Option()] = 400,
    model: Annotated[Path | None, typer.Option("--model")] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    detector = InjectionDetector.load(model)
    generated = attacks(TEST, attack_count, seed=99)
    deepset_attacks, deepset_benign = deepset("test")
    talk = conversation_turns(TEST, seed=99)
    benign = clinc("test") + _intents_test() + hard_benign(TEST, seed=99) + talk
    simulated = [
        *conversations.CLARIFICATIONS,
        *conversations.CLOSERS,
        *conversations.ANGRY,
        *conversations.HUMAN_REQUESTS,
    ]
    figures: dict[str, Any] = {
        "threshold": detector.threshold,
        "detection": _rate(detector, generated + deepset_attacks),
        "detection_generated": _rate(detector, generated),
        "detection_deepset": _rate(detector, deepset_attacks),
        "false_positive_contact_center": _rate(detector, benign),
        "false_positive_hard_benign": _rate(detector, hard_benign(TEST, seed=99)),
        "false_positive_conversation": _rate(detector, talk),
        "false_positive_simulated_turns": _rate(detector, simulated),
        "false_positive_deepset_benign": _rate(detector, deepset_benign),
        "attacks": len(generated) + len(deepset_attacks),
        "benign": len(benign),
    }
    sample = random.Random(0).sample(generated + benign, latency_samples)
    for text in sample[:20]:
        detector.score(text)  # warm up
    times = []
    cpu = time.process_time()
    for text in sample:
        start = time.perf_counter()
        detector.score(text)
        times.append((time.perf_counter() - start) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(sample)
    times.sort()
    figures["latency_p50_ms"] = statistics.median(times)
    figures["latency_p95_ms"] = times[int(0.95 * (len(times) - 1))]
    figures["cpu_ms_per_message"] = cpu_ms  # all threads; what a quiet core would take
    report(figures, GOALS, json_out)


if __name__ == "__main__":
    app()
