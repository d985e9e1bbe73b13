"""Keras model builders (a small registry by name) and the model <-> cache-array round trip.

A trained model travels through the cache as plain arrays (its architecture name, input shape,
class count and weights), so the train stage stays a function from arrays to arrays. Keras is
imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline import cache

INFERENCE_BATCH = 1024
TTA_VIEWS = 4  # augmented copies averaged with the original by --tta


def load_keras() -> Any:
    """Import Keras on TensorFlow with oneDNN's kernels on every x86 CPU, hiding TensorFlow's
    C++ start-up log lines (they bypass TF_CPP_MIN_LOG_LEVEL); Python errors still raise as
    usual."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # TensorFlow turns oneDNN on by itself only on CPUs with VNNI, AVX512-BF16 or AMX. On an
    # AVX2-only CPU it falls back to Eigen's convolutions, which trained the default CNN at
    # 0.4x oneDNN's images/s on a 2-core Zen 3 (docs/avx2.md). A user's setting still wins.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow
        import keras

        tensorflow.get_logger().setLevel("ERROR")  # e.g. retracing notes when several nets predict
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)
    return keras


def resolve(arch: str, input_shape: tuple[int, ...], image_model: str = "cnn") -> str:
    """The concrete architecture: `auto` is `image_model` for images and `tabular` for tables
    (the train stage fits both mlp and hgb and keeps the best of them and their blend); a
    CNN needs an image."""
    image = len(input_shape) == 3
    if arch == "auto":
        return image_model if image else "tabular"
    if arch.startswith("cnn") and not image:
        return "tabular"
    return arch


def build(arch: str, input_shape: tuple[int, ...], n_classes: int, augment: float = 0.0,
          precision: str = "float32", spec: dict[str, np.ndarray] | None = None) -> Any:
    """A fresh, uncompiled Keras model from the registry; `augment` scales the CNN's training
    augmentation (see `augmentation_strength`). With `precision` "bfloat16" its layers compute
    in bfloat16 (mixed precision: the weights, and so the cache, stay float32). The network
    for tables (`mlp`) is described by its `spec` (see pipeline.tabular); `n_classes` is 1
    for a regression."""
    if arch == TABLE_NET:
        from pipeline import tabular

        return tabular.build(load_keras(), spec, n_classes, regression="y_mean" in spec)
    keras = load_keras()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        return BUILDERS[arch](tuple(int(d) for d in input_shape), int(n_classes), float(augment))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def augmentation_strength(n_train: int) -> float:
    """Augmentation is regularisation, and large training sets need less of it: full strength
    up to 10,000 rows, then falling as 10,000 / rows. On 20k Fashion-MNIST rows (8 epochs),
    shifts alone cost 1.3 points of test accuracy against none, rotations and zooms 2 more."""
    return min(1.0, 10_000 / max(n_train, 1))


def _augmentation(keras: Any, strength: float, seed: int | None = None) -> list[Any]:
    """Rotations up to 10 degrees, zooms and shifts up to 10%, times `strength`; active only
    in training. No flips: a flipped 6 reads as a 9."""
    if strength <= 0:
        return []
    layers = keras.layers
    return [
        layers.RandomRotation(strength * 10 / 360, fill_mode="constant", seed=seed),
        layers.RandomZoom(strength * 0.1, fill_mode="constant", seed=seed),
        layers.RandomTranslation(strength * 0.1, strength * 0.1, fill_mode="constant", seed=seed),
    ]


# The default CNN's 3x3 convs as (filters, max-pool after): a 16- and a 32-filter conv at
# full resolution, one 64-filter conv at half (see `_cnn`). The first conv's 16 filters halve
# the cost of the second, the costliest layer: 2.3x the recipe's images per CPU-second with
# oneDNN held to AVX2, where 32 filters gave 1.6x (docs/avx2.md).
CNN_BLOCKS = ((16, False), (32, True), (64, True))


def _cnn(input_shape: tuple[int, ...], n_classes: int, augment: float,
         blocks: tuple[tuple[int, bool], ...] = CNN_BLOCKS, name: str = "cnn", pool_last: bool = False) -> Any:
    """3x3 Conv-BN-ReLU layers of `blocks` ((filters, max-pool after)), then a 256-unit dense
    layer with dropout. A pooled block pools straight after its conv, so batch norm and ReLU
    see a quarter of the values (ReLU and a positive BN scale commute with max-pooling): 1.4x
    the images/s of `pool_last`, the usual order. The default's second conv at full resolution
    lifted the 4k-digit benchmark from 0.9865 to 0.990 (mean of four seeds) for 0.8x the
    images/s; other layouts scored lower on one accuracy benchmark or both (see the README)."""
    keras = load_keras()
    layers = keras.layers

    x = inputs = keras.Input(input_shape)
    for layer in _augmentation(keras, augment):
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


