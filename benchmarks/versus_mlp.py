"""Benchmark: the ``pipeline`` CLI against the plain notebook Keras MLP.

What it measures, on one Kaggle-style CSV competition folder:

* **pipeline**: in a fresh temporary working directory (the CSVs symlinked into
  ``WORK/data/raw/``), the wall time of ``pipeline run-all --quiet`` plus
  ``pipeline predict --out WORK/sub.csv``, each run as a subprocess with the
  ``pipeline`` executable next to ``sys.executable``; then the wall time of a
  second ``pipeline run-all --quiet`` (every stage cached, so a no-op) next to
  ``python -c pass`` for reference.
* **plain MLP**: the usual notebook recipe in this process: ``pd.read_csv``,
  pixels / 255, Keras ``Dense(128, relu) - Dense(128, relu) - softmax``, Adam,
  5 epochs, batch 32, ``validation_split=0.1``, then predict test.csv. Its wall
  time starts before ``import keras`` so that, like each pipeline subprocess,
  it pays for loading TensorFlow.

Both submissions are scored against ``test_labels.csv`` (true labels in the
submission's layout, e.g. ``ImageId,Label``), joined on the id column, and one
small table is printed: method, test accuracy, wall seconds, plus the
pipeline/plain time ratio and the cached re-run against ``python -c pass``.

The competition folder must hold ``train.csv``, ``test.csv`` and
``test_labels.csv``; ``sample_submission.csv`` is optional. ``test_labels.csv``
is never shown to the pipeline.

Run, from the repository root with the project's virtual environment::

    .venv/bin/python benchmarks/versus_mlp.py --competition /path/to/digits28
    .venv/bin/python benchmarks/versus_mlp.py --competition /path/to/fmnist \\
        --pipeline-args="--epochs 5"

``--pipeline-args`` is split like a shell line and appended to both
``run-all`` calls and to ``predict``; write it with ``=`` so that argparse does
not take its value for an option of this script.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RAW_FILES: tuple[str, ...] = ("train.csv", "test.csv", "sample_submission.csv")
TRUTH_FILE = "test_labels.csv"


@dataclass
class Timed:
    """One finished subprocess: its command, wall seconds and output."""

    argv: list[str]
    seconds: float
    returncode: int
    output: str


@dataclass
class Row:
    """One line of the results table."""

    method: str
    accuracy: float
    seconds: float


def pipeline_executable() -> Path:
    """The ``pipeline`` console script installed beside this interpreter."""
    exe = Path(sys.executable).parent / "pipeline"
    if not exe.exists():
        raise SystemExit(f"no pipeline executable at {exe}; install the project into this venv")
    return exe


def child_env() -> dict[str, str]:
    """The environment for subprocesses, with TensorFlow's C++ logging quietened."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_timed(argv: list[str], cwd: Path, *, check: bool = True) -> Timed:
    """Run ``argv`` in ``cwd``, returning wall seconds and combined output.

    With ``check``, a non-zero exit prints the command and its full output and
    ends the benchmark with that exit status.
    """
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - start
    timed = Timed(argv=argv, seconds=seconds, returncode=proc.returncode, output=proc.stdout)
    if check and proc.returncode != 0:
        print(f"\nFAILED (exit {proc.returncode}) after {seconds:.1f}s: {shlex.join(argv)}", file=sys.stderr)
        print(f"cwd: {cwd}", file=sys.stderr)
        print(proc.stdout, file=sys.stderr)
        raise SystemExit(proc.returncode or 1)
    return timed


def stage_competition(competition: Path, work: Path, copy: bool) -> Path:
    """Put the competition's CSVs (not the labels) into ``work/data/raw/``."""
    raw = work / "data" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        src = competition / name
        if not src.exists():
            if name == "sample_submission.csv":
                continue
            raise SystemExit(f"missing {src}")
        dst = raw / name
        if copy:
            shutil.copy2(src, dst)
        else:
            dst.symlink_to(src.resolve())
    return work / "data"


