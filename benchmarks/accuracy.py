"""Benchmark: each preset's accuracy and training speed against the notebook MLP, side by side.

For every competition folder given (train.csv, test.csv, optional sample_submission.csv, and
test_labels.csv with the true labels in the submission's layout, never shown to the pipeline)
and for each preset, it runs `pipeline run-all --preset P` and `pipeline predict` as
subprocesses in a fresh working folder, then prints the validation accuracy, the submission's
test accuracy, the training time and the training images/s (from the train stage's record), the
wall-clock time of both commands and their CPU seconds. On a shared VM whose process now and then
gets less than its cores for a while, the wall clock of one run can double; its CPU time grows
far less, so the two ratios together tell a slow spell from a slow program. In the same run it trains the plain notebook MLP 128-128 (pandas, pixels / 255, Adam, 5 epochs,
batch 32) on the same files and prints the same figures.

    .venv/bin/python benchmarks/accuracy.py --competition /work/data/fmnist \\
        --competition digits8 --presets fast,default,best

`digits8` stands for scikit-learn's 8x8 digits, the demo competition (`pipeline demo`), with
its held-out labels. `--recipe 30` also trains the Kaggle recipe (benchmarks/_common.py) for 30
epochs on the same files, in the same run, and prints each preset's time (and CPU time) as a
multiple of its. The recipe runs in this process on TensorFlow's own choice of kernels, as a
notebook would (Eigen's on a CPU without VNNI, AVX512-BF16 or AMX; `TF_ENABLE_ONEDNN_OPTS=1`
gives it oneDNN's, which the pipeline always uses). Extra pipeline options go in
`--pipeline-args="--refit"`; `--keep DIR` keeps each run's working folder, where `pipeline predict --tta` then re-runs only predict.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from _common import machine, recipe_model, tf_kernels

RAW = ("train.csv", "test.csv", "sample_submission.csv")
HEADER = (f"{'competition':14s} {'model':22s} {'val acc':>8s} {'test acc':>8s} {'train s':>8s} {'img/s':>7s} "
          f"{'total s':>8s} {'epochs':>6s} {'CPU s':>7s}")


def digits8(folder: Path) -> Path:
    """The demo competition plus its test labels (the demo's split, recomputed)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from pipeline.demo import demo_frames

    frames = demo_frames()
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / name, index=False)
    target = load_digits().target
    _, test_rows = train_test_split(range(len(target)), test_size=len(frames["test.csv"]),
                                    stratify=target, random_state=0)
    pd.DataFrame({"ImageId": range(1, len(test_rows) + 1), "Label": target[test_rows]}).to_csv(
        folder / "test_labels.csv", index=False)
    return folder


def accuracy(submission: pd.DataFrame, truth: pd.DataFrame) -> float:
    id_col, label_col = truth.columns[:2]
    merged = truth.merge(submission, on=id_col, suffixes=("_true", "_pred"))
    if len(merged) != len(truth):
        sys.exit(f"submission ids do not match the {len(truth)} ids of test_labels.csv")
    return float((merged[f"{label_col}_true"] == merged[f"{label_col}_pred"]).mean())


