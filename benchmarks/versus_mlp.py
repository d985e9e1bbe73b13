"""Benchmark: `pipeline run-all` + `predict` against the plain notebook MLP, side by side.

On one Kaggle-layout competition folder (train.csv, test.csv, optional sample_submission.csv,
and test_labels.csv with the true labels in the submission's layout, never shown to the
pipeline) it measures, in one run:

- the pipeline: `run-all` then `predict` as subprocesses in a fresh working folder, their
  wall time and the submission's test accuracy; then a second, fully cached `run-all`
  against `python -c pass`;
- the plain way: pandas read_csv, pixels / 255, a Keras MLP 128-128 (Adam, 5 epochs,
  batch 32), predict; its wall time (TensorFlow's import included, as for the pipeline)
  and test accuracy.

    .venv/bin/python benchmarks/versus_mlp.py --competition DIR [--pipeline-args="--epochs 5"]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RAW = ("train.csv", "test.csv", "sample_submission.csv")


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def accuracy(submission: pd.DataFrame, truth: pd.DataFrame) -> float:
    id_col, label_col = truth.columns[:2]
    merged = truth.merge(submission, on=id_col, suffixes=("_true", "_pred"))
    if len(merged) != len(truth):
        sys.exit(f"submission ids do not match {len(truth)} test_labels.csv ids")
    return float((merged[f"{label_col}_true"] == merged[f"{label_col}_pred"]).mean())


def run_pipeline(competition: Path, work: Path, extra: list[str]) -> tuple[float, float, float]:
    """(seconds of run-all + predict, test accuracy, seconds of the cached re-run)."""
    raw = work / "data" / "raw"
    raw.mkdir(parents=True)
    for name in RAW:
        if (competition / name).exists():
            (raw / name).symlink_to((competition / name).resolve())
    exe = str(Path(sys.executable).with_name("pipeline"))
    seconds = timed([exe, "run-all", "--quiet", *extra], work)
    seconds += timed([exe, "predict", "--quiet", "--out", "sub.csv", *extra], work)
    cached = min(timed([exe, "run-all", "--quiet", *extra], work) for _ in range(3))
    score = accuracy(pd.read_csv(work / "sub.csv"), pd.read_csv(competition / "test_labels.csv"))
    return seconds, score, cached


def run_plain(competition: Path, epochs: int) -> tuple[float, float]:
    """(seconds, test accuracy) of the notebook MLP 128-128."""
    started = time.perf_counter()
    import keras

    keras.utils.set_random_seed(0)
    train = pd.read_csv(competition / "train.csv")
    test = pd.read_csv(competition / "test.csv")
    truth = pd.read_csv(competition / "test_labels.csv")
    y = train.pop("label").to_numpy()
    features = list(train.columns)
    x = train.to_numpy(np.float32) / 255.0
    x_test = test[features].to_numpy(np.float32) / 255.0
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(int(y.max()) + 1, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.1, verbose=0)
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    seconds = time.perf_counter() - started
    id_col, label_col = truth.columns[:2]
    ids = test[id_col] if id_col in test.columns else np.arange(1, len(test) + 1)
    return seconds, accuracy(pd.DataFrame({id_col: ids, label_col: predicted}), truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--competition", type=Path, required=True)
    parser.add_argument("--pipeline-args", default="", help='extra options, e.g. "--epochs 5"')
    parser.add_argument("--plain-epochs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    with tempfile.TemporaryDirectory(prefix="versus_mlp_") as tmp:
        seconds, score, cached = run_pipeline(
            args.competition, Path(tmp), shlex.split(args.pipeline_args)
        )
    plain_seconds, plain_score = run_plain(args.competition, args.plain_epochs)
    python_pass = min(timed([sys.executable, "-c", "pass"], Path.cwd()) for _ in range(3))

    label = f"pipeline run-all + predict {args.pipeline_args}".strip()
    print(f"{'method':<44} {'test acc':>8} {'wall s':>8}")
    print(f"{label:<44} {score:>8.4f} {seconds:>8.1f}")
    print(f"{f'plain Keras MLP 128-128 ({args.plain_epochs} epochs)':<44} "
          f"{plain_score:>8.4f} {plain_seconds:>8.1f}")
    print(f"time ratio pipeline / plain: {seconds / plain_seconds:.2f}x; "
          f"accuracy gain: {score - plain_score:+.4f}")
    print(f"cached run-all: {cached:.2f}s vs python -c pass: {python_pass:.2f}s")


if __name__ == "__main__":
    main()
