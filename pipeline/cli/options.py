"""The command line's shared options, each declared once in typer's Annotated style, in three
groups the commands take: `Common` (every command), `Work` (commands that run stages) and
`Settings` (every option that sets the configuration setting of the same name, in whichever
sections of pipeline.config have one: `--seed` sets split.seed and train.seed).

Part of the CLI room (pipeline.cli): no module below it imports typer.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from pipeline.config import SECTIONS, PredictParams, SplitParams, TrainParams

Option = typer.Option


@dataclass(frozen=True)
class Common:
    data_dir: Annotated[Optional[Path], Option(
        "--data-dir", metavar="DIR", help="Competition folder holding raw/ and processed/ [default: data]."
    )] = None
    quiet: Annotated[bool, Option("--quiet", "-q", help="Print only warnings, errors and results.")] = False


@dataclass(frozen=True)
class Work:
    """How a command that runs stages runs them; never kept for the folder."""

    force: Annotated[bool, Option(
        "--force", "-f", help="Re-run every stage this command covers, fresh or not."
    )] = False
    resume: Annotated[bool, Option(
        "--resume/--no-resume", help="Resume training interrupted by a crash or Ctrl-C from its last epoch "
        "checkpoint, or start over."
    )] = True
    tensorboard: Annotated[bool, Option(
        "--tensorboard", help="When training runs, also write TensorBoard logs to reports/tensorboard/ (a cached "
        "train writes none: add --force)."
    )] = False


@dataclass(frozen=True)
class Settings:
    """Options that set the configuration; None: not given (the folder's setting, pipeline.toml's, or
    the default). What one sets stays the folder's setting (pipeline.sticky)."""

    label_column: Annotated[Optional[str], Option(
        metavar="NAME[,NAME]", help="Label column of train.csv, or several targets separated by commas [default: "
        "label, else the one column test.csv lacks, else the columns test.csv lacks that sample_submission.csv "
        "names]."
    )] = None
    id_column: Annotated[Optional[str], Option(
        metavar="NAME", help="Id column of test.csv [default: detect id / ImageId]."
    )] = None
    fill_missing: Annotated[Optional[bool], Option(
        "--fill-missing/--no-fill-missing", help="Fill empty feature cells with the "
        "column's median in train.csv [default: no: an empty cell is an error]."
    )] = None
    task: Annotated[Optional[str], Option(
        metavar="TASK", help="auto, binary, multiclass or regression [default: auto: text or at most 20 "
        "whole-number values are classes, other numbers a regression]."
    )] = None
    metric: Annotated[Optional[str], Option(
        metavar="METRIC", help="accuracy, balanced_accuracy, f1 (binary: at the threshold best on validation), "
        "qwk (quadratic weighted kappa of ordered classes), auc, logloss, map@3 (the 3 likeliest labels, any K), "
        "rmse, rmsle, mae or r2: what validation reports and the model is chosen by [default: auto: from "
        "sample_submission.csv (0.5: auc; a column per class: logloss; 'a b c': map@3), else accuracy, or rmse "
        "(rmsle for a positive, skewed target)]."
    )] = None
    positive_class: Annotated[Optional[str], Option(
        metavar="VALUE", help="A binary target's positive class: the one whose probability the submission holds "
        "and F1 and AUC score [default: the class named 1, true or yes, else the rarer one, with a warning]."
    )] = None
    image_shape: Annotated[Optional[str], Option(
        metavar="HxW[xC]", help="Image shape such as 28x28 or 32x32x3 [default: square feature counts]."
    )] = None
    val_fraction: Annotated[Optional[float], Option(
        metavar="FRACTION", help=f"Share of train rows held out for validation [default: {SplitParams.val_fraction}]."
    )] = None
    folds: Annotated[Optional[int], Option(
        metavar="N", help="A table's folds: every learner trains once per fold, and is scored and chosen on the "
        "rows it did not train on, all of them; 1 is one held-out split [default: 0: 5 folds up to 20,000 rows, "
        "3 up to 100,000, else one split; images: one split]."
    )] = None
    seed: Annotated[Optional[int], Option(
        metavar="N", help=f"Seed of the split and of training [default: {SplitParams.seed}]."
    )] = None
    preset: Annotated[Optional[str], Option(
        metavar="PRESET", help="fast (about a minute), default, or best (the larger CNN, trained longer, with --tta) "
        f"[default: {TrainParams.preset}]."
    )] = None
    model: Annotated[Optional[str], Option(
        metavar="MODEL", help="auto, cnn, cnn_large, mlp, hgb, cat, linear or lgbm (LightGBM, pip install '.[dask]') "
        "[default: auto: the preset's CNN for "
        "images (cnn_large for best); for tables the network (mlp), gradient boosting (hgb), CatBoost (cat) and "
        "the linear model, blended out of fold, or the one that scores the metric best alone; lgbm with --cluster]."
    )] = None
    epochs: Annotated[Optional[int], Option(
        metavar="N", help="Most epochs to train; early stopping may end sooner [default: 0: the preset's, from "
        "the row count]."
    )] = None
    ensemble: Annotated[Optional[int], Option(
        metavar="N", help="Networks (seeds) to train and average [default: 0: the preset's]."
    )] = None
    refit: Annotated[Optional[bool], Option(
        "--refit/--no-refit", help="Retrain the final model(s) on train + val for the epochs validation chose; "
        "with one held-out split only (a table's folds already train on every row) [default: no]."
    )] = None
    time_budget: Annotated[Optional[str], Option(
        metavar="DURATION", help="Cap training time, e.g. 90s, 10m or 1h, by choosing the epochs [default: none]."
    )] = None
    batch_size: Annotated[Optional[int], Option(
        metavar="N", help=f"Training batch size [default: {TrainParams.batch_size}]."
    )] = None
    precision: Annotated[Optional[str], Option(
        metavar="PRECISION", help="auto, float32 or bfloat16: the training arithmetic [default: auto: bfloat16 "
        "mixed precision on a CPU where it trains faster (Intel AMX, AMD AVX512-BF16), else float32]."
    )] = None
    strategy: Annotated[Optional[str], Option(
        metavar="STRATEGY", help="auto, one, mirrored or multi-worker: tf.distribute training over one device, all "
        "GPUs of this machine, or the machines in TF_CONFIG; --batch-size is the global batch [default: auto: "
        "mirrored with 2+ GPUs, else one]."
    )] = None
    cluster: Annotated[Optional[str], Option(
        metavar="SCHEDULER", help="Run a table on Dask (pip install '.[dask]'): local starts a cluster on this "
        "machine that reads and predicts the table in partitions, out of core; tcp://host:8786 joins a running "
        "one; '' runs in this process [default: '': this process]."
    )] = None
    tta: Annotated[Optional[bool], Option(
        "--tta/--no-tta", help="Test-time augmentation: average each image's prediction with augmented copies, "
        f"in validate and predict [default: {'yes' if PredictParams.tta else 'no'}; yes with --preset best]."
    )] = None

    def given(self) -> dict[str, Any]:
        """The settings given, by name ("train.epochs": 3)."""
        return {name: value for option, value in dataclasses.asdict(self).items() if value is not None
                for name in targets(option)}


def targets(option: str) -> list[str]:
    """The settings an option of `Settings` sets: every section's field of its name."""
    return [f"{section}.{option}" for section, params in SECTIONS.items()
            if option in {f.name for f in dataclasses.fields(params)}]


def flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def parameters(*groups: type) -> list[Any]:
    """The groups' fields as keyword-only parameters with their Annotated typer options, for a
    command's signature."""
    import inspect

    found = []
    for group in groups:
        hints = typing.get_type_hints(group, include_extras=True)
        found += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
                  for f in dataclasses.fields(group)]
    return found


def take(group: type, values: dict[str, Any]) -> Any:
    """An instance of `group` from (and removing) its fields' values in `values`."""
    return group(**{f.name: values.pop(f.name) for f in dataclasses.fields(group)})
