"""The `pipeline` command: parses options, builds the config, calls the runner, prints results
(tables with rich; progress goes through pipeline.console).

No pipeline logic lives here. Every command that runs stages takes the same parameter options,
because a stage's key includes its parameters: `predict --epochs 3` uses the model trained with
3 epochs. Settings to keep belong in pipeline.toml.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.console import RichReporter, err, out
from pipeline.config import SplitParams, TrainParams, load_config
from pipeline.errors import PipelineError
from pipeline.models import TTA_VIEWS
from pipeline.outputs import predict_file, write_submission
from pipeline.report_run import report_html
from pipeline.runner import STAGES, Runner

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Kaggle CSV competitions: cached stages from data/raw/train.csv + test.csv to a submission.",
)

# option name -> the config settings it overrides
PARAM_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "label_column": (("ingest", "label_column"),),
    "id_column": (("ingest", "id_column"),),
    "fill_missing": (("ingest", "fill_missing"),),
    "task": (("ingest", "task"),),
    "metric": (("ingest", "metric"),),
    "image_shape": (("preprocess", "image_shape"),),
    "val_fraction": (("split", "val_fraction"),),
    "seed": (("split", "seed"), ("train", "seed")),
    "preset": (("train", "preset"),),
    "model": (("train", "model"),),
    "epochs": (("train", "epochs"),),
    "ensemble": (("train", "ensemble"),),
    "refit": (("train", "refit"),),
    "time_budget": (("train", "time_budget"),),
    "batch_size": (("train", "batch_size"),),
    "precision": (("train", "precision"),),
    "strategy": (("train", "strategy"),),
    "tta": (("predict", "tta"),),
}


def _option(name: str, kind: type, help: str, default: Any = None) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    if kind is bool and default is not False:
        flag += "/--no-" + name.replace("_", "-")  # on by default, or pipeline.toml may turn it on
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(default, flag, help=help.replace("[", "\\["), show_default=default is not None),
        annotation=kind | None if default is None else kind,
    )


COMMON = [
    _option("data_dir", Path, "Competition folder holding raw/ and processed/ [default: data]."),
    _option("quiet", bool, "Print only warnings, errors and results.", False),
]
STAGE_OPTIONS = [
    _option("force", bool, "Re-run every stage this command covers, fresh or not.", False),
    _option("resume", bool, "Resume training interrupted by a crash or Ctrl-C from its last epoch "
            "checkpoint; --no-resume starts over.", True),
    _option("tensorboard", bool, "When training runs, also write TensorBoard logs to reports/tensorboard/ "
            "(a cached train writes none: add --force).", False),
    _option("label_column", str, "Label column of train.csv [default: label, else the one column "
            "test.csv lacks]."),
    _option("id_column", str, "Id column of test.csv [default: detect id/ImageId]."),
    _option("fill_missing", bool, "Fill empty feature cells with the column's median in train.csv "
            "[default: no: an empty cell is an error]."),
    _option("task", str, "auto, binary, multiclass or regression [default: auto: text or at most 20 whole-number "
            "values are classes, other numbers a regression]."),
    _option("metric", str, "accuracy, balanced_accuracy, f1, auc, logloss, rmse, rmsle, mae or r2: what validation "
            "reports and the model is chosen by [default: auto: from sample_submission.csv (0.5: auc; a column per "
            "class: logloss), else accuracy, or rmse (rmsle for a positive, skewed target)]."),
    _option("image_shape", str, "Image shape such as 28x28 or 32x32x3 [default: square feature counts]."),
    _option("val_fraction", float,
            f"Share of train rows held out for validation [default: {SplitParams.val_fraction}]."),
    _option("seed", int, f"Seed of the split and of training [default: {SplitParams.seed}]."),
    _option("preset", str, "fast (about a minute), default, or best (an ensemble, with --tta) [default: default]."),
    _option("model", str, "auto, cnn, cnn_large, mlp or hgb [default: auto: the preset's CNN for "
            "images (cnn_large for best); for tables the network (mlp), gradient boosting (hgb) or their blend, "
            "whichever scores the metric best on validation]."),
    _option("epochs", int, "Most epochs to train; early stopping may end sooner "
            "[default: the preset's, from the row count]."),
    _option("ensemble", int, "Networks (seeds) to train and average [default: the preset's]."),
    _option("refit", bool, "Retrain the final model(s) on train + val for the epochs validation chose "
            "[default: no]."),
    _option("time_budget", str, "Cap training time, e.g. 90s, 10m or 1h, by choosing the epochs."),
    _option("batch_size", int, f"Training batch size [default: {TrainParams.batch_size}]."),
    _option("precision", str, "auto, float32 or bfloat16: the training arithmetic [default: auto: "
            "bfloat16 mixed precision on a CPU with native bfloat16 (AMX or AVX512-BF16), else float32]."),
    _option("strategy", str, "auto, one, mirrored or multi-worker: tf.distribute training over one device, "
            "all GPUs of this machine, or the machines in TF_CONFIG; --batch-size is the global batch "
            "[default: auto: mirrored with 2+ GPUs, else one]."),
    _option("tta", bool, "Test-time augmentation: average each image's prediction with "
            f"{TTA_VIEWS} augmented copies, in validate and predict [default: with --preset best only]."),
]


def command(name: str, stage_options: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a command that receives a ready Runner, with the shared options added and
    user errors turned into one line and exit code 2."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(fn).parameters.values() if p.name != "runner"]
        shared = COMMON + (STAGE_OPTIONS if stage_options else [])

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            options = {p.name: kwargs.pop(p.name) for p in shared}
            reporter = RichReporter(quiet=options["quiet"])
            try:
                overrides: dict[str, dict[str, Any]] = {}
                for option, targets in PARAM_OPTIONS.items():
                    for section, key in targets:
                        overrides.setdefault(section, {})[key] = options.get(option)
                config = load_config(overrides, data_dir=options["data_dir"])
                runner = Runner(config, reporter, force=options.get("force", False),
                                resume=options.get("resume", True), tensorboard=options.get("tensorboard", False))
                fn(runner=runner, **kwargs)
            except PipelineError as exc:
                reporter.close()
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                reporter.close()
                err.print("interrupted; cached stages are kept")
                raise typer.Exit(130) from None

        wrapper.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
        return app.command(name)(wrapper)

    return decorate


# -- stage commands ----------------------------------------------------------------------


def _stage_command(stage: str, doc: str) -> None:
    def run_stage(runner: Runner) -> None:
        runner.run(stage)
        if stage == "validate":
            _print_metrics(runner)

    run_stage.__doc__ = doc
    command(stage)(run_stage)


_stage_command("ingest", "Read data/raw/train.csv and test.csv into arrays.")
_stage_command("preprocess", "Reshape to images and scale to [0, 1]; tables pass through.")
_stage_command("split", "Stratified train/validation split (indices only).")
_stage_command("train", "Train the Keras model; also exports models/model.keras.")
_stage_command("validate", "Validation metrics; saves reports/metrics.json.")


@command("run-all")
def run_all(runner: Runner) -> None:
    """Run ingest through validate, taking fresh stages from the cache, and refresh the
    report in reports/."""
    drawn = report_html(runner)
    _print_metrics(runner)
    if drawn:
        out.print(f"[dim]report: {drawn}[/]", highlight=False)


@command("report")
def report(runner: Runner) -> None:
    """Draw the visual report of the validated model into reports/ (index.html, learning
    curves, confusion matrix, most confident mistakes, per-class precision and recall,
    feature importance for tabular data, history.csv). run-all keeps it up to date."""
    drawn = report_html(runner, force=True)
    out.print(f"wrote [bold]{drawn}[/]", highlight=False)


@command("predict")
def predict(
    runner: Runner,
    out_path: Path = typer.Option(
        Path("submissions/submission.csv"), "--out", help="Where to write the submission CSV."
    ),
    input_path: Path | None = typer.Option(
        None, "--input", help="Predict this CSV (any rows with train.csv's feature columns) instead of test.csv."
    ),
) -> None:
    """Predict test.csv (or --input FILE) and write a checked submission CSV."""
    frame = predict_file(runner, input_path, out_path) if input_path else write_submission(runner, out_path)
    header = ",".join(str(c) for c in frame.columns)
    out.print(f"wrote [bold]{out_path}[/]: {len(frame)} rows, header {header}", highlight=False)


@command("status")
def status(runner: Runner) -> None:
    """Show each stage as fresh, stale (and why) or missing. Never imports TensorFlow."""
    table = Table("stage", "state", "why")
    colour = {"fresh": "green", "stale": "yellow", "missing": "red"}
    for row in runner.status():
        table.add_row(row.name, f"[{colour[row.state]}]{row.state}[/]", row.reason)
    out.print(table)
    _print_task(runner)


def _print_task(runner: Runner) -> None:
    """The task ingest decided (not known before ingest has run)."""
    task = runner.task()
    shown = task.summary if task else "task: decided when ingest runs (--task and --metric to choose)"
    out.print(f"[dim]{escape(shown)}[/]", highlight=False)


@command("config")
def show_config(runner: Runner) -> None:
    """Print the effective settings and where each comes from: the default, pipeline.toml or
    an option. Takes the same options as the stage commands."""
    from pipeline.config import settings

    flags = {f"{section}.{key}": "--" + option.replace("_", "-")
             for option, targets in PARAM_OPTIONS.items() for section, key in targets}
    flags["data_dir"] = "--data-dir"
    table = Table("setting", "value", "from", title="effective configuration")
    for name, value, source in settings(runner.config):
        shown = flags[name] if source == "option" else source
        table.add_row(name, json.dumps(value), shown, style=None if source == "default" else "bold")  # TOML's spelling
    out.print(table)
    _print_task(runner)


@command("clean", stage_options=False)
def clean(runner: Runner) -> None:
    """Remove cached outputs (data/processed/), models/model.keras and .pkl, reports/metrics.json and
    the report. data/raw/ is never touched."""
    from pipeline.reports import FILES

    config = runner.config
    exported = {runner.exported(name) for name in STAGES} | {config.models_dir / f"model.{s}" for s in ("keras", "pkl")}
    targets = [p for p in exported if p is not None and p.exists()]  # a blend exports both models
    targets += [p for p in config.processed_dir.glob("*") if p.name != ".gitkeep"]
    targets += [p for name in FILES if (p := config.reports_dir / name).exists()]
    for path in targets:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    out.print(f"removed {len(targets)} cached file(s)")


@command("demo", stage_options=False)
def demo(
    runner: Runner,
    force: bool = typer.Option(False, "--force", help="Overwrite existing CSVs in data/raw/."),
) -> None:
    """Write the embedded demo competition (scikit-learn's 8x8 digits) into data/raw/."""
    from pipeline.demo import write_demo

    for path in write_demo(runner.config.raw_dir, overwrite=force):
        out.print(f"wrote {path}")
    out.print("next: [bold]pipeline run-all[/] then [bold]pipeline predict --out submissions/sub.csv[/]")


@command("fetch", stage_options=False)
def fetch(
    runner: Runner,
    competition: str = typer.Argument(..., help="The competition's slug (kaggle.com/competitions/SLUG) or URL."),
    force: bool = typer.Option(False, "--force", help="Overwrite files of the same name in data/raw/."),
) -> None:
    """Download a Kaggle competition's files into data/raw/ (needs the kaggle package: pip install kaggle)."""
    from pipeline import kaggle

    slug = kaggle.competition_slug(competition)
    api = kaggle.connect()
    show = out.is_terminal and not getattr(runner.report, "quiet", False)
    for path in kaggle.fetch(api, slug, runner.config.raw_dir, force=force, quiet=not show):
        out.print(f"wrote {path}")
    kaggle.remember(runner.config.data_dir, slug)
    out.print("next: [bold]pipeline run-all[/] then [bold]pipeline predict[/] and [bold]pipeline submit -m ...[/]")


@command("submit", stage_options=False)
def submit(
    runner: Runner,
    message: str = typer.Option("", "--message", "-m", help="Description shown next to the score on Kaggle."),
    file: Path = typer.Option(Path("submissions/submission.csv"), "--file", help="The submission CSV to upload."),
    competition: str | None = typer.Option(
        None, "--competition", help="Competition slug \\[default: the last `pipeline fetch`]."
    ),
) -> None:
    """Check a submission against data/raw/sample_submission.csv, then upload it to Kaggle."""
    from pipeline import kaggle

    if not message.strip():
        raise PipelineError('pass --message "what changed", shown next to the score on Kaggle')
    slug = kaggle.competition_for(competition, runner.config.data_dir)
    sample = kaggle.sample_submission(runner.config.raw_dir, slug)
    kaggle.check_submission_file(file, sample)  # before connecting: works offline, fails fast
    answer = kaggle.submit(kaggle.connect(), slug, file, message, sample)
    out.print(f"{answer} ({file} to {slug}); scores: https://www.kaggle.com/competitions/{slug}/submissions",
              highlight=False, soft_wrap=True, markup=False)


def _print_metrics(runner: Runner) -> None:
    from pipeline.reports import metrics_record

    from pipeline.reports import SCALARS

    record = metrics_record(runner.outputs("validate"))
    summary = Table("validation", "value", title=f"{record['n_val']} held-out rows")
    summary.add_row(f"[bold]{record['metric']}[/] (the competition's metric)", f"[bold]{record['score']:.4f}[/]")
    for name in SCALARS:
        if name in record and name.replace("_", "") != record["metric"]:
            summary.add_row(name.replace("_", " "), f"{record[name]:.4f}")
    out.print(summary)
    classes = [str(c) for c in record.get("classes", [])]
    if classes and len(classes) <= 30:
        matrix = Table("true \\ predicted", *classes, "recall", title="confusion matrix")
        for name, row in zip(classes, record["confusion_matrix"]):
            matrix.add_row(name, *(str(v) for v in row), f"{record['recall'][name]:.3f}")
        out.print(matrix)
    out.print(f"[dim]saved {runner.exported('validate')}[/]")


def main() -> None:
    try:
        app(prog_name="pipeline")
    except SystemExit as done:
        if done.code != 130:
            raise
        # Interrupted: everything worth keeping is on disk, so leave without Python's
        # teardown, which can crash (SIGSEGV) under TensorFlow threads an interrupted fit
        # left running.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
