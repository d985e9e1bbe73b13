"""Gradient boosting (`hgb`): scikit-learn's HistGradientBoostingClassifier or Regressor, a
table's categorical columns as native categories and its missing cells as native missing
values. A target learnt as a number (a regression, qwk's ordered classes) gets the regressor,
under absolute error when MAE scores it. With rows to stop on, boosting stops when their loss
stops falling, and the iteration count it reached is the "epoch" a refit on all rows trains
for. scikit-learn is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.learners.base import Fitted, Job, SklearnLearner
from pipeline.schema import CATEGORICAL

MAX_ITER = 1000
LEARNING_RATE = 0.05
PATIENCE = 30  # iterations without a better validation loss before stopping
MAX_CATEGORY = 254  # boosting takes category codes up to this; the rarer ones share it


class Boosting(SklearnLearner):
    name = "hgb"
    stacks = True

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        plan = job.plan
        categorical = categorical_columns(plan.spec)
        flat = clip_categories(x.reshape(len(x), -1), categorical)
        numbers = plan.task.learns_numbers
        Model = HistGradientBoostingRegressor if numbers else HistGradientBoostingClassifier
        options: dict[str, Any] = dict(learning_rate=LEARNING_RATE, categorical_features=categorical,
                                       random_state=job.seed)
        if plan.task.metric == "mae":
            options["loss"] = "absolute_error"
        if stop_idx is None:  # a refit: as many iterations as validation chose
            net = Model(max_iter=plan.epochs, early_stopping=False, **options).fit(flat[fit_idx], y[fit_idx])
        else:
            net = Model(max_iter=MAX_ITER, early_stopping=True, n_iter_no_change=PATIENCE, **options)
            net.fit(flat[fit_idx], y[fit_idx], X_val=flat[stop_idx], y_val=y[stop_idx])
        history: dict[str, list[float]] = {}
        if stop_idx is not None and not numbers:
            history["val_accuracy"] = [float(net.score(flat[stop_idx], y[stop_idx]))]
        if plan.on_epoch:
            shown = {"val_accuracy": history["val_accuracy"][0]} if history else {}
            plan.on_epoch(f"{plan.label}gradient boosting, {net.n_iter_} iterations", shown)
        return net, history, int(net.n_iter_)

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        return super().predict_one(net, clip_categories(x.reshape(len(x), -1), net.is_categorical_), arrays)


def categorical_columns(spec: dict[str, np.ndarray] | None) -> np.ndarray | None:
    """Which of a table's columns are categories (None when none is, or for images)."""
    if spec is None or CATEGORICAL not in spec["kinds"]:
        return None
    return spec["kinds"] == CATEGORICAL


def table(x: np.ndarray, spec: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """`x` as a matrix of rows, and which of its columns are categories (none for images)."""
    flat = x.reshape(len(x), -1)
    categorical = categorical_columns(spec)
    return flat, np.zeros(flat.shape[1], dtype=bool) if categorical is None else categorical


def clip_categories(x: np.ndarray, categorical: np.ndarray | None) -> np.ndarray:
    """`x` with the category codes of the `categorical` columns past MAX_CATEGORY merged into
    one (missing stays NaN)."""
    if categorical is None or not np.any(categorical):
        return x
    clipped = x.copy()
    clipped[:, categorical] = np.minimum(clipped[:, categorical], MAX_CATEGORY)
    return clipped
