"""Batch-norm statistics that match the weights.

Training normalises each batch by its own mean and variance; inference uses the moving
averages of those, which trail the weights: after a short run (30 steps of a fast-changing
network, with augmentation and dropout on) they describe a network that no longer exists, and
the validation score and the submission are near chance. So before every validation, and at
the end of training, each BatchNormalization layer's moving mean and variance are set to the
statistics of its inputs over a fixed sample of training rows, passed through the network as
predict will pass them: no dropout, every earlier layer already normalised. The rows are the
caller's (pipeline.training.keras_fit), as they are, not under the training augmentation:
8x8 digits, `--epochs 3`: 0.96 against 0.91 with augmented rows; on the 4k digits, two
networks of 15 epochs scored the same either way (docs/avx2.md).
"""

from __future__ import annotations

from typing import Any, Callable

SAMPLE_ROWS = 1024  # enough for the statistics of every layer; about 2% of an epoch on 42k rows
BATCH = 256


def sample_batches(rows: Any, n: int) -> list[Any]:
    """Evenly spaced batches of about SAMPLE_ROWS of the `n` rows that `rows(indices)` gives
    (an array, or a table's columns)."""
    import numpy as np

    chosen = np.unique(np.linspace(0, n - 1, min(n, SAMPLE_ROWS)).round().astype(int))
    return [rows(chosen[start:start + BATCH]) for start in range(0, len(chosen), BATCH)]


def Recompute(keras: Any, batches: list[Any]) -> Any:
    """A callback that recomputes the statistics before each validation (so the score printed
    for an epoch is what predict would do with its weights) and at the end of training."""
    import tensorflow as tf

    class Callback(keras.callbacks.Callback):
        def set_model(self, model: Any) -> None:
            super().set_model(model)
            # compiled, and traced on its first call, inside _batch_statistics: half the time
            # of the eager pass (0.23 s against 0.42 s on 1,024 digits, 2-core AVX2 EPYC)
            self.forward = tf.function(lambda batch: model(batch, training=False))

        def on_test_begin(self, logs: Any = None) -> None:
            recompute(keras, self.model, self.forward, batches)

        def on_train_end(self, logs: Any = None) -> None:
            recompute(keras, self.model, self.forward, batches)

    return Callback()


def recompute(keras: Any, net: Any, forward: Callable[[Any], Any], batches: list[Any]) -> None:
    """Set the moving statistics of every BatchNormalization layer of `net` to the mean of its
    batch statistics over `batches`, each passed through `forward` (`net` in inference mode)."""
    import numpy as np

    norms = [layer for layer in net._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms or not batches:
        return
    sums = [[np.zeros(layer.moving_mean.shape), np.zeros(layer.moving_variance.shape)] for layer in norms]
    with _batch_statistics(norms):
        for batch in batches:
            forward(batch)  # with momentum 0, each layer's moving statistics become the batch's
            for (mean, variance), layer in zip(sums, norms):
                mean += layer.moving_mean.numpy()
                variance += layer.moving_variance.numpy()
    for (mean, variance), layer in zip(sums, norms):
        layer.moving_mean.assign(mean / len(batches))
        layer.moving_variance.assign(variance / len(batches))


class _batch_statistics:
    """Within: each layer of `norms` normalises by the batch's own statistics and puts them in
    its moving averages (momentum 0: what it does in training, without the averaging), while
    every other layer (dropout, augmentation) acts as in inference."""

    def __init__(self, norms: list[Any]) -> None:
        self.saved = [(layer, layer.momentum) for layer in norms]

    def __enter__(self) -> None:
        for layer, _ in self.saved:
            layer.call = _training_call(layer.call)
            layer.momentum = 0.0

    def __exit__(self, *exc: object) -> None:
        for layer, momentum in self.saved:
            del layer.call  # back to the class's method
            layer.momentum = momentum


def _training_call(call: Any) -> Any:
    def forced(inputs: Any, training: Any = None, mask: Any = None) -> Any:
        return call(inputs, training=True, mask=mask)

    return forced

