"""The learning-rate schedule: a fixed count decays from the first epoch; a converging plan
holds the peak rate until validation converges, then decays, within its cap."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import digit_frames
from pipeline.hooks import Hooks
from pipeline.config import IngestParams, PreprocessParams, SplitParams, TrainParams
from pipeline.presets import CONVERGE_MAX_EPOCHS
from pipeline.keras_env import load_keras
from pipeline.stages.ingest import ingest
from pipeline.stages.preprocess import preprocess
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.training.callbacks import early_stopping
from pipeline.training.plan import Plan
from pipeline.training.schedule import Schedule, rate

PEAK = 1e-2


def drive(plan: Plan, scores: list[float], state: Path | None = None, first: int = 0,
          losses: list[float] | None = None) -> tuple[list[float], object]:
    """Run the schedule's hooks on a real (untrained) network for the given validation
    accuracies (and losses, if given), from epoch `first`, stopping where the plan ends;
    returns each epoch's rate."""
    keras = load_keras()
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    net.compile(optimizer=keras.optimizers.Adam(PEAK), loss="mse")
    net.optimizer.build(net.trainable_variables)
    stopping = early_stopping(keras, plan.epochs, n_val=400)
    schedule = Schedule(keras, plan, PEAK, "val_accuracy", stopping, state)
    schedule.set_model(net)
    schedule.on_train_begin()
    rates = []
    for epoch, score in enumerate(scores[first:], start=first):
        if epoch >= plan.epochs:
            break
        schedule.on_epoch_begin(epoch)
        rates.append(float(net.optimizer.learning_rate.numpy()))
        schedule.on_epoch_end(epoch, {"val_accuracy": score, **({"val_loss": losses[epoch]} if losses else {})})
    return rates, stopping


def test_a_fixed_count_is_a_cosine_over_all_its_epochs() -> None:
    plan = Plan(8, None, None, None)
    rates, stopping = drive(plan, [0.5] * 20)
    assert len(rates) == 8 and plan.epochs == 8
    assert rates == pytest.approx([PEAK * 0.5 * (1 + math.cos(math.pi * e / 8)) for e in range(8)])
    assert stopping.start_from_epoch == 4  # its second half


def test_a_converging_plan_holds_until_no_new_best_for_three_epochs_then_decays_as_long() -> None:
    plan = Plan(100, None, None, None, converging=True)
    # the best (0.86) comes at the 5th epoch; the 6th to 8th do not beat it
    scores = [0.5, 0.7, 0.8, 0.85, 0.86, 0.86, 0.855, 0.86] + [0.9] * 20
    rates, stopping = drive(plan, scores)
    assert (plan.hold, plan.epochs) == (8, 16)  # 8 held, then 8 to decay
    assert rates[:8] == pytest.approx([PEAK] * 8) and len(rates) == 16
    assert all(PEAK > a > b > 0 for a, b in zip(rates[8:], rates[9:]))
    assert rates[8] == pytest.approx(PEAK * 0.5 * (1 + math.cos(math.pi * 0.5 / 8)))  # the middle of its first epoch
    assert rates[15] == pytest.approx(rate(PEAK, 15, 8, 16)) and rates[15] < 0.01 * PEAK
    assert stopping.start_from_epoch == 8  # early stopping keeps the best epoch of the decay


def test_a_converging_plan_holds_while_the_validation_loss_still_falls() -> None:
    plan = Plan(100, None, None, None, converging=True)
    # accuracy stalls after the 4th epoch (coarse steps on few rows); the loss falls until the 9th
    scores = [0.9, 0.95, 0.97, 0.98] + [0.98] * 30
    losses = [0.4, 0.2, 0.1, 0.09, 0.095, 0.085, 0.08, 0.075, 0.07] + [0.071] * 30
    drive(plan, scores, losses=losses)
    assert (plan.hold, plan.epochs) == (12, 24)  # not (7, 14), as by accuracy alone
    accuracy_alone = Plan(100, None, None, None, converging=True)
    drive(accuracy_alone, scores)
    assert (accuracy_alone.hold, accuracy_alone.epochs) == (7, 14)


def test_a_converging_plan_that_keeps_improving_decays_in_time_to_end_at_its_cap() -> None:
    plan = Plan(12, None, None, None, converging=True)
    rates, _ = drive(plan, [0.1 + 0.01 * e for e in range(30)])
    assert (plan.hold, plan.epochs) == (6, 12) and len(rates) == 12  # 6 held, and 6 to decay fill the cap
    assert rates[5] == pytest.approx(PEAK) and rates[6] < PEAK and rates[11] < 0.1 * PEAK


def test_a_resumed_run_follows_the_schedule_it_started(tmp_path: Path) -> None:
    scores = [0.5, 0.7, 0.8, 0.85, 0.86, 0.86, 0.855, 0.86] + [0.9] * 20
    whole = Plan(100, None, None, None, converging=True)
    expected, _ = drive(whole, scores)
    state = tmp_path / "schedule.json"
    first = Plan(100, None, None, None, converging=True)
    drive(first, scores[:6], state)  # interrupted after 6 epochs, before convergence
    resumed = Plan(100, None, None, None, converging=True)
    rates, _ = drive(resumed, scores, state, first=6)
    assert (resumed.hold, resumed.epochs) == (whole.hold, whole.epochs)
    assert rates == pytest.approx(expected[6:])


def test_the_default_preset_trains_images_until_they_converge_well_below_its_cap() -> None:
    train_df, _ = digit_frames(n_train=150, n_test=1)
    # a quarter mislabelled, so that validation loss stalls as on real data (on clean bands it
    # falls for ever and the network trains its cap)
    train_df.loc[::4, "label"] = (train_df["label"][::4] + 1) % 3
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2))
    labels: list[str] = []
    runs = [train(pre["x"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(3), TrainParams(batch_size=30),
                  hooks=Hooks(epoch=lambda label, logs: labels.append(label))) for _ in range(2)]
    epochs = len(runs[0]["history_loss"])
    # two networks, as on every image set under SMALL_IMAGES rows
    assert labels[0] == f"net 1/2 epoch 1/{CONVERGE_MAX_EPOCHS}" and f"net 2/2 epoch 1/{CONVERGE_MAX_EPOCHS}" in labels
    assert epochs < CONVERGE_MAX_EPOCHS  # the cap, on 120 rows, is never reached
    assert labels[epochs - 1] == f"net 1/2 epoch {epochs}/{epochs}"  # the count shown becomes the decay's end
    for key in (k for k in runs[0] if "_weight_" in k):  # the same seed, the same stop, the same weights
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)
