"""The learning-rate schedule: a cosine decay over a count of epochs fixed before training,
with early stopping judging its second half; and the default preset's image networks, whose
count nothing seen during training changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import digit_frames
from pipeline.hooks import Hooks
from pipeline.config import IngestParams, PreprocessParams, SplitParams, TrainParams
from pipeline.presets import DEFAULT_IMAGES
from pipeline.keras_env import load_keras
from pipeline.stages.ingest import ingest
from pipeline.stages.preprocess import preprocess
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.training.callbacks import early_stopping
from pipeline.training.plan import Plan
from pipeline.training.schedule import Schedule

PEAK = 1e-2


def drive(plan: Plan, scores: list[float]) -> tuple[list[float], object]:
    """Run the schedule's hooks on a real (untrained) network for the given validation
    accuracies, stopping where the plan ends; returns each epoch's rate."""
    keras = load_keras()
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    net.compile(optimizer=keras.optimizers.Adam(PEAK), loss="mse")
    net.optimizer.build(net.trainable_variables)
    stopping = early_stopping(keras, plan.epochs, n_val=400)
    schedule = Schedule(keras, plan, PEAK, stopping)
    schedule.set_model(net)
    rates = []
    for epoch, score in enumerate(scores):
        if epoch >= plan.epochs:
            break
        schedule.on_epoch_begin(epoch)
        rates.append(float(net.optimizer.learning_rate.numpy()))
        schedule.on_epoch_end(epoch, {"val_accuracy": score})
    return rates, stopping


def test_a_fixed_count_is_a_cosine_over_all_its_epochs() -> None:
    plan = Plan(8, None, None, None)
    rates, stopping = drive(plan, [0.5] * 20)
    assert len(rates) == 8 and plan.epochs == 8
    assert rates == pytest.approx([PEAK * 0.5 * (1 + math.cos(math.pi * e / 8)) for e in range(8)])
    assert stopping.start_from_epoch == 4  # its second half


def test_validation_scores_change_neither_the_rates_nor_the_count() -> None:
    rising, flat = drive(Plan(10, None, None, None), [0.5 + e / 100 for e in range(20)]), drive(
        Plan(10, None, None, None), [0.5] * 20)
    assert rising[0] == flat[0] and len(rising[0]) == 10


def test_the_default_trains_two_networks_of_its_fixed_epochs_on_a_small_image_set() -> None:
    train_df, _ = digit_frames(n_train=150, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2))
    labels: list[str] = []
    runs = [train(pre["x"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(3), TrainParams(batch_size=30),
                  hooks=Hooks(epoch=lambda label, logs: labels.append(label))) for _ in range(2)]
    epochs = DEFAULT_IMAGES.most  # 120 training rows
    assert labels[0] == f"net 1/2 epoch 1/{epochs}" and f"net 2/2 epoch 1/{epochs}" in labels
    for key in (k for k in runs[0] if "_weight_" in k):  # the same seed, the same weights
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)
