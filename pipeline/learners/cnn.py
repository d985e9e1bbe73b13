"""The convolutional network for images (the default `cnn`, and `cnn_large` for the best
preset): its layers, its training augmentation, and test-time augmentation (--tta) when it
predicts. Keras is imported inside the functions."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pipeline.keras_env import INFERENCE_BATCH, load_keras
from pipeline.learners.base import KerasLearner
from pipeline.training.augment import augmentation_layers, augmented

TTA_VIEWS = 4  # augmented copies averaged with the original by --tta
# The default CNN's 3x3 convs as (filters, max-pool after): a 16- and a 32-filter conv at
# full resolution, one 64-filter conv at half (see `cnn`). The first conv's 16 filters halve
# the cost of the second, the costliest layer: 2.3x the recipe's images per CPU-second with
# oneDNN held to AVX2, where 32 filters gave 1.6x (docs/avx2.md).
CNN_BLOCKS = ((16, False), (32, True), (64, True))
# Two convs at each of the first two resolutions (VGG-style), for the best preset: 0.8x the
# default's images/s, for about half a point more on Fashion-MNIST per network.
CNN_LARGE_BLOCKS = ((32, False), (32, True), (64, False), (64, True))


class Cnn(KerasLearner):
    image = True

    def __init__(self, name: str, blocks: tuple[tuple[int, bool], ...]):
        self.name, self.blocks = name, blocks

    def build(self, input_shape: tuple[int, ...], n_classes: int, augment: float = 0.0,
              precision: str = "float32", spec: dict[str, np.ndarray] | None = None) -> Any:
        """With `precision` "bfloat16" its layers compute in bfloat16 (mixed precision: the
        weights, and so the cache, stay float32); `augment` scales the training augmentation
        (see pipeline.training.augment)."""
        keras = load_keras()
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
        try:
            return cnn(tuple(int(d) for d in input_shape), int(n_classes), float(augment), self.blocks, self.name)
        finally:
            keras.mixed_precision.set_global_policy("float32")

    def predict(self, arrays: dict[str, np.ndarray], nets: list[Any], x: np.ndarray,
                on_batch: Callable[[int, int], None] | None = None, tta: bool = False,
                text: np.ndarray | None = None) -> np.ndarray:
        """The mean over the networks and, with `tta`, over TTA_VIEWS augmented copies too,
        reporting each batch."""
        keras = load_keras()
        strength = float(arrays["augment"])
        n_views = 1 + (TTA_VIEWS if tta and strength > 0 else 0)
        per_pass = -(-len(x) // INFERENCE_BATCH)
        total = per_pass * len(nets) * n_views
        probs = np.zeros((len(x), int(arrays["n_classes"])), dtype=np.float32)
        for v in range(n_views):
            view = x if v == 0 else augmented(keras, x, strength, seed=v)
            for m, net in enumerate(nets):
                class Progress(keras.callbacks.Callback):
                    def on_predict_batch_end(self, batch: int, logs: Any = None,
                                             done: int = (v * len(nets) + m) * per_pass) -> None:
                        if on_batch:
                            on_batch(done + batch + 1, total)

                probs += net.predict(view, batch_size=INFERENCE_BATCH, verbose=0, callbacks=[Progress()])
        return probs / (len(nets) * n_views)


def cnn(input_shape: tuple[int, ...], n_classes: int, augment: float,
        blocks: tuple[tuple[int, bool], ...] = CNN_BLOCKS, name: str = "cnn", pool_last: bool = False) -> Any:
    """3x3 Conv-BN-ReLU layers of `blocks` ((filters, max-pool after)), then a 256-unit dense
    layer with dropout. A pooled block pools straight after its conv, so batch norm and ReLU
    see a quarter of the values (ReLU and a positive BN scale commute with max-pooling): 1.4x
    the images/s of `pool_last`, the usual order. The default's second conv at full resolution
    lifted the 4k-digit benchmark from 0.9865 to 0.990 (mean of four seeds) for 0.8x the
    images/s; other layouts scored lower on one accuracy benchmark or both (docs/cnn-layouts.md)."""
    keras = load_keras()
    layers = keras.layers

    x = inputs = keras.Input(input_shape)
    for layer in augmentation_layers(keras, augment):
        x = layer(x)
    size = min(input_shape[:2])
    for filters, pool in blocks:
        pool = pool and size >= 4
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        if pool and not pool_last:
            x = layers.MaxPooling2D(2)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        if pool and pool_last:
            x = layers.MaxPooling2D(2)(x)
        size //= 2 if pool else 1
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.4)(x)
    # float32 under bfloat16 too; one output is a number (a regression's, or qwk's ordered classes)
    outputs = layers.Dense(n_classes, activation="softmax" if n_classes > 1 else None, dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
