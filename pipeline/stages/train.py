"""Train: fit the model(s) on the split and return them as cache arrays (see models.to_arrays).

Images get the augmented CNN; vectors get both an MLP and scikit-learn's
HistGradientBoostingClassifier, and the one with the better validation accuracy is kept. Keras
networks learn under a cosine learning-rate decay over the epochs the preset (or --epochs, or
--time-budget) allows, with early stopping on validation loss that restores the best weights. An
ensemble trains several seeds and averages their softmax; --refit retrains each on train + val
for the epoch count validation chose. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline import cache, models
from pipeline.config import PRESETS, TrainParams, parse_duration

EpochHook = Callable[[str, dict[str, float]], None]
BatchHook = Callable[[str, int, int], None]


def train(
    x: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    n_classes: int,
    params: TrainParams,
    on_epoch: EpochHook | None = None,
    on_batch: BatchHook | None = None,
    checkpoints: Path | None = None,
) -> dict[str, np.ndarray]:
    """Fit on `train_idx`, choose epochs on `val_idx`; with `params.refit`, refit on both.

    `on_epoch(label, logs)` and `on_batch(label, done, total)` report progress, where `label`
    reads like "net 2/3 epoch 4/20". With a `checkpoints` folder, each Keras network backs
    up its state there after every epoch and a finished one keeps its weights there, so an
    interrupted call resumes where it stopped; the caller removes the folder afterwards.
    """
    preset = PRESETS[params.preset]
    arch = models.resolve(params.model, x.shape[1:], preset.image_model)
    if arch == "tabular":
        return _best_tabular(x, y, train_idx, val_idx, n_classes, params, on_epoch, on_batch)
    params = dataclasses.replace(params, precision=models.training_precision(params.precision, arch))
    n_members = params.ensemble or preset.ensemble
    budget = parse_duration(params.time_budget)
    plan = _Plan(
        epochs=params.epochs or preset.epochs(len(train_idx)),
        budget=budget / (n_members * (2 if params.refit else 1)) if budget else None,
        on_epoch=on_epoch,
        on_batch=on_batch,
    )
    augment = models.augmentation_strength(len(train_idx))
    fit = _resumable(_fit_hgb, None) if arch == "hgb" else _resumable(_fit_keras, checkpoints)
    members, histories, best_epochs = [], [], []
    for m in range(n_members):
        net, history, best = fit(arch, x, y, train_idx, val_idx, n_classes, params, augment,
                                 params.seed + m, plan.labelled(_label("net", m, n_members)), f"net{m}")
        members.append(net)
        histories.append(history)
        best_epochs.append(best)
    images = sum(len(train_idx) * len(h.get("loss", [])) for h in histories)
    refit = []
    if params.refit:
        everything = np.sort(np.concatenate([train_idx, val_idx]))
        for m, best in enumerate(best_epochs):
            fixed = plan.labelled(_label("refit", m, n_members), epochs=best)
            net, refit_history, _ = fit(arch, x, y, everything, None, n_classes, params, augment,
                                        params.seed + m, fixed, f"refit{m}")
            refit.append(net)
            images += len(everything) * len(refit_history.get("loss", []))
    return {
        **models.to_arrays(arch, x.shape[1:], n_classes, augment, members, refit),
        **{f"history_{name}": np.asarray(v, dtype=np.float32) for name, v in histories[0].items()},
        "best_epoch": np.array(best_epochs[0]),
        "precision": np.array(params.precision),
        "images_trained": np.array(images),  # epochs x rows, over all networks
    }


class _Plan:
    """How long one network trains, and where its progress goes."""

    def __init__(self, epochs: int, budget: float | None, on_epoch: EpochHook | None,
                 on_batch: BatchHook | None, label: str = ""):
        self.epochs, self.budget, self.label = epochs, budget, label
        self.on_epoch, self.on_batch = on_epoch, on_batch

    def labelled(self, label: str, epochs: int | None = None) -> _Plan:
        """A copy for one network."""
        return _Plan(epochs or self.epochs, self.budget, self.on_epoch, self.on_batch, label)


def _label(kind: str, m: int, n: int) -> str:
    return f"{kind} {m + 1}/{n} " if n > 1 or kind == "refit" else ""


def _resumable(fit: Callable[..., Any], checkpoints: Path | None) -> Callable[..., Any]:
    """`fit` that keeps each finished network in `checkpoints` (and takes it from there on a
    rerun) and backs up an unfinished one after every epoch."""
    if checkpoints is None:
        return lambda *args: fit(*args[:-1])

    def resumable(arch: str, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
                  n_classes: int, params: TrainParams, augment: float, seed: int, plan: _Plan,
                  name: str) -> tuple[Any, dict[str, list[float]], int]:
        done = checkpoints / f"{name}.npz"
        try:
            meta = cache.read_meta(done)
            if meta is not None:
                net = models.build(arch, x.shape[1:], n_classes, augment)
                weights = cache.load(done)
                net.set_weights([weights[k] for k in sorted(weights)])
                return net, meta["history"], meta["best"]
        except (cache.CorruptCache, ValueError, KeyError):
            pass  # a damaged or foreign file: train this network again
        net, history, best = fit(arch, x, y, fit_idx, val_idx, n_classes, params, augment, seed, plan,
                                 backup=checkpoints / name)
        cache.save(done, {f"w{i:03d}": w for i, w in enumerate(net.get_weights())},
                   {"history": history, "best": best})
        return net, history, best

    return resumable


def _fit_keras(arch: str, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
               n_classes: int, params: TrainParams, augment: float, seed: int,
               plan: _Plan, backup: Path | None = None) -> tuple[Any, dict[str, list[float]], int]:
    """One network; returns it, its history, and the epoch (from 1) whose weights it kept.
    With `backup`, Keras' BackupAndRestore saves its state there after every epoch and
    restores it when the folder already holds one."""
    keras = models.load_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    net = models.build(arch, x.shape[1:], n_classes, augment, params.precision)
    net.compile(
        optimizer=keras.optimizers.Adam(params.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    validation = stopping = None
    if val_idx is not None:
        validation = _batches(tf, x[val_idx], y[val_idx], models.INFERENCE_BATCH)
        # Judged from the second half of the decay on: earlier, high-rate epochs are never
        # the ones to keep, and stopping there would skip the low-rate epochs that gain most.
        stopping = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=max(3, plan.epochs // 4), restore_best_weights=True,
            start_from_epoch=plan.epochs // 2,
        )
    restore = [] if backup is None else [_BackupAndRestore(keras, backup)]
    callbacks = [
        *restore,  # first: it sets the starting epoch the others then see
        keras.callbacks.LearningRateScheduler(
            lambda epoch: params.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / plan.epochs))
        ),
        _ProgressAndBudget(keras, plan, math.ceil(len(fit_idx) / params.batch_size), stopping),
        *([stopping] if stopping else []),
    ]
    history = net.fit(
        _batches(tf, x[fit_idx], y[fit_idx], params.batch_size, shuffle_seed=seed),
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


def _BackupAndRestore(keras: Any, folder: Path) -> Any:
    """Keras' BackupAndRestore, except that a backup it cannot load means starting over, and
    that a disk too full for the next backup is an OSError before h5py starts writing (which,
    once it runs out of space, can take the process down with it)."""

    class Callback(keras.callbacks.BackupAndRestore):
        def on_train_begin(self, logs: Any = None) -> None:
            fresh = self.model.get_weights()
            try:
                super().on_train_begin(logs)
            except Exception:  # noqa: BLE001 - any unreadable backup: train from the start
                self.model.set_weights(fresh)
                self.model._initial_epoch = None
                shutil.rmtree(folder, ignore_errors=True)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            # weights and Adam's two moments, in the new backup and the previous one, with room
            needed = 8 * sum(w.nbytes for w in self.model.get_weights())
            existing = next(p for p in (folder, *folder.parents) if p.exists())
            if shutil.disk_usage(existing).free < needed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
            super().on_epoch_end(epoch, logs)

    return Callback(str(folder), double_checkpoint=True)


def _batches(tf: Any, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None) -> Any:
    """A shuffling, prefetching tf.data pipeline (seeded, so reruns are identical)."""
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        data = data.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _ProgressAndBudget(keras: Any, plan: _Plan, steps: int, stopping: Any) -> Any:
    """Reports batches and epochs; with a time budget, times the first epoch and shrinks
    `plan.epochs` (which the learning-rate schedule and early stopping follow) to what fits."""

    class Callback(keras.callbacks.Callback):
        epoch, started = 0, 0.0

        def on_train_begin(self, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if plan.on_batch:
                plan.on_batch(f"{plan.label}epoch {self.epoch}/{plan.epochs}", batch + 1, steps)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if plan.budget and epoch == 0:
                per_epoch = time.perf_counter() - self.started
                plan.epochs = max(1, min(plan.epochs, int(plan.budget // per_epoch)))
                if stopping is not None:
                    stopping.start_from_epoch = plan.epochs // 2
            if plan.on_epoch:
                shown = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
                plan.on_epoch(f"{plan.label}epoch {epoch + 1}/{plan.epochs}", shown)
            if epoch + 1 >= plan.epochs:
                self.model.stop_training = True

    return Callback()


def _fit_hgb(arch: str, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
             n_classes: int, params: TrainParams, augment: float, seed: int,
             plan: _Plan) -> tuple[Any, dict[str, list[float]], int]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    flat = x.reshape(len(x), -1)
    net = HistGradientBoostingClassifier(random_state=seed).fit(flat[fit_idx], y[fit_idx])
    history: dict[str, list[float]] = {}
    if val_idx is not None:
        history["val_accuracy"] = [float(net.score(flat[val_idx], y[val_idx]))]
    if plan.on_epoch:
        shown = {"val_accuracy": history["val_accuracy"][0]} if history else {}
        plan.on_epoch(f"{plan.label}gradient boosting, {net.n_iter_} iterations", shown)
    return net, history, 1


def _best_tabular(x: np.ndarray, y: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
                  n_classes: int, params: TrainParams, on_epoch: EpochHook | None,
                  on_batch: BatchHook | None) -> dict[str, np.ndarray]:
    """Vectors: fit the MLP and gradient boosting on the same split; keep the better on val
    (the MLP on a tie)."""
    results, scores = {}, {}
    for arch in ("mlp", "hgb"):
        results[arch] = train(x, y, train_idx, val_idx, n_classes, dataclasses.replace(params, model=arch),
                              on_epoch, on_batch)
        probs = models.predict_proba(results[arch], x[val_idx], final=False)
        scores[arch] = float((probs.argmax(axis=1) == y[val_idx]).mean())
    chosen = max(scores, key=lambda arch: (scores[arch], arch == "mlp"))
    return {
        **results[chosen],
        "candidates": np.array(list(scores)),
        "candidate_val_accuracy": np.array(list(scores.values())),
    }
