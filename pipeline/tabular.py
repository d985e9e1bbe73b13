"""The network for tables: the schema's columns in, through Keras preprocessing layers.

Each numeric column (a date's parts included) is normalised with the training rows' mean
and variance, and a missing cell becomes 0 plus a missing indicator; each categorical
column goes through a StringLookup over train's vocabulary (missing and unseen values share
its out-of-vocabulary index) into a small embedding; each free-text column goes through a
TextVectorization of its words and word pairs (the MAX_TOKENS most frequent in the training
rows; the rest share one index) as a bag of them, into a learnt sum of their embeddings. A
two-layer MLP with batch norm and dropout follows, then a softmax over the classes or one
linear output for a regression. So `models/model.keras` takes the columns by name: numbers
for numeric columns, strings for categorical and text ones.

Everything the builder needs (names, kinds, vocabularies, statistics) is a `spec`: plain
arrays, stored with the weights in the cache. Keras is imported inside the functions.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from pipeline.schema import CATEGORICAL

UNITS = (256, 128)
DROPOUT = 0.2
MAX_EMBEDDING = 16
MAX_TOKENS = 20_000  # a text column's words and word pairs the network tells apart
TEXT_EMBEDDING = 32
NGRAMS = 2


def spec(feature_names: list[str], feature_kinds: list[str], vocabularies: dict[str, tuple[str, ...]],
         x_train: np.ndarray, y_train: np.ndarray | None = None, text_names: list[str] | None = None,
         text_train: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The network's description from the training rows: `y_train` (a regression target, in
    the units the model learns) gives the output's scale; `text_train`, the strings of the
    text columns `text_names`, their vocabularies."""
    numeric = np.array([kind != CATEGORICAL for kind in feature_kinds])
    values = x_train[:, numeric].astype(np.float64)
    filled = ~np.isnan(values)
    count = np.maximum(filled.sum(axis=0), 1)
    mean = np.where(filled, values, 0).sum(axis=0) / count
    variance = np.where(filled, (values - mean) ** 2, 0).sum(axis=0) / count
    vocab = [v for name, kind in zip(feature_names, feature_kinds) if kind == CATEGORICAL
             for v in vocabularies.get(name, ())]
    sizes = [len(vocabularies.get(name, ())) for name, kind in zip(feature_names, feature_kinds)
             if kind == CATEGORICAL]
    described = {
        "names": np.array(feature_names, dtype=str),
        "kinds": np.array(feature_kinds, dtype=str),
        "vocabulary": np.array(vocab, dtype=str),
        "vocabulary_sizes": np.array(sizes, dtype=np.int64),
        "mean": mean.astype(np.float32),
        "variance": np.where(variance > 0, variance, 1).astype(np.float32),
    }
    if text_names and text_train is not None:
        described.update(_text_vocabularies(text_names, text_train))
    if y_train is not None:
        described["y_mean"] = np.array(np.mean(y_train), dtype=np.float32)
        described["y_std"] = np.array(np.std(y_train) or 1.0, dtype=np.float32)
    return described


def _text_vocabularies(text_names: list[str], text: np.ndarray) -> dict[str, np.ndarray]:
    """Each text column's MAX_TOKENS most frequent words and word pairs, as Keras'
    TextVectorization counts them (lower case, punctuation stripped)."""
    import tensorflow as tf

    from pipeline.keras_env import load_keras

    keras = load_keras()
    vocabularies = []
    for j in range(len(text_names)):
        layer = keras.layers.TextVectorization(max_tokens=MAX_TOKENS, ngrams=NGRAMS, output_mode="multi_hot")
        layer.adapt(tf.data.Dataset.from_tensor_slices(text[:, j].astype(str)).batch(4096))
        vocabularies.append([str(w) for w in layer.get_vocabulary()[1:]])  # less the out-of-vocabulary token
    return {"text_names": np.array(text_names, dtype=str),
            "text_vocabulary": np.array([w for words in vocabularies for w in words], dtype=str),
            "text_vocabulary_sizes": np.array([len(words) for words in vocabularies], dtype=np.int64)}


def input_names(described: dict[str, np.ndarray]) -> list[str]:
    """The model's input names: the column names (the text columns' last), with characters
    TensorFlow refuses as `_`."""
    names: list[str] = []
    for name in [*described["names"], *described.get("text_names", ())]:
        clean = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(name)) or "column"
        while clean in names:
            clean += "_"
        names.append(clean)
    return names


def inputs(described: dict[str, np.ndarray], x: np.ndarray, text: np.ndarray | None = None,
           coded: bool = False) -> dict[str, np.ndarray]:
    """The encoded table `x` (and its `text` columns' strings, when the network reads text)
    as the network's inputs: numbers as float32, category codes back to their strings
    (missing or unseen: the empty string), text as it is. `coded` keeps each category as its
    code plus one (0: missing), for `decoder` to turn into strings a batch at a time: as
    string tensors, the categories of a 5,000,000-row table take 0.7 GB."""
    x = x.reshape(len(x), -1)  # images, when `--model mlp` is asked for them
    columns = {}
    names = input_names(described)
    if "text_names" in described:
        if text is None:
            raise ValueError("this network reads text columns: pass their strings (text=)")
        for j, name in enumerate(names[len(described["kinds"]):]):
            columns[name] = np.asarray(text[:, j], dtype=object)[:, None]
    vocabularies = iter(_vocabularies(described))
    for i, (name, kind) in enumerate(zip(names, described["kinds"])):
        column = x[:, i]
        if kind == CATEGORICAL:
            words = np.array(["", *next(vocabularies)], dtype=object)
            codes = np.where(np.isnan(column), -1, column).astype(np.int32) + 1
            columns[name] = (codes if coded else words[codes])[:, None]
        else:
            columns[name] = column.astype(np.float32)[:, None]
    return columns


