"""Fine-tune one recipe variant on CLINC150 full and print its validation figures.

Run from the repository root, one torch thread, niced (the machine is shared)::

    OMP_NUM_THREADS=1 WARMLINE_CLASSIFIER_THREADS=1 nice -n 19 \\
        python -m bench.classifier.variants --contrastive-weight 0.3 --out /tmp/v1

Trains on ``train`` + ``oos_train`` through the same ``train_model`` as the CLI, then prints, for
the in-scope budgets 0.25 / 0.5 / 1% and each out-of-scope score, validation in-scope accuracy
(a flagged in-scope row counts as wrong) and out-of-scope recall at the threshold tuned on
validation, plus the CPU seconds of the whole training. Validation logits are saved in the
model directory (``val_logits.pt``), so ``--average`` can score the mean logits of several
trained variants (a two-seed ensemble) without
training again. ``--average DIR --test 0.0025`` evaluates a trained model on ``test`` +
``oos_test`` with the threshold tuned on validation at that budget (and measures single-call
latency): use it once, for a variant chosen on validation. ``--average DIR --ceiling`` prints
what no threshold can beat on test: the share of in-scope rows whose top intent is right, and
per score the best out-of-scope recall any threshold reaches at 97% accuracy and the best
accuracy at 85% recall (the goals of issue #17; a ceiling, never a way to choose).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import torch
import typer

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # when run as a script
    sys.path.insert(0, str(REPO))

from bench.classifier.run import _load  # noqa: E402
from classifier.calibration import (  # noqa: E402
    OOS_SCORES,
    Calibration,
    _tune_one,
    decide,
    fit_temperature,
    tune_oos_threshold,
)
from classifier.finetune import FineTuneConfig  # noqa: E402
from classifier.training import TrainOptions, train_model  # noqa: E402

BUDGETS = (0.0025, 0.005, 0.01)
LOGITS_FILE = "val_logits.pt"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def validation_table(logits: torch.Tensor, targets: torch.Tensor, oos_index: int) -> list[str]:
    """Raw accuracy, then accuracy / recall per score and budget, as text lines."""
    temperature = fit_temperature(logits, targets)
    decisions = decide(logits, Calibration(temperature=temperature), oos_index)
    is_oos = targets == oos_index
    in_scope = ~is_oos
    n_in = int(in_scope.sum())
    raw = int(((decisions.top == targets) & ~decisions.oos_wins & in_scope).sum()) / n_in
    oos_class = int((decisions.oos_wins & is_oos).sum()) / int(is_oos.sum())
    lines = [
        f"temperature {temperature:.3f}; raw accuracy {raw:.2%}; oos class alone {oos_class:.0%}",
        "score    " + "".join(f"{f'budget {b:.2%}':>18s}" for b in BUDGETS),
    ]
    for name in OOS_SCORES:
        cells = []
        for budget in BUDGETS:
            choice = _tune_one(decisions.scores[name], decisions, targets, is_oos, budget, name)
            cal = Calibration(temperature, name, choice.threshold, budget)
            flagged = decide(logits, cal, oos_index).out_of_scope
            right = int(((decisions.top == targets) & ~flagged & in_scope).sum()) / n_in
            cells.append(f"{right:.2%} / {choice.recall:.0%}")
        lines.append(f"{name:9s}" + "".join(f"{c:>18s}" for c in cells))
    return lines


def _val_logits(model_dir: Path) -> tuple[torch.Tensor, torch.Tensor, int]:
    saved = torch.load(model_dir / LOGITS_FILE)
    return saved["logits"], saved["targets"], int(saved["oos_index"])


def evaluate_test(model_dir: Path, budgets: list[float]) -> None:
    """Test figures of a trained variant, its threshold tuned on validation at each budget as
    ``train_model`` tunes it (``--max-in-scope-loss``); one pass of test logits for all."""
    from classifier.artifact import save_calibration
    from classifier.evaluation import Scored, figures, single_latency
    from classifier.model import IntentModel

    val_logits, val_targets, oos_index = _val_logits(model_dir)
    temperature = fit_temperature(val_logits, val_targets)
    at_t = decide(val_logits, Calibration(temperature=temperature), oos_index)
    test = _load()["test"]
    model = IntentModel.load(model_dir)
    start = time.perf_counter()
    logits, has = model.logits(test.texts)
    seconds = time.perf_counter() - start
    for budget in budgets:
        choice = tune_oos_threshold(at_t, val_targets, oos_index, budget)
        calibration = Calibration(temperature, choice.score, choice.threshold, budget)
        decisions = decide(logits, calibration, oos_index)
        out = figures(Scored(test, decisions, has, model.label_map, seconds))
        keep = ("accuracy", "oos_recall", "oos_precision", "ece", "throughput_per_s")
        print(
            f"TEST at budget {budget:.2%} ({choice.score}, val recall {choice.recall:.0%}):",
            json.dumps({k: out.get(k) for k in keep}),
        )
    save_calibration(model_dir, calibration)  # the last budget's, for the latency run
    print("latency:", json.dumps(single_latency(IntentModel.load(model_dir), test.texts, 1000)))


def ceiling(model_dir: Path, accuracy_goal: float = 0.97, recall_goal: float = 0.85) -> None:
    """The test operating curve's best points over every threshold (see the module docstring)."""
    from classifier.model import IntentModel
    from classifier.training import _targets

    val_logits, val_targets, oos_index = _val_logits(model_dir)
    temperature = fit_temperature(val_logits, val_targets)
    test = _load()["test"]
    model = IntentModel.load(model_dir)
    logits, _ = model.logits(test.texts)
    targets = _targets(test, model.label_map)
    base = decide(logits, Calibration(temperature=temperature), oos_index)
    is_oos = targets == oos_index
    in_scope = ~is_oos
    n_in, n_oos = int(in_scope.sum()), int(is_oos.sum())
    top_right = int(((base.top == targets) & in_scope).sum()) / n_in
    print(f"TEST ceiling: top intent right for {top_right:.2%} of in-scope rows")
    for name in OOS_SCORES:
        score = base.scores[name]
        best_recall, best_accuracy = None, 0.0
        for threshold in [*torch.unique(score).tolist(), float("inf")]:
            flagged = base.oos_wins | (score < threshold)
            accuracy = int(((base.top == targets) & ~flagged & in_scope).sum()) / n_in
            recall = int((flagged & is_oos).sum()) / n_oos
            if accuracy >= accuracy_goal and (best_recall is None or recall > best_recall):
                best_recall = recall
            if recall >= recall_goal:
                best_accuracy = max(best_accuracy, accuracy)
        reached = "none" if best_recall is None else f"{best_recall:.1%}"
        print(
            f"  {name}: best recall at accuracy >= {accuracy_goal:.0%}: {reached}; "
            f"best accuracy at recall >= {recall_goal:.0%}: {best_accuracy:.2%}"
        )