def children_cpu() -> float:
    """CPU seconds of the finished subprocesses so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def train_record(work: Path) -> tuple[float, int, int]:
    """(seconds, images trained, epochs of the first network) of the train stage, from its cache record."""
    with zipfile.ZipFile(work / "data" / "processed" / "train.npz") as npz:
        meta = json.loads(np.lib.format.read_array(npz.open("__meta__.npy")).item())
        images = int(np.lib.format.read_array(npz.open("images_trained.npy")))
        epochs = len(np.lib.format.read_array(npz.open("history_loss.npy")))
    return meta["seconds"], images, epochs


def pipeline_row(competition: Path, work: Path, preset: str, extra: list[str]) -> tuple[float, ...]:
    raw = work / "data" / "raw"
    raw.mkdir(parents=True)
    for name in RAW:
        if (competition / name).exists():
            (raw / name).symlink_to((competition / name).resolve())
    exe = str(Path(sys.executable).with_name("pipeline"))
    options = ["--quiet", "--preset", preset, *extra]
    cpu = children_cpu()
    total = run([exe, "run-all", *options], work)
    total += run([exe, "predict", "--out", "sub.csv", *options], work)
    cpu = children_cpu() - cpu
    val = json.loads((work / "reports" / "metrics.json").read_text())["accuracy"]
    test = accuracy(pd.read_csv(work / "sub.csv"), pd.read_csv(competition / "test_labels.csv"))
    seconds, images, epochs = train_record(work)
    return val, test, seconds, images / seconds, total, epochs, cpu


def mlp_row(competition: Path) -> tuple[float, ...]:
    """The notebook way: pandas, pixels / 255, a Keras MLP 128-128 for 5 epochs."""
    started, cpu = time.perf_counter(), time.process_time()
    import keras

    keras.utils.set_random_seed(0)
    train = pd.read_csv(competition / "train.csv")
    test = pd.read_csv(competition / "test.csv")
    y = train.pop("label").to_numpy()
    x = train.to_numpy(np.float32) / 255.0
    x_test = test[list(train.columns)].to_numpy(np.float32) / 255.0
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(int(y.max()) + 1, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_started = time.perf_counter()
    history = model.fit(x, y, validation_split=0.1, epochs=5, batch_size=32, verbose=0).history
    seconds = time.perf_counter() - fit_started
    truth = pd.read_csv(competition / "test_labels.csv")
    submission = pd.DataFrame({truth.columns[0]: truth.iloc[:, 0],
                               truth.columns[1]: model.predict(x_test, verbose=0).argmax(axis=1)})
    images = 5 * int(len(x) * 0.9)
    return (history["val_accuracy"][-1], accuracy(submission, truth), seconds, images / seconds,
            time.perf_counter() - started, 5, time.process_time() - cpu)


def recipe_row(competition: Path, epochs: int) -> tuple[float, ...]:
    """The Kaggle recipe as published (see _common.recipe_model): ImageDataGenerator
    augmentation, batch 64, Adam 1e-3 x 0.95^epoch, 10% held out, for `epochs` epochs."""
    started, cpu = time.perf_counter(), time.process_time()
    import keras
    from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator

    keras.utils.set_random_seed(0)
    train = pd.read_csv(competition / "train.csv")
    test = pd.read_csv(competition / "test.csv")
    y = train.pop("label").to_numpy()
    x = (train.to_numpy(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    x_test = (test[list(train.columns)].to_numpy(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    split = int(len(x) * 0.9)
    flow = ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
                              height_shift_range=0.1).flow(x[:split], y[:split], batch_size=64, seed=0)
    model = recipe_model(keras, int(y.max()) + 1, augment=False)
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 0.95 ** epoch)
    fit_started = time.perf_counter()
    history = model.fit(flow, epochs=epochs, validation_data=(x[split:], y[split:]), callbacks=[schedule],
                        verbose=0).history
    seconds = time.perf_counter() - fit_started
    truth = pd.read_csv(competition / "test_labels.csv")
    submission = pd.DataFrame({truth.columns[0]: truth.iloc[:, 0],
                               truth.columns[1]: model.predict(x_test, verbose=0).argmax(axis=1)})
    return (history["val_accuracy"][-1], accuracy(submission, truth), seconds, epochs * split / seconds,
            time.perf_counter() - started, epochs, time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--competition", action="append", required=True,
                        help="competition folder with test_labels.csv, or digits8; repeatable")
    parser.add_argument("--presets", default="fast,default,best")
    parser.add_argument("--pipeline-args", default="", help="extra options for run-all and predict")
    parser.add_argument("--seeds", default="", help="comma-separated seeds: one run of each preset per seed")
    parser.add_argument("--no-mlp", action="store_true", help="skip the MLP baseline")
    parser.add_argument("--keep", type=Path, help="keep the working folders here (to try --tta after)")
    parser.add_argument("--recipe", type=int, default=0, metavar="EPOCHS",
                        help="also train the Kaggle recipe for EPOCHS epochs, and compare each run's time with it")
    args = parser.parse_args()
    extra = shlex.split(args.pipeline_args)

    print(machine())
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        for entry in args.competition:
            competition = digits8(Path(tmp) / "digits8") if entry == "digits8" else Path(entry)
            name = competition.name
            rows = {}
            for preset in args.presets.split(","):
                for seed in args.seeds.split(",") if args.seeds else [""]:
                    options = [*extra, *(["--seed", seed] if seed else [])]
                    label = f"pipeline {preset} {' '.join(options)}".strip()
                    rows[label] = pipeline_row(competition, Path(tmp) / f"{name}-{preset}-{seed}", preset, options)
                    print(f"{name:14s} {label:22s} " + fmt(rows[label]), flush=True)
            if args.recipe:
                recipe = recipe_row(competition, args.recipe)
                print(f"{name:14s} {f'recipe, {args.recipe} epochs':22s} " + fmt(recipe)
                      + f"  ({tf_kernels()}'s kernels)", flush=True)
                for label, row in rows.items():
                    print(f"{name:14s} {label}: both commands {row[4] / recipe[4]:.2f}x the recipe's time "
                          f"({row[6] / recipe[6]:.2f}x its CPU time), training {row[2] / recipe[2]:.2f}x, "
                          f"at {row[3] / recipe[3]:.2f}x its images/s", flush=True)
            if not args.no_mlp:
                print(f"{name:14s} {'MLP 128-128, 5 epochs':22s} " + fmt(mlp_row(competition)), flush=True)


def fmt(row: tuple[float, ...]) -> str:
    val, test, seconds, speed, total, epochs, cpu = row
    return f"{val:8.4f} {test:8.4f} {seconds:8.1f} {speed:7.0f} {total:8.1f} {epochs:6d} {cpu:7.0f}"


if __name__ == "__main__":
    main()
