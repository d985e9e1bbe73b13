"""Benchmark: training images/s of the pipeline's CNN against the Kaggle recipe, side by side.

The recipe is the well-known Digit Recognizer notebook: seven conv layers with batch norm,
dropout 0.4, Adam, batch 64, and ImageDataGenerator augmentation (rotation 10, zoom 0.1,
shift 0.1). On the same train.csv and in one run, this script times whole epochs of:

- the recipe as published (ImageDataGenerator feeding Keras);
- the recipe with its augmentation as Keras layers and a prefetching tf.data pipeline;
- the pipeline's default CNN through the train stage as shipped (tf.data, batch 128,
  validation on 10% included), and the levers tried for it: numpy arrays handed to
  Keras, XLA `jit_compile`, batch 64 and 256, no augmentation, the second 64-filter conv
  at quarter resolution, bfloat16 mixed precision, and augmentation run in the
  tf.data pipeline instead of the model;
- the best preset's cnn_large.

    .venv/bin/python benchmarks/bench_train.py --competition /work/data/mnist4k [--epochs 3]

Each row is the median images/s of `--epochs` epochs after one warm-up epoch; the last column
is the ratio to the recipe as published.
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def recipe_model(keras: Any, n_classes: int, augment: bool) -> Any:
    layers = keras.layers
    stack = [keras.Input((28, 28, 1))]
    if augment:
        stack += [layers.RandomRotation(10 / 360, fill_mode="constant"),
                  layers.RandomZoom(0.1, fill_mode="constant"),
                  layers.RandomTranslation(0.1, 0.1, fill_mode="constant")]
    for filters in (32, 64):
        stack += [layers.Conv2D(filters, 3, activation="relu"), layers.BatchNormalization(),
                  layers.Conv2D(filters, 3, activation="relu"), layers.BatchNormalization(),
                  layers.Conv2D(filters, 5, strides=2, padding="same", activation="relu"),
                  layers.BatchNormalization(), layers.Dropout(0.4)]
    stack += [layers.Conv2D(128, 4, activation="relu"), layers.BatchNormalization(), layers.Flatten(),
              layers.Dropout(0.4), layers.Dense(n_classes, activation="softmax")]
    model = keras.Sequential(stack)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class EpochTimes:
    """Collects the wall time of each epoch."""

    def __init__(self, keras: Any) -> None:
        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                outer.started = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                outer.seconds.append(time.perf_counter() - outer.started)

        self.seconds: list[float] = []
        self.started = 0.0
        self.callback = Callback()

    def rate(self, images: int) -> float:
        return images / statistics.median(self.seconds[1:])  # the first epoch warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--competition", type=Path, required=True, help="folder with a 28x28 train.csv")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per row (after one warm-up)")
    args = parser.parse_args()

    from pipeline import models
    from pipeline.config import TrainParams
    from pipeline.stages.train import train

    keras = models.load_keras()
    import tensorflow as tf

    frame = pd.read_csv(args.competition / "train.csv")
    y = frame.pop("label").to_numpy()
    x = (frame.to_numpy(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    n_classes = int(y.max()) + 1
    epochs = args.epochs + 1
    rows: list[tuple[str, float]] = []

    def report(name: str, rate: float) -> None:
        rows.append((name, rate))
        print(f"{name:58s} {rate:7.0f} img/s {rate / rows[0][1]:6.2f}x", flush=True)

    def keras_fit(name: str, build: Callable[[], Any], data: Any, images: int, **fit: Any) -> None:
        keras.utils.set_random_seed(0)
        model = build()
        times = EpochTimes(keras)
        model.fit(data, epochs=epochs, callbacks=[times.callback], verbose=0, **fit)
        report(name, times.rate(images))

    print(f"{len(x)} training images of {args.competition / 'train.csv'}, {args.epochs} timed epochs each")
    # The recipe's own feeding; ImageDataGenerator lives on in Keras 3's tf.keras namespace.
    from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator

    generator = ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
                                   height_shift_range=0.1).flow(x, y, batch_size=64, seed=0)
    keras_fit("recipe as published (ImageDataGenerator, batch 64)",
              lambda: recipe_model(keras, n_classes, augment=False), generator, len(x))
    batches = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
    keras_fit("recipe, augmentation as Keras layers, tf.data, batch 64",
              lambda: recipe_model(keras, n_classes, augment=True),
              batches.batch(64).prefetch(tf.data.AUTOTUNE), len(x))

    split = int(len(x) * 0.9)
    ends = [time.perf_counter()]
    train(x, y, np.arange(split), np.arange(split, len(x)), n_classes, TrainParams(epochs=epochs),
          on_epoch=lambda label, logs: ends.append(time.perf_counter()))
    report("pipeline default CNN, train stage as shipped (tf.data, 128)",
           split / statistics.median(np.diff(ends)[1:]))

    def pipeline_cnn(augment: bool = True, jit: bool = False, arch: str = "cnn", **cnn: Any) -> Any:
        strength = 1.0 if augment else 0.0
        model = (models._cnn((28, 28, 1), n_classes, strength, **cnn) if cnn
                 else models.build(arch, (28, 28, 1), n_classes, strength))
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=jit)
        return model

    keras_fit("  lever: numpy arrays handed to fit (batch 128)", pipeline_cnn, x, len(x), y=y, batch_size=128)
    for batch in (64, 128, 256):
        keras_fit(f"  lever: tf.data, batch {batch}", pipeline_cnn,
                  batches.batch(batch).prefetch(tf.data.AUTOTUNE), len(x))
    keras_fit("  lever: XLA jit_compile, tf.data, batch 128", lambda: pipeline_cnn(jit=True),
              batches.batch(128).prefetch(tf.data.AUTOTUNE), len(x))
    keras_fit("  lever: no augmentation, tf.data, batch 128", lambda: pipeline_cnn(augment=False),
              batches.batch(128).prefetch(tf.data.AUTOTUNE), len(x))
    keras_fit("  lever: second 64-filter conv at 7 pixels, not 14",
              lambda: pipeline_cnn(blocks=((32, True), (64, True), (64, False))),
              batches.batch(128).prefetch(tf.data.AUTOTUNE), len(x))
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras_fit("  lever: mixed_bfloat16 precision", pipeline_cnn, batches.batch(128).prefetch(tf.data.AUTOTUNE), len(x))
    keras.mixed_precision.set_global_policy("float32")
    keras_fit("best preset's cnn_large, tf.data, batch 128", lambda: pipeline_cnn(arch="cnn_large"),
              batches.batch(128).prefetch(tf.data.AUTOTUNE), len(x))
    augment = keras.Sequential([layer for layer in pipeline_cnn().layers if layer.name.startswith("random")])
    keras_fit("  lever: augmentation in the tf.data map, not the model", lambda: pipeline_cnn(augment=False),
              batches.batch(128).map(lambda images, labels: (augment(images, training=True), labels),
                                     num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE), len(x))


if __name__ == "__main__":
    main()
