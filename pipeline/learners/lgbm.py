"""LightGBM (`lgbm`): gradient boosting with a table's categorical columns as native
categories and missing cells as native missing values, like `hgb`, and the learner that
trains on a Dask cluster (`cluster = True`, fit_cluster: lightgbm.dask, every worker holding
its partitions). A target learnt as a number gets the regressor. Kept as LightGBM's own
model text, exported as `model.txt` (lightgbm.Booster(model_file=...) reads it).
LightGBM is an optional package (pip install '.[dask]'), imported inside the functions.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import PipelineError
from pipeline.learners.base import Fitted, Job, Learner
from pipeline.learners.boosting import LEAST_ITER, MAX_ITER, MAX_RATE, PATIENCE, ROW_ITERATIONS, categorical_columns, \
    schedule

LEARNING_RATE = 0.05
NUM_LEAVES = 63


class LightGbm(Learner):
    name = "lgbm"
    cluster = True

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        lightgbm = _lightgbm()
        flat = x.reshape(len(x), -1)
        cap, rate = schedule(len(fit_idx), MAX_ITER, LEARNING_RATE, ROW_ITERATIONS, MAX_RATE, LEAST_ITER)
        model = self._model(lightgbm, job, cap if stop_idx is not None else job.plan.epochs, rate)
        options = self._categories(job)
        if stop_idx is not None:
            options.update(eval_set=[(flat[stop_idx], y[stop_idx])],
                           callbacks=[lightgbm.early_stopping(PATIENCE, verbose=False)])
        model.fit(flat[fit_idx], y[fit_idx], **options)
        iterations = int(model.best_iteration_ or model.n_estimators)
        self._said(job, iterations)
        return _trimmed(model.booster_, iterations), {}, iterations

    def fit_cluster(self, x: Any, y: Any, x_stop: Any, y_stop: Any, job: Job) -> Fitted:
        """A model trained on the cluster on Dask arrays `x`, `y` (every worker training on
        the partitions it holds), kept at the iteration that scored `x_stop`, `y_stop` best."""
        import logging
        import warnings

        import lightgbm.dask as lgb_dask

        quiet = logging.getLogger("pipeline.lightgbm")  # its lines of progress and of ignored settings, unshown
        quiet.setLevel(logging.ERROR)
        _lightgbm().register_logger(quiet)
        cap, rate = schedule(int(x.shape[0]), MAX_ITER, LEARNING_RATE, ROW_ITERATIONS, MAX_RATE, LEAST_ITER)
        numbers = job.plan.task.learns_numbers
        Model = lgb_dask.DaskLGBMRegressor if numbers else lgb_dask.DaskLGBMClassifier
        model = Model(**self._options(job, cap, rate))
        with warnings.catch_warnings():  # "n_jobs will be ignored": each worker uses its threads
            warnings.simplefilter("ignore", UserWarning)
            model.fit(x, y, eval_X=(x_stop,), eval_y=(y_stop,), **self._categories(job))
        losses = next(iter(next(iter(model.evals_result_.values())).values()), []) if model.evals_result_ else []
        iterations = int(np.argmin(losses)) + 1 if len(losses) else cap
        self._said(job, iterations, cap)
        return _trimmed(model.booster_, iterations), {"val_loss": [float(v) for v in losses]}, iterations

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        predicted = net.predict(x.reshape(len(x), -1))
        if predicted.ndim == 2:
            return predicted
        if int(arrays["n_classes"]) == 1:
            return predicted[:, None]
        return np.column_stack([1 - predicted, predicted])

    def dump(self, net: Any) -> dict[str, np.ndarray]:
        return {"model": np.frombuffer(net.model_to_string().encode(), dtype=np.uint8)}

    def load(self, arrays: dict[str, np.ndarray], stored: dict[str, np.ndarray]) -> Any:
        return _lightgbm().Booster(model_str=stored["model"].tobytes().decode())

    def export(self, arrays: dict[str, np.ndarray], nets: list[Any], folder: Path) -> Path:
        from pipeline import cache

        path = folder / "model.txt"
        cache.atomic_write_bytes(path, nets[0].model_to_string().encode())
        return path

    def _model(self, lightgbm: Any, job: Job, iterations: int, rate: float) -> Any:
        Model = lightgbm.LGBMRegressor if job.plan.task.learns_numbers else lightgbm.LGBMClassifier
        return Model(**self._options(job, iterations, rate))

    @staticmethod
    def _options(job: Job, iterations: int, rate: float) -> dict[str, Any]:
        options = dict(n_estimators=iterations, learning_rate=rate, num_leaves=NUM_LEAVES, random_state=job.seed,
                       verbose=-1)
        if job.plan.task.metric == "mae":
            options["objective"] = "l1"
        return options

    @staticmethod
    def _categories(job: Job) -> dict[str, Any]:
        categorical = categorical_columns(job.plan.spec)
        return {} if categorical is None else {"categorical_feature": [int(i) for i in np.flatnonzero(categorical)]}

    @staticmethod
    def _said(job: Job, iterations: int, cap: int = 0) -> None:
        if job.plan.on_epoch:
            most = f" of {cap}" if cap else ""
            job.plan.on_epoch(f"{job.plan.label}LightGBM, {iterations}{most} iterations", {})


def _trimmed(booster: Any, iterations: int) -> Any:
    """The booster with its first `iterations` iterations only."""
    return _lightgbm().Booster(model_str=booster.model_to_string(num_iteration=iterations))


def _lightgbm() -> Any:
    if importlib.util.find_spec("lightgbm") is None:
        raise PipelineError("--model lgbm needs LightGBM: pip install '.[dask]' (or pip install lightgbm)")
    import lightgbm

    return lightgbm
