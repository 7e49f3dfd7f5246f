"""CLINC150 benchmark of the intent classifier: frozen head and fine-tuned, side by side.

Run from the repository root::

    python -m bench.classifier.run            # or: python bench/classifier/run.py

Protocol (the paper's full-data setting): train on ``train`` + ``oos_train``, calibrate and tune
the out-of-scope decision on ``val`` + ``oos_val``, report on ``test`` + ``oos_test``. Training
goes through the same ``train_model`` the CLI uses, so the figures describe what
``warmline classifier train`` produces. Latency (one ``classify()`` call, text to calibrated
label) and batch throughput are measured in the same run, on the trained models. Training time
is given as wall time and as the process's CPU time, and the machine's load average is printed
with every phase, because the cores may be shared (wall time then overstates the cost).
The targets are those of issue #17; ``FINDINGS.md`` beside this file records recipe variants
tried against them (validation figures).

The data set is read from ``../shared/datasets/clinc150`` next to the repository; without it
the benchmark says so and exits 0.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # when run as a script
    sys.path.insert(0, str(REPO))

from classifier.calibration import DEFAULT_MAX_IN_SCOPE_LOSS  # noqa: E402
from classifier.data import LabelledData  # noqa: E402

DATA = REPO.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
TARGETS = {
    "accuracy": 0.97,
    "oos_recall": 0.85,
    "ece": 0.03,
    "fine_tune_seconds": 20 * 60,
    "latency_p95_ms": 10.0,
    "throughput_per_s": 350.0,
}
ROWS = (
    ("in-scope accuracy", "accuracy", "{:.2%}"),
    ("oos recall", "oos_recall", "{:.2%}"),
    ("oos precision", "oos_precision", "{:.2%}"),
    ("macro-F1", "macro_f1", "{:.4f}"),
    ("ECE (in-scope)", "ece", "{:.4f}"),
    ("ECE (all rows)", "ece_all", "{:.4f}"),
    ("train wall time (s)", "train_seconds", "{:.0f}"),
    ("train CPU time (s)", "train_cpu_seconds", "{:.0f}"),
    ("latency p50 (ms)", "latency_p50_ms", "{:.2f}"),
    ("latency p95 (ms)", "latency_p95_ms", "{:.2f}"),
    ("throughput (utt/s)", "throughput_per_s", "{:.0f}"),
    ("numeric precision", "numeric_precision", "{}"),
    ("fp32 reference: accuracy", "fp32_accuracy", "{:.2%}"),
    ("fp32 reference: oos recall", "fp32_oos_recall", "{:.2%}"),
    ("fp32 reference: p95 (ms)", "fp32_latency_p95_ms", "{:.2f}"),
    ("fp32 reference: utt/s", "fp32_throughput_per_s", "{:.0f}"),
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _load() -> dict[str, LabelledData]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))

    def split(*names: str) -> LabelledData:
        rows = [row for name in names for row in raw[name]]
        return LabelledData([t for t, _ in rows], [label for _, label in rows])

    return {
        "train": split("train", "oos_train"),
        "val": split("val", "oos_val"),
        "test": split("test", "oos_test"),
    }


def _load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def _run(
    name: str, data: dict[str, LabelledData], out: Path, fine_tune: bool, args: dict[str, Any]
) -> dict[str, Any]:
    from classifier.evaluation import evaluate
    from classifier.finetune import FineTuneConfig
    from classifier.model import IntentModel
    from classifier.training import TrainOptions, train_model

    options = TrainOptions(
        fine_tune=fine_tune,
        finetune=FineTuneConfig(epochs=args["epochs"], batch_size=args["batch_size"]),
        max_in_scope_loss=args["max_in_scope_loss"],
    )
    last = [0.0]

    def on_step(step: int, total: int, loss: float) -> None:
        if time.perf_counter() - last[0] > 60 or step == total:
            last[0] = time.perf_counter()
            print(f"  [{name}] step {step}/{total} loss {loss:.3f} ({_load_avg()})", flush=True)

    print(f"== {name}: training ({_load_avg()})", flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    result = train_model(data["train"], out, data["val"], options=options, on_step=on_step)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"== {name}: trained in {seconds:.0f} s, evaluating ({_load_avg()})", flush=True)
    model = IntentModel.load(out)
    figures = evaluate(model, data["test"], latency_samples=args["latency_samples"])
    if model.precision != "fp32":
        # The same artifact with exact float32 arithmetic, measured in the same run: what the
        # bfloat16 projections cost in accuracy and gain in speed.
        reference = evaluate(
            IntentModel.load(out, precision="fp32"),
            data["test"],
            latency_samples=args["latency_samples"],
        )
        for key in ("accuracy", "oos_recall", "latency_p95_ms", "throughput_per_s"):
            figures[f"fp32_{key}"] = reference.get(key)
    figures["train_seconds"] = seconds
    figures["train_cpu_seconds"] = cpu
    figures["fine_tune_seconds"] = result.metrics["train"].get("fine_tune_seconds")
    figures["calibration"] = result.metrics["calibration"]
    figures["load_after"] = _load_avg()
    print(f"== {name}: done ({_load_avg()})", flush=True)
    return figures


def _report(results: dict[str, dict[str, Any]]) -> list[str]:
    names = list(results)
    lines = [f"{'CLINC150 full, test + oos_test':32s}" + "".join(f"{n:>16s}" for n in names)]
    for label, key, fmt in ROWS:
        cells = []
        for n in names:
            value = results[n].get(key)
            cells.append(f"{fmt.format(value) if value is not None else '-':>16s}")
        lines.append(f"{label:32s}" + "".join(cells))
    for n in names:
        cal = results[n]["calibration"]
        threshold = cal["oos_threshold"]
        lines.append(
            f"{n}: temperature {cal['temperature']:.3f}, out-of-scope score {cal['oos_score']} "
            f"< {threshold if threshold is None else round(threshold, 4)} "
            f"(validation recall {cal['val_oos_recall']:.2%}, "
            f"in-scope flagged {cal['val_in_scope_flagged']:.2%}); {results[n]['load_after']}"
        )
    return lines


def _verdicts(figures: dict[str, Any]) -> list[str]:
    checks = [
        ("in-scope accuracy >= 97%", figures["accuracy"] >= TARGETS["accuracy"]),
        ("oos recall >= 85%", figures.get("oos_recall", 0) >= TARGETS["oos_recall"]),
        ("ECE <= 0.03", figures["ece"] <= TARGETS["ece"]),
        ("latency p95 <= 10 ms", figures["latency_p95_ms"] <= TARGETS["latency_p95_ms"]),
        ("throughput >= 350/s", figures["throughput_per_s"] >= TARGETS["throughput_per_s"]),
    ]
    if figures.get("fine_tune_seconds") is not None:
        ok = figures["fine_tune_seconds"] <= TARGETS["fine_tune_seconds"]
        checks.append(("fine-tuning <= 20 min", ok))
    return [f"  {'PASS' if ok else 'FAIL'}  {text}" for text, ok in checks]


@app.command()
def main(
    epochs: Annotated[float, typer.Option(help="Fine-tuning epochs.")] = 4.0,
    batch_size: Annotated[int, typer.Option(help="Fine-tuning batch size.")] = 32,
    max_in_scope_loss: Annotated[
        float, typer.Option(help="Validation in-scope budget of the out-of-scope threshold.")
    ] = DEFAULT_MAX_IN_SCOPE_LOSS,
    latency_samples: Annotated[int, typer.Option(help="Timed single calls.")] = 1000,
    frozen: Annotated[bool, typer.Option(help="Run the frozen-head model.")] = True,
    fine_tune: Annotated[bool, typer.Option(help="Run the fine-tuned model.")] = True,
    out: Annotated[
        Path | None, typer.Option(help="Keep the trained models here (default: temporary).")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write figures here.")
    ] = None,
) -> None:
    """Train and evaluate on CLINC150; print figures and target verdicts."""
    if not DATA.is_file():
        print(f"skipped: CLINC150 not found at {DATA} (../shared/datasets is absent)")
        raise typer.Exit(0)
    args = {
        "epochs": epochs,
        "batch_size": batch_size,
        "max_in_scope_loss": max_in_scope_loss,
        "latency_samples": latency_samples,
    }
    work = Path(out) if out else Path(tempfile.mkdtemp(prefix="warmline-bench-"))
    data = _load()
    print(
        f"CLINC150: {', '.join(f'{k} {len(v)}' for k, v in data.items())}; {os.cpu_count()} "
        f"CPUs; {_load_avg()}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        if frozen:
            results["frozen head"] = _run("frozen head", data, work / "frozen", False, args)
        if fine_tune:
            results["fine-tuned"] = _run("fine-tuned", data, work / "fine-tuned", True, args)
    finally:
        if out is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("\n".join(_report(results)))
    for name, figures in results.items():
        print(f"targets, {name}:")
        print("\n".join(_verdicts(figures)))
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    app()