def score(submission: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Accuracy of ``submission`` against ``truth``, joined on the id column.

    Both frames have the layout of ``test_labels.csv``: the id column first,
    the label column second. Every truth id must be predicted exactly once.
    """
    id_col, label_col = truth.columns[0], truth.columns[1]
    missing = {id_col, label_col} - set(submission.columns)
    if missing:
        raise SystemExit(f"submission lacks column(s) {sorted(missing)}; has {list(submission.columns)}")
    if submission[id_col].duplicated().any():
        raise SystemExit(f"submission repeats ids in {id_col!r}")
    merged = truth.merge(submission[[id_col, label_col]], on=id_col, how="left", suffixes=("_true", "_pred"))
    unpredicted = int(merged[f"{label_col}_pred"].isna().sum())
    if unpredicted:
        raise SystemExit(f"submission has no prediction for {unpredicted} of {len(truth)} ids")
    extra = len(submission) - len(truth)
    if extra:
        print(f"warning: submission has {len(submission)} rows, truth {len(truth)}", file=sys.stderr)
    true = merged[f"{label_col}_true"].astype(str)
    pred = merged[f"{label_col}_pred"].astype(str)
    return float((true == pred).mean())


def run_pipeline(
    competition: Path, work: Path, extra: list[str], copy: bool, verbose: bool
) -> tuple[Timed, Timed, Timed, Path]:
    """Stage the data, then time run-all, predict and the cached re-run of run-all."""
    exe = str(pipeline_executable())
    stage_competition(competition, work, copy)
    sub = work / "sub.csv"
    run_all = [exe, "run-all", "--data-dir", "data", "--quiet", *extra]
    predict = [exe, "predict", "--data-dir", "data", "--out", str(sub), "--quiet", *extra]

    print(f"[pipeline] {shlex.join(run_all)}  (cwd {work})", flush=True)
    first = run_timed(run_all, work)
    print(f"[pipeline] run-all took {first.seconds:.1f}s", flush=True)
    if verbose and first.output.strip():
        print(indent(first.output))

    print(f"[pipeline] {shlex.join(predict)}", flush=True)
    pred = run_timed(predict, work)
    print(f"[pipeline] predict took {pred.seconds:.1f}s", flush=True)
    if verbose and pred.output.strip():
        print(indent(pred.output))
    if not sub.exists():
        raise SystemExit(f"pipeline predict exited 0 but wrote no {sub}")

    print("[pipeline] cached re-run of run-all", flush=True)
    again = run_timed(run_all, work)
    print(f"[pipeline] cached run-all took {again.seconds:.1f}s", flush=True)
    if verbose and again.output.strip():
        print(indent(again.output))
    return first, pred, again, sub


def python_pass_seconds(repeats: int = 3) -> float:
    """Best-of wall time of ``python -c pass`` with this interpreter."""
    times = [run_timed([sys.executable, "-c", "pass"], Path.cwd()).seconds for _ in range(repeats)]
    return min(times)


def submission_ids(competition: Path, test: pd.DataFrame, id_col: str, n: int) -> np.ndarray:
    """Ids for the plain submission: test.csv's id column, else the sample's, else 1..n."""
    if id_col in test.columns:
        return test[id_col].to_numpy()
    sample = competition / "sample_submission.csv"
    if sample.exists():
        ids = pd.read_csv(sample, usecols=[id_col])[id_col].to_numpy()
        if len(ids) == n:
            return ids
    return np.arange(1, n + 1)


def run_plain(competition: Path, truth: pd.DataFrame, epochs: int, seed: int) -> tuple[float, float]:
    """The notebook way, timed from the first import of Keras; returns (accuracy, seconds)."""
    id_col, label_col = truth.columns[0], truth.columns[1]
    start = time.perf_counter()
    import keras  # imported here so that the plain way pays for loading TensorFlow too

    keras.utils.set_random_seed(seed)
    train = pd.read_csv(competition / "train.csv")
    test = pd.read_csv(competition / "test.csv")
    # The label is the train column test.csv lacks; any id column is dropped.
    label_candidates = [c for c in train.columns if c not in test.columns]
    if len(label_candidates) != 1:
        raise SystemExit(f"cannot tell the label column of train.csv from {label_candidates}")
    train_label = label_candidates[0]
    features = [c for c in test.columns if c != id_col and c in train.columns]

    classes, y = np.unique(train[train_label].to_numpy(), return_inverse=True)
    x = train[features].to_numpy(dtype="float32") / 255.0
    x_test = test[features].to_numpy(dtype="float32") / 255.0

    model = keras.Sequential(
        [
            keras.Input(shape=(x.shape[1],)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(len(classes), activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.1, verbose=0)
    pred = classes[model.predict(x_test, batch_size=256, verbose=0).argmax(axis=1)]
    sub = pd.DataFrame({id_col: submission_ids(competition, test, id_col, len(test)), label_col: pred})
    seconds = time.perf_counter() - start
    return score(sub, truth), seconds


def indent(text: str, prefix: str = "    ") -> str:
    """``text`` with every line indented, for echoing subprocess output."""
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def print_table(rows: list[Row], cached: float, python_pass: float, detail: dict[str, float]) -> None:
    """Print the side-by-side table and the two ratios."""
    width = max(len(r.method) for r in rows)
    print()
    print(f"{'method':<{width}}  {'test acc':>8}  {'wall s':>8}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}")
    for r in rows:
        print(f"{r.method:<{width}}  {r.accuracy:>8.4f}  {r.seconds:>8.1f}")
    print()
    pipe, plain = rows[0].seconds, rows[1].seconds
    print(f"time ratio pipeline/plain: {pipe / plain:.2f}x"
          f"  (run-all {detail['run_all']:.1f}s + predict {detail['predict']:.1f}s)")
    print(f"cached run-all re-run: {cached:.2f}s  vs  python -c pass: {python_pass:.2f}s"
          f"  ({cached / python_pass:.0f}x)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--competition", type=Path, required=True,
                        help="folder with train.csv, test.csv, test_labels.csv, optional sample_submission.csv")
    parser.add_argument("--pipeline-args", default="",
                        help='extra arguments for run-all and predict, e.g. --pipeline-args="--epochs 5"')
    parser.add_argument("--plain-epochs", type=int, default=5, help="epochs of the plain MLP (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the plain MLP (default 0)")
    parser.add_argument("--copy", action="store_true", help="copy the CSVs instead of symlinking them")
    parser.add_argument("--keep", action="store_true", help="keep the temporary working directory")
    parser.add_argument("--verbose", action="store_true", help="echo the pipeline's own output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run both methods on one competition and print the table."""
    args = parse_args(argv)
    competition: Path = args.competition.resolve()
    truth_path = competition / TRUTH_FILE
    if not truth_path.exists():
        raise SystemExit(f"missing {truth_path}")
    truth = pd.read_csv(truth_path)
    if truth.shape[1] < 2:
        raise SystemExit(f"{truth_path} needs an id column and a label column")
    extra = shlex.split(args.pipeline_args)

    work = Path(tempfile.mkdtemp(prefix="versus_mlp_"))
    try:
        first, pred, again, sub_path = run_pipeline(competition, work, extra, args.copy, args.verbose)
        pipe_acc = score(pd.read_csv(sub_path), truth)
        python_pass = python_pass_seconds()

        print(f"[plain] Keras MLP, {args.plain_epochs} epochs, batch 32", flush=True)
        plain_acc, plain_seconds = run_plain(competition, truth, args.plain_epochs, args.seed)
        print(f"[plain] took {plain_seconds:.1f}s", flush=True)
    finally:
        if args.keep:
            print(f"kept working directory {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    label = "pipeline run-all+predict" + (f" ({' '.join(extra)})" if extra else "")
    rows = [
        Row(label, pipe_acc, first.seconds + pred.seconds),
        Row(f"plain Keras MLP ({args.plain_epochs} ep)", plain_acc, plain_seconds),
    ]
    print_table(rows, again.seconds, python_pass, {"run_all": first.seconds, "predict": pred.seconds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