def decoder(tf: Any, described: dict[str, np.ndarray]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function from a batch of `inputs(..., coded=True)` to the network's inputs: each
    category's codes looked up as its strings."""
    names, vocabularies = input_names(described), iter(_vocabularies(described))
    words = {name: tf.constant(["", *next(vocabularies)]) for name, kind in zip(names, described["kinds"])
             if kind == CATEGORICAL}
    return lambda columns: {name: tf.gather(words[name], column) if name in words else column
                            for name, column in columns.items()}


def _vocabularies(described: dict[str, np.ndarray], key: str = "vocabulary") -> list[list[str]]:
    """Each categorical column's vocabulary (or with key "text_vocabulary", each text
    column's), in column order."""
    vocab, ends = [str(v) for v in described[key]], np.cumsum(described[f"{key}_sizes"])
    return [vocab[start:end] for start, end in zip([0, *ends[:-1]], ends)]


def dataset(described: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray | None = None,
            text: np.ndarray | None = None) -> Any:
    """A tf.data dataset of `inputs` (and `y`): Keras takes string columns only that way."""
    import tensorflow as tf

    features = inputs(described, x, text)
    return tf.data.Dataset.from_tensor_slices(features if y is None else (features, y))


def build(keras: Any, described: dict[str, np.ndarray], n_outputs: int, regression: bool) -> Any:
    """The network `described`, from the `keras` module given (pipeline.models loads it)."""
    layers = keras.layers
    model_inputs, numeric, embedded = {}, [], []
    names = input_names(described)
    vocabularies = iter(_vocabularies(described))
    for name, kind in zip(names, described["kinds"]):
        if kind == CATEGORICAL:
            words = [w for w in next(vocabularies) if w]
            model_inputs[name] = keras.Input((1,), dtype="string", name=name)
            index = layers.StringLookup(vocabulary=words or ["?"], num_oov_indices=1)(model_inputs[name])
            dim = min(MAX_EMBEDDING, max(2, round(1.6 * (len(words) + 1) ** 0.56)))
            embedded.append(layers.Flatten()(layers.Embedding(len(words or ["?"]) + 1, dim)(index)))
        else:
            model_inputs[name] = keras.Input((1,), dtype="float32", name=name)
            numeric.append(model_inputs[name])
    if "text_names" in described:
        for name, words in zip(names[len(described["kinds"]):], _vocabularies(described, "text_vocabulary")):
            model_inputs[name] = keras.Input((1,), dtype="string", name=name)
            bag = layers.TextVectorization(max_tokens=len(words or ["?"]) + 1, ngrams=NGRAMS, output_mode="multi_hot",
                                           vocabulary=words or ["?"])(model_inputs[name])
            embedded.append(layers.Flatten()(layers.Dense(TEXT_EMBEDDING, use_bias=False)(bag)))  # its words' embeddings, summed
    parts = list(embedded)
    if numeric:
        joined = numeric[0] if len(numeric) == 1 else layers.Concatenate()(numeric)
        normalised = layers.Normalization(mean=described["mean"], variance=described["variance"])(joined)
        parts.append(_missing_layer(keras)()(normalised))
    x = parts[0] if len(parts) == 1 else layers.Concatenate()(parts)
    for units in UNITS:
        x = layers.Dense(units, use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(DROPOUT)(x)
    if regression:
        x = layers.Dense(1, dtype="float32")(x)
        outputs = layers.Rescaling(float(described["y_std"]), offset=float(described["y_mean"]))(x)
    else:
        outputs = layers.Dense(n_outputs, activation="softmax", dtype="float32")(x)
    return keras.Model(model_inputs, outputs, name="mlp")


def custom_objects() -> dict[str, Any]:
    """What `keras.models.load_model` needs to load a table's `models/model.keras`."""
    import keras

    return {"pipeline>MissingIndicator": _missing_layer(keras)}


_layers: dict[str, Any] = {}


def _missing_layer(keras: Any) -> Any:
    """A layer that turns NaN into 0 (the mean, once normalised) and appends a 0/1 column per
    input saying which were missing (see `custom_objects`)."""
    if "missing" not in _layers:
        @keras.saving.register_keras_serializable(package="pipeline")
        class MissingIndicator(keras.layers.Layer):
            def call(self, x: Any) -> Any:
                ops = keras.ops
                missing = ops.isnan(x)
                return ops.concatenate([ops.where(missing, ops.zeros_like(x), x), ops.cast(missing, x.dtype)], axis=-1)

            def compute_output_shape(self, shape: tuple) -> tuple:
                return (*shape[:-1], 2 * shape[-1])

        _layers["missing"] = MissingIndicator
    return _layers["missing"]
