"""Fitting one Keras network: compiled under the plan's tf.distribute strategy, fed by a
seeded tf.data pipeline, trained under the learning-rate schedule of
pipeline.training.schedule with the callbacks of pipeline.training.callbacks; and the wrapper that keeps each finished network in the
checkpoints folder so that an interrupted train stage resumes. TensorFlow is imported inside
the functions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from pipeline import cache
from pipeline.keras_env import INFERENCE_BATCH, load_keras
from pipeline.training import batchnorm
from pipeline.training.callbacks import BackupAndRestore, ProgressAndBudget, early_stopping
from pipeline.training.plan import Plan
from pipeline.training.schedule import Schedule

if TYPE_CHECKING:
    from pipeline.config import TrainParams

Build = Callable[..., Any]  # (input shape, outputs, augment, precision, spec) -> an uncompiled network
# Past this many rows a shuffle buffer is not used: it held about 196 bytes a row (0.88 GB for
# a 5,000,000-row table's 4,500,000 training rows), where a permutation of the row numbers
# holds 8. Images and smaller tables keep the buffer, and so the order their rows always had.
SHUFFLE_BUFFER_ROWS = 200_000


def resumable(fit: Callable[..., Any], checkpoints: Path | None) -> Callable[..., Any]:
    """`fit` that keeps each finished network in `checkpoints` (and takes it from there on a
    rerun) and backs up an unfinished one after every epoch."""
    if checkpoints is None:
        return lambda *args, **kwargs: fit(*args[:-1], **kwargs)

    def fit_or_resume(build: Build, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
                      n_classes: int, params: TrainParams, augment: float, seed: int, plan: Plan,
                      name: str, text: np.ndarray | None = None) -> tuple[Any, dict[str, list[float]], int]:
        done = checkpoints / f"{name}.npz"
        try:
            meta = cache.read_meta(done)
            if meta is not None:
                net = build(x.shape[1:], n_classes, augment, spec=plan.spec)
                weights = cache.load(done)
                net.set_weights([weights[k] for k in sorted(weights)])
                return net, meta["history"], meta["best"]
        except (cache.CorruptCache, ValueError, KeyError):
            pass  # a damaged or foreign file: train this network again
        net, history, best = fit(build, x, y, fit_idx, val_idx, n_classes, params, augment, seed, plan,
                                 backup=checkpoints / name, text=text)
        cache.save(done, {f"w{i:03d}": w for i, w in enumerate(net.get_weights())},
                   {"history": history, "best": best})
        return net, history, best

    return fit_or_resume


def fit_keras(build: Build, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
              n_classes: int, params: TrainParams, augment: float, seed: int,
              plan: Plan, backup: Path | None = None,
              text: np.ndarray | None = None) -> tuple[Any, dict[str, list[float]], int]:
    """One network from `build` (a learner's); returns it, its history, and the epoch (from 1) whose weights it kept.
    With `backup`, Keras' BackupAndRestore saves its state there after every epoch and
    restores it when the folder already holds one. `text`: a table's text columns, every
    row's, for a network that reads them."""
    keras = load_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    # variables created in the scope are mirrored on every replica; fit then splits each
    # global batch of params.batch_size rows between them and all-reduces the gradients
    with (tf.distribute.get_strategy() if plan.strategy is None else plan.strategy).scope():
        distributed = tf.distribute.has_strategy()  # False for the default strategy
        net = build(x.shape[1:], n_classes, augment, params.precision, spec=plan.spec)
        for layer in net.layers if distributed else []:
            # Batch norm over the global batch, as on one device, rather than over each replica's
            # share: small shares give noisy statistics, and each worker would keep its own
            # moving averages (so its own model).
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
        net.compile(
            optimizer=keras.optimizers.Adam(params.learning_rate),
            loss=plan.task.loss,
            metrics=[] if plan.task.learns_numbers else ["accuracy"],
        )
    validation = stopping = None
    if val_idx is not None:
        validation = batches(tf, _rows(plan, x, val_idx, text, coded=True), y[val_idx], INFERENCE_BATCH,
                             decode=_decoder(tf, plan))
        stopping = early_stopping(keras, plan.epochs, len(val_idx), plan.task.early_stopping_monitor)
    restore = [] if backup is None else [BackupAndRestore(keras, backup)]
    callbacks = [
        *restore,  # first: it sets the starting epoch the others then see
        # before early stopping, which keeps the best epoch's weights with their statistics
        batchnorm.Recompute(keras, batchnorm.sample_batches(lambda rows: _rows(plan, x, fit_idx[rows], text),
                                                          len(fit_idx))),
        ProgressAndBudget(keras, plan, math.ceil(len(fit_idx) / params.batch_size)),
        # after the budget has capped plan.epochs, before early stopping reads where the decay starts
        Schedule(keras, plan, params.learning_rate, stopping),
        *([stopping] if stopping else []),
        *([keras.callbacks.TensorBoard(str(plan.tensorboard))] if plan.tensorboard else []),
    ]
    data = batches(tf, _rows(plan, x, fit_idx, text, coded=True), y[fit_idx], params.batch_size, shuffle_seed=seed,
                   decode=_decoder(tf, plan))
    if not distributed:
        # Under a strategy, Keras builds the model on a batch of a first iterator, which draws
        # the first of the per-epoch shuffles; drawing it here too gives every strategy the
        # same order of rows in every epoch.
        iter(data)
    history = net.fit(
        data,
        validation_data=validation,
        epochs=plan.epochs,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=0,
    ).history
    kept = {k: [float(v) for v in values] for k, values in history.items() if k != "learning_rate"}
    if stopping is not None and stopping.best_weights is not None:
        return net, kept, stopping.best_epoch + 1
    return net, kept, len(kept["loss"])


def _rows(plan: Plan, x: np.ndarray, idx: np.ndarray, text: np.ndarray | None = None, coded: bool = False) -> Any:
    """The network's input for rows `idx`: the array, or for a table its columns by name
    (`coded`: categories as codes, for `_decoder`)."""
    if plan.spec is None:
        return x[idx]
    from pipeline import tabular

    return tabular.inputs(plan.spec, x[idx], None if text is None else text[idx], coded=coded)


def _decoder(tf: Any, plan: Plan) -> Callable[[Any], Any] | None:
    """What turns a batch of `_rows(..., coded=True)` into the network's input (None: nothing to)."""
    if plan.spec is None:
        return None
    from pipeline import tabular

    return tabular.decoder(tf, plan.spec)


def batches(tf: Any, x: Any, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None,
            decode: Callable[[Any], Any] | None = None) -> Any:
    """A shuffling, prefetching tf.data pipeline (seeded, so reruns are identical) of `x` (an
    array, or a dict of a table's columns) and `y`. What is shuffled is the row numbers, and
    each batch gathers its rows: a shuffle buffer of the rows themselves held every row again
    as its own tensors (10 GB for a table of a million rows). A shuffle draws the same order
    of any n elements for a seed, so the rows come in the order they always did, up to
    SHUFFLE_BUFFER_ROWS rows. `decode` turns each batch of `x` into the network's input."""
    tensors = tf.nest.map_structure(tf.convert_to_tensor, (x, y))
    rows = tf.data.Dataset.range(len(y))
    if shuffle_seed is not None and len(y) > SHUFFLE_BUFFER_ROWS:
        # each pass, one permutation of the row numbers drawn from that pass's seed: 8 bytes a row
        rows = tf.data.Dataset.random(seed=shuffle_seed, rerandomize_each_iteration=True).take(1).flat_map(
            lambda draw: tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(
                tf.range(len(y), dtype=tf.int64), seed=tf.stack([draw, tf.constant(0, tf.int64)]))))
    elif shuffle_seed is not None:
        rows = rows.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)

    def batch(i: Any) -> Any:
        features, labels = tf.nest.map_structure(lambda t: tf.gather(t, i), tensors)
        return (features if decode is None else decode(features)), labels

    data = rows.batch(batch_size).map(batch)
    # Across workers, each keeps its share of the (identically shuffled) rows: in-memory
    # data has no files to shard by, which TensorFlow would otherwise try first and warn.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.prefetch(tf.data.AUTOTUNE).with_options(options)
