"""Fitting scikit-learn's HistGradientBoostingClassifier or Regressor, with the same signature
and return (model, history, kept "epoch") as a Keras network, so the train stage can treat it
as one more candidate. A table's categorical columns are native categories, its missing cells
native missing values. A target learnt as a number (a regression, qwk's ordered classes) gets
the regressor, under absolute error when MAE scores it. With validation rows, boosting stops when their loss stops falling,
and the iteration count it reached is the "epoch" a refit on all rows trains for.
scikit-learn is imported inside the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.models import clip_categories
from pipeline.schema import CATEGORICAL
from pipeline.training.plan import Plan

if TYPE_CHECKING:
    from pipeline.config import TrainParams

MAX_ITER = 1000
LEARNING_RATE = 0.05
PATIENCE = 30  # iterations without a better validation loss before stopping


def fit_hgb(arch: str, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
            n_classes: int, params: TrainParams, augment: float, seed: int,
            plan: Plan) -> tuple[Any, dict[str, list[float]], int]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    categorical = None if plan.spec is None or CATEGORICAL not in plan.spec["kinds"] else plan.spec["kinds"] == CATEGORICAL
    flat = clip_categories(x.reshape(len(x), -1), categorical)
    numbers = plan.task.learns_numbers
    Model = HistGradientBoostingRegressor if numbers else HistGradientBoostingClassifier
    options: dict[str, Any] = dict(learning_rate=LEARNING_RATE, categorical_features=categorical, random_state=seed)
    if plan.task.metric == "mae":
        options["loss"] = "absolute_error"
    if val_idx is None:  # a refit: as many iterations as validation chose
        net = Model(max_iter=plan.epochs, early_stopping=False, **options).fit(flat[fit_idx], y[fit_idx])
    else:
        net = Model(max_iter=MAX_ITER, early_stopping=True, n_iter_no_change=PATIENCE, **options)
        net.fit(flat[fit_idx], y[fit_idx], X_val=flat[val_idx], y_val=y[val_idx])
    history: dict[str, list[float]] = {}
    if val_idx is not None and not numbers:
        history["val_accuracy"] = [float(net.score(flat[val_idx], y[val_idx]))]
    if plan.on_epoch:
        shown = {"val_accuracy": history["val_accuracy"][0]} if history else {}
        plan.on_epoch(f"{plan.label}gradient boosting, {net.n_iter_} iterations", shown)
    return net, history, int(net.n_iter_)
