"""``warmline classifier``: train, evaluate and query intent models, propose routing thresholds.

Every command reads and writes plain files (``text,label`` CSVs, model directories), prints a
human table by default and one JSON document with ``--json`` (progress goes to stderr, so
stdout stays parseable). ``--model`` defaults to the bundled model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="classifier",
    help="Intent classifier: train, evaluate, predict, suggest routing thresholds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

ModelOpt = Annotated[
    Path | None, typer.Option("--model", help="Model directory; default: the bundled model.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
DataOpt = Annotated[Path, typer.Option("--data", help="CSV with columns text,label.")]


def _model(path: Path | None) -> Any:
    from classifier import IntentModel, default_model_dir

    return IntentModel.load(path or default_model_dir())


def _read(path: Path) -> Any:
    from classifier.data import DataError, read_csv

    try:
        return read_csv(path)
    except DataError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _base_model(value: str | None) -> str:
    """Paths are made absolute, so the model directory keeps working from any directory."""
    from classifier.encoder import BUNDLED_ENCODER

    if not value:
        return BUNDLED_ENCODER
    return str(Path(value).resolve()) if Path(value).exists() else value


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def _table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in rows.items():
        if not isinstance(value, dict | list):
            table.add_row(key, _fmt(value))
    Console().print(table)


@app.command()
def train(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    val: Annotated[
        Path | None, typer.Option("--val", help="Validation CSV; default: 15% of --data.")
    ] = None,
    test: Annotated[
        Path | None, typer.Option("--test", help="Test CSV: its figures go into metrics.json.")
    ] = None,
    fine_tune: Annotated[
        bool, typer.Option("--fine-tune", help="Train the encoder too (slower, more accurate).")
    ] = False,
    epochs: Annotated[float, typer.Option(help="Fine-tuning epochs.")] = 4.0,
    batch_size: Annotated[int, typer.Option(help="Fine-tuning batch size.")] = 32,
    learning_rate: Annotated[
        float, typer.Option(help="Fine-tuning encoder learning rate.")
    ] = 1.5e-4,
    base_model: Annotated[
        str | None,
        typer.Option(
            help="Local encoder or sequence-classification directory; "
            "default: the bundled all-MiniLM-L6-v2."
        ),
    ] = None,
    max_in_scope_loss: Annotated[
        float,
        typer.Option(
            help="Share of right in-scope validation answers the out-of-scope threshold may flag."
        ),
    ] = 0.005,
    seed: Annotated[int, typer.Option(help="Seed for splits and training.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Train a model from a text,label CSV (label oos = out-of-scope) and calibrate it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from classifier.finetune import FineTuneConfig
    from classifier.training import TrainOptions, train_model

    options = TrainOptions(
        fine_tune=fine_tune,
        base_model=_base_model(base_model),
        finetune=FineTuneConfig(
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed
        ),
        max_in_scope_loss=max_in_scope_loss,
        seed=seed,
        progress=True,
    )
    train_data = _read(data)
    val_data = _read(val) if val else None
    test_data = _read(test) if test else None
    with Progress(
        TextColumn("fine-tuning"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps, loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not fine_tune,
    ) as progress:
        task = progress.add_task("fine-tune", total=None, loss="-")

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=f"{loss:.3f}")

        try:
            result = train_model(train_data, out, val_data, test_data, options, on_step)
        except (ValueError, FileExistsError, FileNotFoundError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    if json_out:
        _emit_json({"model_dir": str(out), **result.metrics})
        return
    console.print(f"wrote {out} version [bold]{result.version}[/bold]")
    _table("validation", result.metrics["validation"])
    if "test" in result.metrics:
        _table("test", result.metrics["test"])


@app.command()
def evaluate(
    data: DataOpt,
    model: ModelOpt = None,
    latency_samples: Annotated[
        int, typer.Option(help="Single-utterance calls timed for p50/p95 (0: skip).")
    ] = 200,
    json_out: JsonOpt = False,
) -> None:
    """Accuracy, macro-F1, calibration error, out-of-scope precision/recall, latency."""
    from classifier.evaluation import evaluate as run

    loaded = _model(model)
    result = run(loaded, _read(data), latency_samples)
    if json_out:
        _emit_json(result)
    else:
        _table(f"{data} with {loaded.version}", result)


@app.command()
def predict(
    texts: Annotated[list[str], typer.Argument(help="Utterances to classify.")],
    model: ModelOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Classify utterances given on the command line."""
    loaded = _model(model)
    results = [c.model_dump() for c in loaded.classify_batch(texts)]
    if json_out:
        _emit_json(results[0] if len(results) == 1 else results)
        return
    table = Table("text", "intent", "confidence", "out of scope", title=loaded.version)
    for text, row in zip(texts, results, strict=True):
        table.add_row(text, row["intent"], f"{row['confidence']:.3f}", str(row["out_of_scope"]))
    Console().print(table)


@app.command("suggest-thresholds")
def suggest_thresholds_cmd(
    data: DataOpt,
    model: ModelOpt = None,
    precision: Annotated[
        float, typer.Option(help="Precision the AI route must reach (ai_min).")
    ] = 0.95,
    monitored_precision: Annotated[
        float, typer.Option(help="Precision for the monitored AI route (monitored_min).")
    ] = 0.85,
    json_out: JsonOpt = False,
) -> None:
    """Per-intent confidence cut-offs (routing ThresholdRule entries) from evaluation data."""
    from classifier.evaluation import score
    from classifier.thresholds import suggest_thresholds

    loaded = _model(model)
    try:
        suggestions = suggest_thresholds(score(loaded, _read(data)), precision, monitored_precision)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    rules = [s.rule.model_dump() for s in suggestions if s.rule is not None]
    if json_out:
        _emit_json(
            {
                "model_version": loaded.version,
                "precision": precision,
                "monitored_precision": monitored_precision,
                "thresholds": rules,
                "details": [s.to_json() for s in suggestions],
            }
        )
        return
    table = Table(
        "intent",
        "support",
        "ai_min",
        "monitored_min",
        "reason",
        title=f"{loaded.version} @ precision {precision}",
    )
    for s in suggestions:
        table.add_row(
            s.intent,
            str(s.support),
            _fmt(s.rule.ai_min if s.rule else None),
            _fmt(s.rule.monitored_min if s.rule else None),
            "; ".join(s.reasons),
        )
    Console().print(table)


@app.command("make-example-data")
def make_example_data(
    out: Annotated[Path, typer.Option("--out", help="Directory for train/val/test CSVs.")],
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 7,
) -> None:
    """Write the contact-center example data set the bundled model is trained on."""
    from classifier.example_data import write_example_data

    for name, path in write_example_data(out, seed).items():
        console.print(f"{name}: {path}")


if __name__ == "__main__":
    app()
