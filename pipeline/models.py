"""Keras model builders (a small registry by name) and the model <-> cache-array round trip.

A trained model travels through the cache as plain arrays (its architecture name, input shape,
class count and weights), so the train stage stays a function from arrays to arrays. Keras is
imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

INFERENCE_BATCH = 1024


def load_keras() -> Any:
    """Import Keras on TensorFlow, hiding TensorFlow's C++ start-up log lines (they bypass
    TF_CPP_MIN_LOG_LEVEL); Python errors still raise as usual."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
        import keras
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)
    return keras


def resolve(arch: str, input_shape: tuple[int, ...]) -> str:
    """The concrete architecture for `auto`: a CNN for images, an MLP for vectors."""
    if arch == "auto":
        return "cnn" if len(input_shape) == 3 else "mlp"
    if arch == "cnn" and len(input_shape) != 3:
        return "mlp"  # a CNN needs an image shape; tabular vectors fall back to the MLP
    return arch


def build(arch: str, input_shape: tuple[int, ...], n_classes: int) -> Any:
    """A fresh, uncompiled model from the registry."""
    return BUILDERS[arch](tuple(int(d) for d in input_shape), int(n_classes))


def _cnn(input_shape: tuple[int, ...], n_classes: int) -> Any:
    keras = load_keras()
    layers = keras.layers

    inputs = keras.Input(input_shape)
    x = inputs
    size = min(input_shape[:2])
    for filters in (32, 64, 128):
        for _ in range(2 if filters < 128 else 1):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("relu")(x)
        if size >= 4:
            x = layers.MaxPooling2D(2)(x)
            size //= 2
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="cnn")


def _mlp(input_shape: tuple[int, ...], n_classes: int) -> Any:
    keras = load_keras()
    layers = keras.layers

    inputs = keras.Input(input_shape)
    x = layers.Flatten()(inputs)
    for units in (256, 128):
        x = layers.Dense(units, use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mlp")


BUILDERS: dict[str, Callable[[tuple[int, ...], int], Any]] = {"cnn": _cnn, "mlp": _mlp}


def to_arrays(model: Any, arch: str) -> dict[str, np.ndarray]:
    """Everything needed to rebuild `model`, as arrays for the cache."""
    arrays = {
        "arch": np.array(arch),
        "input_shape": np.array(model.input_shape[1:], dtype=np.int64),
        "n_classes": np.array(model.output_shape[-1], dtype=np.int64),
    }
    for i, weight in enumerate(model.get_weights()):
        arrays[f"weight_{i:03d}"] = weight
    return arrays


def from_arrays(arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild a model saved by `to_arrays`."""
    model = build(str(arrays["arch"]), tuple(arrays["input_shape"]), int(arrays["n_classes"]))
    model.set_weights([arrays[k] for k in sorted(arrays) if k.startswith("weight_")])
    return model


def predict_proba(
    arrays: dict[str, np.ndarray], x: np.ndarray, on_batch: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Class probabilities of the cached model on `x`; `on_batch(done, total)` reports progress."""
    keras = load_keras()
    total = -(-len(x) // INFERENCE_BATCH)

    class Progress(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
            if on_batch:
                on_batch(batch + 1, total)

    model = from_arrays(arrays)
    return np.asarray(model.predict(x, batch_size=INFERENCE_BATCH, verbose=0, callbacks=[Progress()]))


def export(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Save the cached model as a `.keras` file, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        from_arrays(arrays).save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
