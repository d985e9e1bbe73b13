"""Train: fit the model(s) on the split and return them as cache arrays (see models.to_arrays).

Images get the augmented CNN; vectors get both an MLP and scikit-learn's
HistGradientBoostingClassifier, and the one with the better validation accuracy is kept. Keras
networks learn under a cosine learning-rate decay over the epochs the preset (or --epochs, or
--time-budget) allows, with early stopping on validation accuracy that restores the best
weights. An ensemble trains several seeds and averages their softmax; --refit retrains each on
train + val for the epoch count validation chose. Keras networks train under a tf.distribute
strategy (--strategy), with the user's batch size as the global batch split across the replicas.
TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import dataclasses
import errno
import importlib.util
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline import cache, models
from pipeline.config import PRESETS, TrainParams, parse_duration
from pipeline.errors import PipelineError

EpochHook = Callable[[str, dict[str, float]], None]
BatchHook = Callable[[str, int, int, str], None]
TF_CONFIG_SHAPE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                   '"task": {"type": "worker", "index": 0}}')
_strategies: dict[str, Any] = {}  # one per process: see `_distribution`


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
    tensorboard: Path | None = None,
) -> dict[str, np.ndarray]:
    """Fit on `train_idx`, choose epochs on `val_idx`; with `params.refit`, refit on both.

    `on_epoch(label, logs)` reports each epoch, where `label` reads like "net 2/3 epoch 4/20";
    `on_batch(task, done, total, detail)` each batch, counted over all of a network's epochs,
    with the running loss and accuracy in `detail`. With a `checkpoints` folder, each Keras network backs
    up its state there after every epoch and a finished one keeps its weights there, so an
    interrupted call resumes where it stopped; the caller removes the folder afterwards.
    With a `tensorboard` folder, each Keras network writes TensorBoard logs into a subfolder
    named after it (net0, refit0, ...); they change nothing in what is returned.
    """
    if tensorboard is not None and importlib.util.find_spec("tensorboard") is None:
        raise PipelineError("--tensorboard needs the tensorboard package: pip install tensorboard")
    preset = PRESETS[params.preset]
    arch = models.resolve(params.model, x.shape[1:], preset.image_model)
    if arch == "tabular":
        return _best_tabular(x, y, train_idx, val_idx, n_classes, params, on_epoch, on_batch, tensorboard)
    # first: a multi-worker strategy must exist before TensorFlow runs any op
    strategy, strategy_name = _distribution(params.strategy) if arch != "hgb" else (None, "one")
    params = dataclasses.replace(params, precision=models.training_precision(params.precision, arch))
    n_members = params.ensemble or preset.ensemble
    budget = parse_duration(params.time_budget)
    plan = _Plan(
        epochs=params.epochs or preset.epochs(len(train_idx)),
        budget=budget / (n_members * (2 if params.refit else 1)) if budget else None,
        on_epoch=on_epoch,
        on_batch=on_batch,
        strategy=strategy,
        multi_worker=strategy_name == "multi-worker",
        tensorboard=tensorboard,
    )
    augment = models.augmentation_strength(len(train_idx))
    fit = _resumable(_fit_hgb, None) if arch == "hgb" else _resumable(_fit_keras, checkpoints)
    members, histories, best_epochs = [], [], []
    for m in range(n_members):
        net, history, best = fit(arch, x, y, train_idx, val_idx, n_classes, params, augment,
                                 params.seed + m, plan.labelled(_label("net", m, n_members), name=f"net{m}"),
                                 f"net{m}")
        members.append(net)
        histories.append(history)
        best_epochs.append(best)
    images = sum(len(train_idx) * len(h.get("loss", [])) for h in histories)
    refit = []
    if params.refit:
        everything = np.sort(np.concatenate([train_idx, val_idx]))
        for m, best in enumerate(best_epochs):
            fixed = plan.labelled(_label("refit", m, n_members), epochs=best, name=f"refit{m}")
            net, refit_history, _ = fit(arch, x, y, everything, None, n_classes, params, augment,
                                        params.seed + m, fixed, f"refit{m}")
            refit.append(net)
            images += len(everything) * len(refit_history.get("loss", []))
    return {
        **models.to_arrays(arch, x.shape[1:], n_classes, augment, members, refit),
        **{f"history_{name}": np.asarray(v, dtype=np.float32) for name, v in histories[0].items()},
        "best_epoch": np.array(best_epochs[0]),
        "precision": np.array(params.precision),
        "strategy": np.array(strategy_name),
        "replicas": np.array(strategy.num_replicas_in_sync if strategy is not None else 1),
        "images_trained": np.array(images),  # epochs x rows, over all networks
    }


def _distribution(name: str) -> tuple[Any, str]:
    """The tf.distribute strategy that `name` (TrainParams.strategy) asks for, and its resolved
    name: `one` is TensorFlow's default strategy; `mirrored` replicates over all GPUs (over the
    logical CPU devices when there is none); `multi-worker` over the machines TF_CONFIG lists;
    `auto` is mirrored when more than one GPU is visible, else one.

    Created once per process and reused: MultiWorkerMirroredStrategy configures TensorFlow's
    collective ops, which a process can do only once and only before it runs any op."""
    if name == "multi-worker":
        _check_tf_config(os.environ.get("TF_CONFIG", ""))
    models.load_keras()  # TensorFlow's start-up lines stay hidden
    import tensorflow as tf

    if name == "auto":
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "one"
    if name not in _strategies:
        if name == "one":
            _strategies[name] = tf.distribute.get_strategy()
        elif name == "mirrored":
            gpus = tf.config.list_logical_devices("GPU")
            devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
            _strategies[name] = tf.distribute.MirroredStrategy(devices)
        else:
            try:
                _strategies[name] = tf.distribute.MultiWorkerMirroredStrategy()
            except (RuntimeError, ValueError) as exc:
                raise PipelineError(f"--strategy multi-worker could not start: {exc}; run it as its "
                                    f"own `pipeline` command, with TF_CONFIG = {TF_CONFIG_SHAPE}") from None
            _let_keras_fit_across_workers(tf)
    return _strategies[name], name


def _let_keras_fit_across_workers(tf: Any) -> None:
    """Keras 3 (3.15 at least) cannot `fit` under MultiWorkerMirroredStrategy
    (keras-team/keras#20585, tensorflow/tensorflow#72388): it builds the model from a batch
    averaged over the workers, which the collective reduce rejects, and averages each step's
    loss and metrics over axis 0, which scalars lack. Build from this worker's first replica's
    batch, and average over all replicas. Only done for multi-worker runs, and skipped when
    Keras' internals have moved on (and, presumably, been fixed)."""
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        return
    Trainer = getattr(trainer, "TensorFlowTrainer", None)
    across_workers = getattr(trainer, "_collective_all_reduce_multi_worker", None)
    reduce_per_replica = getattr(trainer, "reduce_per_replica", None)
    if not (across_workers and reduce_per_replica and hasattr(Trainer, "_maybe_symbolic_build")
            and hasattr(Trainer, "_symbolic_build")):
        return

    def reduce(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and across_workers(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return reduce_per_replica(values, strategy, reduction)

    def build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = self.distribute_strategy.experimental_local_results(next(batches))[0]
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    trainer.reduce_per_replica = reduce
    Trainer._maybe_symbolic_build = build


def _check_tf_config(text: str) -> None:
    """TF_CONFIG holds the cluster and this machine's place in it, as JSON."""
    if not text.strip():
        raise PipelineError(f"--strategy multi-worker needs TF_CONFIG set on every machine, e.g. "
                            f"TF_CONFIG='{TF_CONFIG_SHAPE}' with each machine's own task index")
    try:
        config = json.loads(text)
        valid = isinstance(config["cluster"], dict) and isinstance(config["task"]["index"], int)
    except (ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise PipelineError(f"TF_CONFIG is not a cluster description; give JSON like {TF_CONFIG_SHAPE}")


class _Plan:
    """How long one network trains, and where its progress goes."""

    def __init__(self, epochs: int, budget: float | None, on_epoch: EpochHook | None,
                 on_batch: BatchHook | None, label: str = "", strategy: Any = None,
                 multi_worker: bool = False, tensorboard: Path | None = None):
        self.epochs, self.budget, self.label = epochs, budget, label
        self.on_epoch, self.on_batch = on_epoch, on_batch
        self.strategy, self.multi_worker, self.tensorboard = strategy, multi_worker, tensorboard

    def labelled(self, label: str, epochs: int | None = None, name: str = "") -> _Plan:
        """A copy for one network; `name` is its TensorBoard subfolder."""
        logs = self.tensorboard / name if self.tensorboard and name else self.tensorboard
        return _Plan(epochs or self.epochs, self.budget, self.on_epoch, self.on_batch, label, self.strategy,
                     self.multi_worker, logs)


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
    # variables created in the scope are mirrored on every replica; fit then splits each
    # global batch of params.batch_size rows between them and all-reduces the gradients
    with (tf.distribute.get_strategy() if plan.strategy is None else plan.strategy).scope():
        distributed = tf.distribute.has_strategy()  # False for the default strategy
        net = models.build(arch, x.shape[1:], n_classes, augment, params.precision)
        for layer in net.layers if distributed else []:
            # Batch norm over the global batch, as on one device, rather than over each replica's
            # share: small shares give noisy statistics, and each worker would keep its own
            # moving averages (so its own model).
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
        net.compile(
            optimizer=keras.optimizers.Adam(params.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    validation = stopping = None
    if val_idx is not None:
        validation = _batches(tf, x[val_idx], y[val_idx], models.INFERENCE_BATCH)
        stopping = _early_stopping(keras, plan.epochs, len(val_idx))
    restore = [] if backup is None else [_BackupAndRestore(keras, backup)]
    callbacks = [
        *restore,  # first: it sets the starting epoch the others then see
        keras.callbacks.LearningRateScheduler(
            lambda epoch: params.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / plan.epochs))
        ),
        _ProgressAndBudget(keras, plan, math.ceil(len(fit_idx) / params.batch_size), stopping),
        *([stopping] if stopping else []),
        *([keras.callbacks.TensorBoard(str(plan.tensorboard))] if plan.tensorboard else []),
    ]
    batches = _batches(tf, x[fit_idx], y[fit_idx], params.batch_size, shuffle_seed=seed)
    if not distributed:
        # Under a strategy, Keras builds the model on a batch of a first iterator, which draws
        # the first of the per-epoch shuffles; drawing it here too gives every strategy the
        # same order of rows in every epoch.
        iter(batches)
    history = net.fit(
        batches,
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


def _early_stopping(keras: Any, epochs: int, n_val: int) -> Any:
    """Keras' EarlyStopping on validation accuracy, judged from the second half of the decay
    on (earlier, high-rate epochs are never the ones to keep, and stopping there would skip
    the low-rate epochs that gain most). An epoch within one standard error
    (sqrt(p (1 - p) / n_val)) of the best accuracy so far counts as good as the best: epochs
    closer than that are a coin toss on `n_val` rows, and the later one has trained at a lower
    rate. Training stops after `patience` epochs in a row below that, and the latest good
    epoch's weights are restored.

    Not validation loss: it bottoms out while accuracy still climbs, and on Fashion-MNIST it
    kept epoch 12 of 22 (0.9319 on test, where epoch 21 scores 0.9397). Nor the highest
    accuracy alone: it kept epoch 18 of 22 for 0.0016 more on validation (0.9361 on test,
    against epoch 22's 0.9402), and on 400 rows, where accuracy moves in steps of 0.0025, it
    stopped a 100-epoch run at epoch 77 on a plateau."""

    class Callback(keras.callbacks.EarlyStopping):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            current = (logs or {}).get(self.monitor)
            if current is None or epoch < self.start_from_epoch:
                return
            self.best = current if self.best is None else max(self.best, current)
            if current >= self.best - math.sqrt(self.best * (1 - self.best) / n_val):
                self.best_epoch, self.best_weights, self.wait = epoch, self.model.get_weights(), 0
            else:
                self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    return Callback(monitor="val_accuracy", patience=max(3, epochs // 4), restore_best_weights=True,
                    start_from_epoch=epochs // 2)


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
    # Across workers, each keeps its share of the (identically shuffled) rows: in-memory
    # data has no files to shard by, which TensorFlow would otherwise try first and warn.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)


def _ProgressAndBudget(keras: Any, plan: _Plan, steps: int, stopping: Any) -> Any:
    """Reports batches and epochs; with a time budget, times the first epoch and shrinks
    `plan.epochs` (which the learning-rate schedule and early stopping follow) to what fits."""

    class Callback(keras.callbacks.Callback):
        epoch, started, validated = 0, 0.0, ""

        def on_train_begin(self, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if plan.on_batch:  # one bar over all epochs, so its time left is the network's
                running = "".join(f"  {name} {float(logs[key]):.4f}" for key, name in
                                  (("loss", "loss"), ("accuracy", "acc")) if key in (logs or {}))
                plan.on_batch(f"{plan.label}training", (self.epoch - 1) * steps + batch + 1, plan.epochs * steps,
                              f"epoch {self.epoch}/{plan.epochs}{running}{self.validated}")

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if plan.budget and epoch == 0:
                per_epoch = time.perf_counter() - self.started
                if plan.multi_worker:  # every worker must stop after the same epoch
                    per_epoch = _mean_over_workers(plan.strategy, per_epoch)
                plan.epochs = max(1, min(plan.epochs, int(plan.budget // per_epoch)))
                if stopping is not None:
                    stopping.start_from_epoch = plan.epochs // 2
            if "val_accuracy" in (logs or {}):
                self.validated = f"  val_acc {float(logs['val_accuracy']):.4f}"
            if plan.on_epoch:
                shown = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
                plan.on_epoch(f"{plan.label}epoch {epoch + 1}/{plan.epochs}", shown)
            if epoch + 1 >= plan.epochs:
                self.model.stop_training = True

    return Callback()


def _mean_over_workers(strategy: Any, value: float) -> float:
    """The mean of each replica's `value`: the same number on every worker."""
    import tensorflow as tf

    each = strategy.run(lambda: tf.constant(value, tf.float32))
    return float(strategy.reduce(tf.distribute.ReduceOp.MEAN, each, axis=None))


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
                  on_batch: BatchHook | None, tensorboard: Path | None) -> dict[str, np.ndarray]:
    """Vectors: fit the MLP and gradient boosting on the same split; keep the better on val
    (the MLP on a tie)."""
    results, scores = {}, {}
    for arch in ("mlp", "hgb"):
        results[arch] = train(x, y, train_idx, val_idx, n_classes, dataclasses.replace(params, model=arch),
                              on_epoch, on_batch, tensorboard=tensorboard)
        probs = models.predict_proba(results[arch], x[val_idx], final=False)
        scores[arch] = float((probs.argmax(axis=1) == y[val_idx]).mean())
    chosen = max(scores, key=lambda arch: (scores[arch], arch == "mlp"))
    return {
        **results[chosen],
        "candidates": np.array(list(scores)),
        "candidate_val_accuracy": np.array(list(scores.values())),
    }
