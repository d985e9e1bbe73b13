"""Batch norm's statistics recomputed from a sample of rows (pipeline.training.batchnorm)."""

from __future__ import annotations

import numpy as np

from pipeline.keras_env import load_keras
from pipeline.training import batchnorm


def test_recomputed_statistics_are_the_mean_of_each_batchs_own() -> None:
    """Each layer ends with the mean over batches of its input's batch mean and (biased)
    variance, every earlier layer normalised by the batch's own statistics; dropout is off,
    momentum and inference behaviour are restored, and the compiled pass is traced once."""
    keras = load_keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    first = keras.layers.Dense(4)(inputs)
    norm = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    outputs = keras.layers.Dense(3)(keras.layers.Dropout(0.5)(norm(first)))
    second = keras.layers.BatchNormalization(momentum=0.9)
    net = keras.Model(inputs, second(outputs))
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, (8, 5)).astype(np.float32) for _ in range(3)]

    callback = batchnorm.Recompute(keras, batches)
    callback.set_model(net)
    callback.on_train_end()
    callback.on_test_begin()  # a second pass gives the same, without tracing again

    hidden = keras.Model(inputs, first)
    means, variances, next_means, next_variances = [], [], [], []
    for batch in batches:
        h = hidden(batch).numpy()
        means.append(h.mean(0))
        variances.append(h.var(0))
        gamma, beta = norm.gamma.numpy(), norm.beta.numpy()
        normalised = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-3) * gamma + beta
        out = normalised @ net.layers[-2].kernel.numpy() + net.layers[-2].bias.numpy()
        next_means.append(out.mean(0))
        next_variances.append(out.var(0))
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean(means, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.numpy(), np.mean(variances, 0), rtol=1e-4)
    np.testing.assert_allclose(second.moving_mean.numpy(), np.mean(next_means, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(second.moving_variance.numpy(), np.mean(next_variances, 0), rtol=1e-4)
    assert norm.momentum == 0.9 and second.momentum == 0.9
    assert callback.forward.experimental_get_tracing_count() == 1

    # outside the pass, inference normalises by the moving statistics again
    h = hidden(batches[0]).numpy()
    expected = (h - norm.moving_mean.numpy()) / np.sqrt(norm.moving_variance.numpy() + 1e-3) \
        * norm.gamma.numpy() + norm.beta.numpy()
    np.testing.assert_allclose(keras.Model(inputs, norm.output)(batches[0], training=False).numpy(),
                               expected, rtol=1e-4, atol=1e-5)
