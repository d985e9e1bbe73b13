"""CatBoost (`cat`): gradient boosting with ordered target statistics on categories, the
table's categorical columns as CatBoost's cat_features (their codes, -1 for a missing cell),
its numbers with their missing cells. A target learnt as a number gets the regressor (absolute
error when MAE scores it). With rows to stop on, it stops when their loss has not fallen for
PATIENCE iterations and keeps the best; a refit on all rows trains for that many. Out of fold
it scored best of six families on four of the development regressions (docs/learners.md).
The fitted model is a scikit-learn Pipeline whose first step turns the pipeline's feature
matrix into CatBoost's frame, so `models/model.pkl` predicts the same arrays as the others.
CatBoost and pandas are imported inside the functions.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pipeline.learners.base import Fitted, Job, SklearnLearner, at_most, drawn
from pipeline.learners.boosting import schedule, table

MAX_ITER = 2000
LEARNING_RATE = 0.05
PATIENCE = 50
# On a table of more than 100,000 rows, fewer iterations at a higher rate (see
# boosting.schedule): 2,000 iterations on 900,000 rows would have taken 16 minutes on 2 cores;
# 250 at 0.31 took 119 s for 0.7693 AUC, where 100 at 0.05 gave 0.7532
# (benchmarks/table_scale.py's table).
ROW_ITERATIONS = 200_000_000
MAX_RATE = 0.3
# Past this many rows, no combinations of categories (max_ctr_complexity 1): on 900,000 rows,
# 200 iterations then took 50 s at 0.84 GB rather than 96 s at 1.82 GB, for 0.002 less
# validation AUC alone (0.7674 against 0.7693 at 250 iterations).
SINGLE_CATEGORIES_ROWS = 500_000
# Past this many rows it fits on as many drawn with the seed, and spends its row budget on
# them: on 4,500,000 training rows it held 3.1 GB (beside the network's leftovers: the run's
# peak) and took 50 iterations, scoring below the other learners.
MAX_ROWS = 1_000_000


class CatBoost(SklearnLearner):
    name = "cat"
    stacks = True
    # its library keeps about 0.5 GB after fitting 900,000 rows, past gc and malloc_trim (its
    # allocator is its own)
    retains = True

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        from catboost import CatBoostClassifier, CatBoostRegressor
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        plan = job.plan
        flat, categorical = table(x, plan.spec)
        frame = FunctionTransformer(catboost_frame, kw_args={"categorical": categorical})
        numbers = plan.task.learns_numbers
        offered = len(fit_idx)
        fit_idx = at_most(fit_idx, MAX_ROWS, job.seed)
        cap, rate = schedule(min(len(x), MAX_ROWS), MAX_ITER, LEARNING_RATE, ROW_ITERATIONS, MAX_RATE, PATIENCE)
        options: dict[str, Any] = dict(
            learning_rate=rate, random_seed=job.seed, thread_count=os.cpu_count() or 1,
            cat_features=list(np.flatnonzero(categorical)), allow_writing_files=False, verbose=False)
        if len(x) > SINGLE_CATEGORIES_ROWS:
            options["max_ctr_complexity"] = 1
        if numbers:
            model = CatBoostRegressor(loss_function="MAE" if plan.task.metric == "mae" else "RMSE", **options)
        else:
            model = CatBoostClassifier(loss_function="Logloss" if job.n_classes == 2 else "MultiClass", **options)
        rows = frame.transform(flat[fit_idx])
        if stop_idx is None:  # a refit: as many iterations as validation chose
            model.set_params(iterations=plan.epochs)
            model.fit(rows, y[fit_idx], callbacks=_progress(plan, plan.epochs))
            iterations = plan.epochs
        else:
            model.set_params(iterations=cap, od_type="Iter", od_wait=PATIENCE, use_best_model=True)
            model.fit(rows, y[fit_idx], eval_set=(frame.transform(flat[stop_idx]), y[stop_idx]),
                      callbacks=_progress(plan, cap))
            iterations = model.get_best_iteration() + 1
        metadata = model.get_metadata()
        for stamp in ("model_guid", "train_finish_time"):  # a random id and the clock: reruns stay byte-identical
            if stamp in metadata:
                del metadata[stamp]
        net = Pipeline([("frame", frame), ("catboost", model)])
        history: dict[str, list[float]] = {}
        if stop_idx is not None and not numbers:
            history["val_accuracy"] = [float(np.mean(net.predict(flat[stop_idx]).ravel() == y[stop_idx]))]
        if plan.on_epoch:
            shown = {"val_accuracy": history["val_accuracy"][0]} if history else {}
            plan.on_epoch(f"{plan.label}CatBoost, {iterations} iterations{drawn(len(fit_idx), offered)}", shown)
        return net, history, iterations


class _Progress:
    """CatBoost's callback: each iteration, as progress (up to `total`)."""

    def __init__(self, plan: Any, total: int) -> None:
        self.plan, self.total = plan, total

    def after_iteration(self, info: Any) -> bool:
        self.plan.on_batch(f"{self.plan.label}CatBoost", info.iteration, self.total, "iterations")
        return True  # go on


def _progress(plan: Any, total: int) -> list[_Progress] | None:
    return [_Progress(plan, total)] if plan.on_batch else None


def catboost_frame(x: np.ndarray, categorical: np.ndarray) -> Any:
    """The feature matrix as CatBoost takes it: category codes as whole numbers (a missing
    cell -1), other columns as they are."""
    import pandas as pd

    frame = pd.DataFrame(x, columns=[str(i) for i in range(x.shape[1])])
    for i in np.flatnonzero(categorical):
        frame[str(i)] = np.nan_to_num(x[:, i], nan=-1).astype(np.int64)
    return frame
