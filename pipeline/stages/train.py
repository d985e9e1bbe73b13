"""Train: fit the model(s) on the split and return them as cache arrays (see models.to_arrays).

Images get the augmented CNN; vectors get both an MLP and scikit-learn's
HistGradientBoostingClassifier, and the one with the better validation accuracy is kept. Keras
networks learn under a cosine learning-rate decay over the epochs the preset (or --epochs, or
--time-budget) allows, with early stopping on validation accuracy that restores the best
weights. An ensemble trains several seeds and averages their softmax; --refit retrains each on
train + val for the epoch count validation chose. Keras networks train under a tf.distribute
strategy (--strategy), with the user's batch size as the global batch split across the replicas.
How each network is fitted lives in pipeline.training; this module keeps the member/refit
loop. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np

from pipeline import models
from pipeline.config import PRESETS, TrainParams, parse_duration
from pipeline.errors import PipelineError
from pipeline.training.boosting import fit_hgb
from pipeline.training.distribute import distribution
from pipeline.training.keras_fit import fit_keras, resumable
from pipeline.training.plan import BatchHook, EpochHook, Plan, label


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
    strategy, strategy_name = distribution(params.strategy) if arch != "hgb" else (None, "one")
    params = dataclasses.replace(params, precision=models.training_precision(params.precision, arch))
    n_members = params.ensemble or preset.ensemble
    budget = parse_duration(params.time_budget)
    plan = Plan(
        epochs=params.epochs or preset.epochs(len(train_idx)),
        budget=budget / (n_members * (2 if params.refit else 1)) if budget else None,
        on_epoch=on_epoch,
        on_batch=on_batch,
        strategy=strategy,
        multi_worker=strategy_name == "multi-worker",
        tensorboard=tensorboard,
    )
    augment = models.augmentation_strength(len(train_idx))
    fit = resumable(fit_hgb, None) if arch == "hgb" else resumable(fit_keras, checkpoints)
    members, histories, best_epochs = [], [], []
    for m in range(n_members):
        net, history, best = fit(arch, x, y, train_idx, val_idx, n_classes, params, augment,
                                 params.seed + m, plan.labelled(label("net", m, n_members), name=f"net{m}"),
                                 f"net{m}")
        members.append(net)
        histories.append(history)
        best_epochs.append(best)
    images = sum(len(train_idx) * len(h.get("loss", [])) for h in histories)
    refit = []
    if params.refit:
        everything = np.sort(np.concatenate([train_idx, val_idx]))
        for m, best in enumerate(best_epochs):
            fixed = plan.labelled(label("refit", m, n_members), epochs=best, name=f"refit{m}")
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

