"""Benchmark: training images/s of the pipeline's CNN against the Kaggle recipe, side by side.

The recipe is the well-known Digit Recognizer notebook: seven conv layers with batch norm,
dropout 0.4, Adam, batch 64, and ImageDataGenerator augmentation (rotation 10, zoom 0.1,
shift 0.1). On the same train.csv and in one run, this script trains every row below one
epoch at a time, in turns, so that a slow spell of the machine hits all rows alike:

- the recipe as published (ImageDataGenerator feeding Keras), and with its augmentation as
  Keras layers and a prefetching tf.data pipeline;
- the pipeline's default CNN as the train stage builds it (bfloat16 mixed precision where the
  CPU computes it natively), and the levers measured for it: float32, the previous default's
  32-filter first conv, the layout before that (one conv at full resolution, two at half), a
  128-filter conv added at a quarter resolution, pooling after batch norm and ReLU
  (the usual order) instead of before, numpy arrays handed to Keras, batch 64 and 256, XLA
  `jit_compile`, no batch norm, no augmentation, augmentation in the tf.data pipeline
  instead of the model;
- the best preset's cnn_large;
- then the train stage itself as shipped (tf.data, batch 128, validation on 10% included);
- last, the time each takes to reach 99% validation accuracy (`--target`): the recipe with its
  published schedule, and each preset's network through the train stage as shipped.

    .venv/bin/python benchmarks/bench_train.py --competition /tmp/real/mnist4k [--epochs 3]

Every row runs on the kernels the pipeline chooses, oneDNN's, the recipe's too: the ratios are
the networks' own. (A notebook on an AVX2-only CPU gets TensorFlow's slower Eigen kernels;
benchmarks/accuracy.py times the recipe that way.) The machine's other levers are set from
outside: `ONEDNN_MAX_CPU_ISA=AVX2` holds oneDNN to AVX2 (a laptop's kernels on a bigger CPU),
`TF_ENABLE_ONEDNN_OPTS=0` trains every row on Eigen's kernels instead, `--threads INTRA,INTER`
sizes TensorFlow's thread pools, and `--only WORDS` keeps the rows that name one of the words (the recipe and default rows
always run). The data come from benchmarks/real_data.py.

img/s is each row's fastest epoch after one warm-up: on this shared 2-core VM an epoch now and
then gets one core, not two, and takes twice as long whatever the model, so the fastest epoch
is the one that had the whole machine. img/CPU-s (the median epoch) divides by the process's
CPU time instead, which such spells do not change. On a VM whose host takes cycles without the
guest knowing (the AVX2-only EPYC of docs/avx2.md), CPU time stretches with the wall clock and
only the fastest epoch of several (`--epochs 6`) is a fair figure. Ratios are to the recipe as
published.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from _common import machine, recipe_model, tf_kernels

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--competition", type=Path, required=True, help="folder with a 28x28 train.csv")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per row (after one warm-up)")
    parser.add_argument("--target", type=float, default=0.99, help="validation accuracy to time (0: skip)")
    parser.add_argument("--only", default="", help="comma-separated words: time only the rows naming one "
                        "(the recipe and the default CNN always run)")
    parser.add_argument("--threads", default="", help="INTRA,INTER: TensorFlow's op thread pools (default: its own)")
    args = parser.parse_args()

    from pipeline import learners
    from pipeline.keras_env import load_keras
    from pipeline.learners.cnn import CNN_BLOCKS, cnn as default_cnn
    from pipeline.config import TrainParams
    from pipeline.hooks import Hooks
    from pipeline.stages.train import train
    from pipeline.training.precision import training_precision

    keras = load_keras()
    import tensorflow as tf

    if args.threads:  # before TensorFlow runs its first op
        intra, inter = (int(n) for n in args.threads.split(","))
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    frame = pd.read_csv(args.competition / "train.csv")
    y = frame.pop("label").to_numpy()
    x = (frame.to_numpy(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    n_classes = int(y.max()) + 1
    shipped = training_precision("auto", "cnn")
    shuffled = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)

    def batches(size: int) -> Any:
        return shuffled.batch(size).prefetch(tf.data.AUTOTUNE)

    def pipeline_cnn(augment: bool = True, jit: bool = False, precision: str = shipped, arch: str = "cnn",
                     batch_norm: bool = True, **cnn: Any) -> Any:
        strength = 1.0 if augment else 0.0
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
        normalization = keras.layers.BatchNormalization
        if not batch_norm:  # the same network with every batch norm an identity, to time what they cost
            keras.layers.BatchNormalization = lambda **_: keras.layers.Identity()
        try:
            model = (default_cnn((28, 28, 1), n_classes, strength, **cnn) if cnn
                     else learners.get(arch).build((28, 28, 1), n_classes, strength, precision))
        finally:
            keras.layers.BatchNormalization = normalization
            keras.mixed_precision.set_global_policy("float32")
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=jit)
        return model

    # The recipe's own feeding; ImageDataGenerator lives on in Keras 3's tf.keras namespace.
    from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator

    generator = ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
                                   height_shift_range=0.1).flow(x, y, batch_size=64, seed=0)
    augment = keras.Sequential([layer for layer in pipeline_cnn().layers if layer.name.startswith("random")])
    in_map = batches(128).map(lambda images, labels: (augment(images, training=True), labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    # name -> (model builder, training data, extra fit arguments)
    rows: dict[str, tuple[Callable[[], Any], Any, dict[str, Any]]] = {
        "recipe as published (ImageDataGenerator, batch 64)":
            (lambda: recipe_model(keras, n_classes, augment=False), generator, {}),
        "recipe, augmentation as Keras layers, tf.data, batch 64":
            (lambda: recipe_model(keras, n_classes, augment=True), batches(64), {}),
        f"pipeline default CNN ({shipped}), tf.data, batch 128": (pipeline_cnn, batches(128), {}),
        "  lever: float32 throughout": (lambda: pipeline_cnn(precision="float32"), batches(128), {}),
        "  lever: 32-filter first conv (the previous default), not 16":
            (lambda: pipeline_cnn(blocks=((32, False), *CNN_BLOCKS[1:])), batches(128), {}),
        "  lever: one conv at full resolution, two at half":
            (lambda: pipeline_cnn(blocks=((32, True), (64, False), (64, True))), batches(128), {}),
        "  lever: a 128-filter conv added at 7 pixels":
            (lambda: pipeline_cnn(blocks=(*CNN_BLOCKS, (128, False))), batches(128), {}),
        "  lever: pooling after batch norm and ReLU, not before":
            (lambda: pipeline_cnn(pool_last=True), batches(128), {}),
        "  lever: numpy arrays handed to fit (batch 128)": (pipeline_cnn, x, {"y": y, "batch_size": 128}),
        "  lever: tf.data, batch 64": (pipeline_cnn, batches(64), {}),
        "  lever: tf.data, batch 256": (pipeline_cnn, batches(256), {}),
        "  lever: XLA jit_compile": (lambda: pipeline_cnn(jit=True), batches(128), {}),
        "  lever: no batch norm": (lambda: pipeline_cnn(batch_norm=False), batches(128), {}),
        "  lever: no augmentation": (lambda: pipeline_cnn(augment=False), batches(128), {}),
        "  lever: augmentation in the tf.data map, not the model": (lambda: pipeline_cnn(augment=False), in_map, {}),
        "best preset's cnn_large": (lambda: pipeline_cnn(arch="cnn_large"), batches(128), {}),
    }
    words = [w for w in args.only.split(",") if w]
    kept = list(rows)[:3]
    rows = {name: row for name, row in rows.items() if name in kept or not words or any(w in name for w in words)}
    print(machine() + (f"; TensorFlow threads intra,inter = {args.threads}" if args.threads else "")
          + f"; every row on {tf_kernels()}'s kernels")
    print(f"{len(x)} training images of {args.competition / 'train.csv'}, {args.epochs} timed epochs each "
          f"taken in turns; this CPU has {'native' if shipped == 'bfloat16' else 'no native'} bfloat16", flush=True)
    nets = {}
    for name, (build, _, _) in rows.items():
        keras.utils.set_random_seed(0)
        nets[name] = build()
    wall: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.epochs + 1):  # the first round warms up (tracing)
        for name, (_, data, fit) in rows.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            nets[name].fit(data, epochs=1, verbose=0, **fit)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)

    split = int(len(x) * 0.9)
    ends, cpu_ends = [time.perf_counter()], [time.process_time()]

    def epoch_ended(label: str, logs: dict[str, float]) -> None:
        ends.append(time.perf_counter())
        cpu_ends.append(time.process_time())

    train(x, y, np.arange(split), np.arange(split, len(x)), np.arange(n_classes), TrainParams(epochs=args.epochs + 1),
          hooks=Hooks(epoch=epoch_ended))

    recipe = next(iter(rows))
    base, base_cpu = len(x) / min(wall[recipe][1:]), len(x) / statistics.median(cpu[recipe][1:])
    print(f"{'':58s} {'img/s':>7s} {'ratio':>6s} {'img/CPU-s':>9s} {'ratio':>6s}")
    for name in rows:
        rate, cpu_rate = len(x) / min(wall[name][1:]), len(x) / statistics.median(cpu[name][1:])
        print(f"{name:58s} {rate:7.0f} {rate / base:5.2f}x {cpu_rate:9.0f} {cpu_rate / base_cpu:5.2f}x")
        if name.startswith("pipeline default"):
            stage, stage_cpu = split / min(np.diff(ends)[1:]), split / statistics.median(np.diff(cpu_ends)[1:])
            print(f"{'  the train stage as shipped (validation on 10% included)':58s} {stage:7.0f} {stage / base:5.2f}x "
                  f"{stage_cpu:9.0f} {stage_cpu / base_cpu:5.2f}x")
    if args.target:
        time_to_accuracy(keras, x, y, n_classes, args.target)


class Reached(Exception):
    """Raised from a progress hook to end a run once it reached the target."""


def time_to_accuracy(keras: Any, x: np.ndarray, y: np.ndarray, n_classes: int, target: float) -> None:
    """Seconds until validation accuracy (10% held out, stratified) first reaches `target`:
    the recipe with its published schedule (Adam 1e-3 x 0.95^epoch, 30 epochs), and each
    preset's network through the train stage as shipped (its first network, for best)."""
    from sklearn.model_selection import train_test_split

    from pipeline.config import TrainParams
    from pipeline.hooks import Hooks
    from pipeline.presets import PRESETS
    from pipeline.stages.train import train

    fit_idx, val_idx = train_test_split(np.arange(len(x)), test_size=0.1, stratify=y, random_state=0)
    print(f"\ntime to {target:.1%} validation accuracy on {len(val_idx)} held-out images")
    best: dict[str, Any] = {}

    def on_epoch(label: str, logs: dict[str, float]) -> None:
        best["accuracy"] = max(best["accuracy"], logs.get("val_accuracy", 0.0))
        best["epoch"] = label
        if logs.get("val_accuracy", 0.0) >= target:
            raise Reached

    def outcome(name: str, run: Callable[[], Any]) -> None:
        best.update(accuracy=0.0, epoch="")
        started = time.perf_counter()
        try:
            run()
            result = f"not reached; best {best['accuracy']:.4f}"
        except Reached:
            result = f"{time.perf_counter() - started:6.0f} s ({best['epoch'].strip()})"
        print(f"{name:58s} {result}", flush=True)

    class Hook(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            on_epoch(f"epoch {epoch + 1}/30", logs or {})

    def recipe() -> None:
        keras.utils.set_random_seed(0)
        from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator

        flow = ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
                                  height_shift_range=0.1).flow(x[fit_idx], y[fit_idx], batch_size=64, seed=0)
        schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 0.95 ** epoch)
        recipe_model(keras, n_classes, augment=False).fit(
            flow, epochs=30, validation_data=(x[val_idx], y[val_idx]), callbacks=[schedule, Hook()], verbose=0)

    outcome("recipe as published", recipe)
    for preset in PRESETS:
        params = TrainParams(preset=preset, ensemble=1)
        outcome(f"pipeline {preset} preset's {PRESETS[preset].image_model}, train stage as shipped",
                lambda: train(x, y, fit_idx, val_idx, np.arange(n_classes), params, hooks=Hooks(epoch=on_epoch)))


if __name__ == "__main__":
    main()
