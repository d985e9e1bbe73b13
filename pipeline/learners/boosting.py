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
# On a table of more than 250,000 rows, fewer iterations (at least LEAST_ITER) at a higher rate
# (see schedule): on 900,000 training rows, 0.2 stopped at 92 iterations in 8.6 s for 0.7562
# validation AUC, where 0.1 took 154 in 12.5 s for 0.7579 and 0.05 took 299 in 24.7 s for
# 0.7589 (benchmarks/table_scale.py's table).
ROW_ITERATIONS = 250_000_000
LEAST_ITER = 100
MAX_RATE = 0.2
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
        cap, rate = schedule(len(x), MAX_ITER, LEARNING_RATE, ROW_ITERATIONS, MAX_RATE, LEAST_ITER)
        options: dict[str, Any] = dict(learning_rate=rate, categorical_features=categorical,
                                       random_state=job.seed)
        if plan.task.metric == "mae":
            options["loss"] = "absolute_error"
        if stop_idx is None:  # a refit: as many iterations as validation chose
            net = Model(max_iter=plan.epochs, early_stopping=False, **options).fit(flat[fit_idx], y[fit_idx])
        else:
            net = Model(max_iter=cap, early_stopping=True, n_iter_no_change=PATIENCE, **options)
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


def schedule(n_rows: int, most: int, rate: float, row_iterations: int, max_rate: float,
             least: int) -> tuple[int, float]:
    """A boosting learner's most iterations and learning rate on a table of `n_rows` rows:
    `most` at `rate` until the iterations times the rows reach `row_iterations`, then fewer
    (at least `least`) at a rate as many times higher (at most `max_rate`). Both follow the
    table's rows, so a refit on all of them learns at the rate validation chose its
    iterations at."""
    cap = max(least, min(most, row_iterations // max(n_rows, 1)))
    return cap, min(max_rate, rate * most / cap)


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