@app.command()
def main(
    out: Annotated[Path, typer.Option(help="Model directory to write (kept).")],
    contrastive_weight: Annotated[float, typer.Option()] = 0.0,
    contrastive_temperature: Annotated[float, typer.Option()] = 0.1,
    frozen_layers: Annotated[int, typer.Option()] = FineTuneConfig.frozen_layers,
    learning_rate: Annotated[float, typer.Option()] = FineTuneConfig.learning_rate,
    epochs: Annotated[float, typer.Option()] = FineTuneConfig.epochs,
    seed: Annotated[int, typer.Option()] = 0,
    average: Annotated[
        list[Path] | None,
        typer.Option(help="Score the mean validation logits of these model dirs; no training."),
    ] = None,
    test: Annotated[
        list[float] | None,
        typer.Option(help="With --average DIR: evaluate DIR on test at these budgets (once!)."),
    ] = None,
    ceiling_of: Annotated[
        bool,
        typer.Option("--ceiling", help="With --average DIR: the best any threshold does on test."),
    ] = False,
) -> None:
    """Train one variant (or average trained ones) and print validation figures."""
    if (ceiling_of or test) and not average:
        raise typer.BadParameter("--ceiling and --test evaluate a trained model: add --average DIR")
    if average and ceiling_of:
        ceiling(average[0])
        return
    if average and test:
        evaluate_test(average[0], test)
        return
    if average:
        parts = [_val_logits(d) for d in average]
        logits = torch.stack([p[0] for p in parts]).mean(dim=0)
        print("\n".join(validation_table(logits, parts[0][1], parts[0][2])))
        return
    data = _load()
    config = FineTuneConfig(
        epochs=epochs,
        learning_rate=learning_rate,
        frozen_layers=frozen_layers,
        seed=seed,
        contrastive_weight=contrastive_weight,
        contrastive_temperature=contrastive_temperature,
    )
    print(f"variant: {config}", flush=True)
    last = [0.0]

    def on_step(step: int, total: int, loss: float) -> None:
        if time.perf_counter() - last[0] > 120 or step == total:
            last[0] = time.perf_counter()
            print(
                f"  step {step}/{total} loss {loss:.3f} cpu {time.process_time():.0f} s", flush=True
            )

    cpu = time.process_time()
    options = TrainOptions(fine_tune=True, finetune=config, seed=seed)
    result = train_model(data["train"], out, data["val"], options=options, on_step=on_step)
    cpu = time.process_time() - cpu
    wall = result.metrics["train"]["fine_tune_seconds"]
    print(f"trained: {cpu:.0f} s CPU, fine-tune {wall} s wall")

    from classifier.model import IntentModel
    from classifier.training import _targets

    model = IntentModel.load(out)
    logits, _ = model.logits(data["val"].texts)
    labels = model.label_map
    targets = _targets(data["val"], labels)
    oos_index = labels.index("oos")
    torch.save({"logits": logits, "targets": targets, "oos_index": oos_index}, out / LOGITS_FILE)
    print("\n".join(validation_table(logits, targets, oos_index)))


if __name__ == "__main__":
    app()
