"""Train: a Keras model (CNN for images, MLP for vectors) on the split, with early stopping.

Returns the model as cache arrays (see models.to_arrays) plus its training history.
TensorFlow is imported here, inside the function, never at module import.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pipeline import models
from pipeline.config import TrainParams

EpochHook = Callable[[int, int, dict[str, float]], None]
BatchHook = Callable[[int, int, int, int], None]


def train(
    x: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    n_classes: int,
    params: TrainParams,
    on_epoch: EpochHook | None = None,
    on_batch: BatchHook | None = None,
) -> dict[str, np.ndarray]:
    """Fit on `train_idx`, monitor `val_idx`, keep the weights of the best validation epoch.

    `on_epoch(epoch, epochs, logs)` and `on_batch(epoch, epochs, done, total)` report progress
    (epochs count from 1).
    """
    keras = models.load_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(params.seed)
    tf.config.experimental.enable_op_determinism()

    arch = models.resolve(params.model, x.shape[1:])
    model = models.build(arch, x.shape[1:], n_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(params.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    steps = int(np.ceil(len(train_idx) / params.batch_size))
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=params.patience, restore_best_weights=True
        ),
        keras.callbacks.LearningRateScheduler(lambda epoch: params.learning_rate * 0.85**epoch),
        _progress_callback(keras, params.epochs, steps, on_epoch, on_batch),
    ]
    history = model.fit(
        x[train_idx],
        y[train_idx],
        validation_data=(x[val_idx], y[val_idx]),
        epochs=params.epochs,
        batch_size=params.batch_size,
        callbacks=callbacks,
        verbose=0,
    ).history
    val_loss = np.asarray(history["val_loss"], dtype=np.float32)
    return {
        **models.to_arrays(model, arch),
        **{f"history_{name}": np.asarray(v, dtype=np.float32) for name, v in history.items()},
        "best_epoch": np.array(int(np.argmin(val_loss)) + 1),
    }


def _progress_callback(
    keras: Any, epochs: int, steps: int, on_epoch: EpochHook | None, on_batch: BatchHook | None
) -> Any:
    class Progress(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if on_batch:
                on_batch(self.epoch, epochs, batch + 1, steps)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if on_epoch:
                on_epoch(epoch + 1, epochs, {k: float(v) for k, v in (logs or {}).items()})

    return Progress()