def _cnn_large(input_shape: tuple[int, ...], n_classes: int, augment: float) -> Any:
    """Two convs at each of the first two resolutions (VGG-style), for the best preset: 0.8x
    the default's images/s, for about half a point more on Fashion-MNIST per network."""
    blocks = ((32, False), (32, True), (64, False), (64, True))
    return _cnn(input_shape, n_classes, augment, blocks, name="cnn_large")


BUILDERS: dict[str, Callable[[tuple[int, ...], int, float], Any]] = {"cnn": _cnn, "cnn_large": _cnn_large}
TABLE_NET = "mlp"  # the network for tables, built from a spec rather than a shape
BLEND = "blend"  # a table's network and gradient boosting, averaged with weights


def is_keras(arch: str) -> bool:
    return arch in BUILDERS or arch == TABLE_NET


def to_arrays(arch: str, input_shape: tuple[int, ...], n_classes: int, augment: float,
              members: list[Any], refit: list[Any], spec: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Everything needed to rebuild the trained networks, as arrays for the cache.

    `members` are the networks validated on the held-out rows; `refit`, when not empty, are
    their retrained copies on all rows, which predict uses instead. Keras networks are stored
    as their weights (and a table's network with its `spec`), scikit-learn estimators as
    pickled bytes. `n_classes` is the number of outputs: 1 for a regression."""
    arrays = {
        "arch": np.array(arch),
        "input_shape": np.array(input_shape, dtype=np.int64),
        "n_classes": np.array(n_classes, dtype=np.int64),
        "augment": np.array(augment, dtype=np.float32),
        **{f"spec_{k}": v for k, v in (spec or {}).items()},
    }
    for group, nets in (("member", members), ("refit", refit)):
        for m, net in enumerate(nets):
            if is_keras(arch):
                for i, weight in enumerate(net.get_weights()):
                    arrays[f"{group}{m}_weight_{i:03d}"] = weight
            else:
                arrays[f"{group}{m}_pickle"] = np.frombuffer(pickle.dumps(net), dtype=np.uint8)
    return arrays


def from_arrays(arrays: dict[str, np.ndarray], final: bool = True) -> list[Any]:
    """The networks saved by `to_arrays`: the refit ones when `final` and present, else the
    validated members."""
    group = "refit" if final and any(k.startswith("refit") for k in arrays) else "member"
    arch = str(arrays["arch"])
    nets = []
    while True:
        prefix = f"{group}{len(nets)}_"
        if f"{prefix}pickle" in arrays:
            nets.append(pickle.loads(arrays[f"{prefix}pickle"].tobytes()))
        elif f"{prefix}weight_000" in arrays:
            net = build(arch, tuple(arrays["input_shape"]), int(arrays["n_classes"]), arrays["augment"],
                        spec=spec_of(arrays))
            net.set_weights([arrays[k] for k in sorted(arrays) if k.startswith(f"{prefix}weight_")])
            nets.append(net)
        else:
            return nets


def spec_of(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k[len("spec_"):]: v for k, v in arrays.items() if k.startswith("spec_")}


def part(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """One model of a blend, as `to_arrays` stored it under the prefix `name/`."""
    return {k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(f"{name}/")}


def blend(parts: dict[str, dict[str, np.ndarray]], weights: dict[str, float]) -> dict[str, np.ndarray]:
    """The arrays of a blend: each part's under its name, predicted as the weighted mean."""
    first = next(iter(parts.values()))
    arrays = {"arch": np.array(BLEND), "n_classes": first["n_classes"], "input_shape": first["input_shape"],
              "blend_parts": np.array(list(parts)), "blend_weights": np.array([weights[p] for p in parts])}
    for name, part_arrays in parts.items():
        arrays.update({f"{name}/{k}": v for k, v in part_arrays.items()})
    return arrays


def predict_proba(
    arrays: dict[str, np.ndarray],
    x: np.ndarray,
    on_batch: Callable[[int, int], None] | None = None,
    final: bool = True,
    tta: bool = False,
) -> np.ndarray:
    """Class probabilities on `x` (for a regression, an (n, 1) column of predictions in the
    units the model learned), averaged over the networks (see `from_arrays`) and, with
    `tta` on images, over TTA_VIEWS augmented copies too; `on_batch(done, total)` reports progress."""
    arch = str(arrays["arch"])
    if arch == BLEND:
        return sum(float(w) * predict_proba(part(arrays, name), x, on_batch, final)
                   for name, w in zip(arrays["blend_parts"], arrays["blend_weights"]))
    nets = from_arrays(arrays, final)
    if arch == TABLE_NET or not is_keras(arch):
        if on_batch:
            on_batch(1, 1)
        return np.mean([predict_with(arch, net, x, spec_of(arrays)) for net in nets], axis=0)
    keras = load_keras()
    strength = float(arrays["augment"])
    n_views = 1 + (TTA_VIEWS if tta and x.ndim == 4 and strength > 0 else 0)
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


def predict_with(arch: str, net: Any, x: np.ndarray, spec: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One network's (or estimator's) output on `x`, as predict_proba gives an ensemble's
    (without its TTA): what each fold's model predicts for the rows it did not train on."""
    if not is_keras(arch):
        return _sklearn_predict(net, x.reshape(len(x), -1))
    if arch == TABLE_NET:
        from pipeline import tabular

        return net.predict(tabular.dataset(spec, x).batch(INFERENCE_BATCH), verbose=0)
    return net.predict(x, batch_size=INFERENCE_BATCH, verbose=0)


def first_member(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model `arrays` as if it had only its first member (for a blend, each part's first):
    a bagged model's fold-0 model, which never trained on fold 0's rows."""
    if str(arrays["arch"]) == BLEND:
        kept = {k: v for k, v in arrays.items() if not any(k.startswith(f"{p}/") for p in arrays["blend_parts"])}
        for name in arrays["blend_parts"]:
            kept.update({f"{name}/{k}": v for k, v in first_member(part(arrays, name)).items()})
        return kept
    return {k: v for k, v in arrays.items() if not re.match(r"(member|refit)\d+_", k) or k.startswith("member0_")}


def _sklearn_predict(net: Any, x: np.ndarray) -> np.ndarray:
    x = clip_categories(x, getattr(net, "is_categorical_", None))
    return net.predict_proba(x) if hasattr(net, "predict_proba") else net.predict(x)[:, None]


MAX_CATEGORY = 254  # gradient boosting takes category codes up to this; the rarer ones share it


def clip_categories(x: np.ndarray, categorical: np.ndarray | None) -> np.ndarray:
    """`x` with the category codes of the `categorical` columns past MAX_CATEGORY merged into
    one (missing stays NaN)."""
    if categorical is None or not np.any(categorical):
        return x
    clipped = x.copy()
    clipped[:, categorical] = np.minimum(clipped[:, categorical], MAX_CATEGORY)
    return clipped


def augmented(keras: Any, x: np.ndarray, strength: float, seed: int) -> np.ndarray:
    """A copy of `x` under the augmentation the networks were trained with, seeded."""
    augment = keras.Sequential(_augmentation(keras, strength, seed))
    return np.concatenate([
        keras.ops.convert_to_numpy(augment(x[i:i + INFERENCE_BATCH], training=True))
        for i in range(0, len(x), INFERENCE_BATCH)
    ])


def export(arrays: dict[str, np.ndarray], folder: Path) -> Path:
    """Save the final model in `folder`, atomically: `model.keras` (an ensemble becomes one
    Keras model that averages its networks) or, for scikit-learn estimators, `model.pkl`;
    a blend writes both and returns the network's."""
    if str(arrays["arch"]) == BLEND:
        paths = [_export_one(part(arrays, name), folder) for name in arrays["blend_parts"]]
        return next((p for p in paths if p.suffix == ".keras"), paths[0])
    path = _export_one(arrays, folder)
    for other in (folder / "model.keras", folder / "model.pkl"):
        if other != path:
            other.unlink(missing_ok=True)  # an earlier model's, which would read as this one's
    return path


def _export_one(arrays: dict[str, np.ndarray], folder: Path) -> Path:
    nets = from_arrays(arrays)
    folder.mkdir(parents=True, exist_ok=True)
    if not is_keras(str(arrays["arch"])):
        path = folder / "model.pkl"
        cache.atomic_write_bytes(path, pickle.dumps(nets[0] if len(nets) == 1 else nets))
        return path
    path = folder / "model.keras"
    model, arch = nets[0], str(arrays["arch"])
    if len(nets) > 1:
        keras = load_keras()
        inputs = ([keras.Input(t.shape[1:], dtype=t.dtype, name=t.name) for t in model.inputs] if arch == TABLE_NET
                  else keras.Input(tuple(int(d) for d in arrays["input_shape"])))
        outputs = [keras.Model(net.inputs, net.output, name=f"net{m}")(inputs) for m, net in enumerate(nets)]
        model = keras.Model(inputs, keras.layers.Average()(outputs), name="ensemble")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
