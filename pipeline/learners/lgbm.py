"""LightGBM (`lgbm`): gradient boosting with missing cells as native missing values, a
table's few-valued categories as native categories and its many-valued ones as their codes
beside their target means (pipeline.learners.target_means); and the learner that trains on
a Dask cluster (`cluster = True`, fit_cluster: lightgbm.dask, every worker holding its
partitions). A target learnt as a number gets the regressor. Kept as LightGBM's own model
text and the means, exported as `model.txt` (lightgbm.Booster(model_file=...) reads it),
with `target_means.npz` beside it when there are means: the booster reads the columns
followed by, for each column of `te_columns`, `te_means[j][code + 1]` (row 0: missing).
LightGBM is an optional package (pip install '.[dask]'), imported inside the functions.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import PipelineError
from pipeline.learners import target_means
from pipeline.learners.base import Fitted, Job, Learner
from pipeline.learners.boosting import MAX_ITER, PATIENCE, categorical_columns, schedule
from pipeline.learners.target_means import TargetMeans

LEARNING_RATE = 0.05
NUM_LEAVES = 63
# Past 500,000 rows, fewer iterations (at least LEAST_ITER) at a higher rate (boosting.schedule):
# on 900,000 rows of benchmarks/table_scale.py's table, 555 at 0.09 against 277 at 0.18
ROW_ITERATIONS = 500_000_000
LEAST_ITER = 300
MAX_RATE = 0.1


class LightGbm(Learner):
    name = "lgbm"
    cluster = True

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        lightgbm = _lightgbm()
        flat = x.reshape(len(x), -1)
        groups = target_means.groups_of(np.random.default_rng(job.seed).random(len(fit_idx)))
        columns = _category_columns(job)
        means = TargetMeans.chosen(columns, *target_means.statistics(
            flat[fit_idx], target_means.outputs(y[fit_idx], job.n_classes), columns, groups))
        cap, rate = schedule(len(fit_idx), MAX_ITER, LEARNING_RATE, ROW_ITERATIONS, MAX_RATE, LEAST_ITER)
        model = self._model(lightgbm, job, cap if stop_idx is not None else job.plan.epochs, rate)
        options = self._categories(columns, means)
        if stop_idx is not None:
            options.update(eval_X=(means.encoded(flat[stop_idx]),), eval_y=(y[stop_idx],),
                           callbacks=[lightgbm.early_stopping(PATIENCE, verbose=False)])
        model.fit(means.encoded(flat[fit_idx], groups), y[fit_idx], **options)
        iterations = int(model.best_iteration_ or model.n_estimators)
        self._said(job, iterations)
        return (_trimmed(model.booster_, iterations), means), {}, iterations

    def fit_cluster(self, x: Any, y: Any, x_stop: Any, y_stop: Any, job: Job) -> Fitted:
        """A model trained on the cluster on Dask arrays `x`, `y` (every worker training on
        the partitions it holds), kept at the iteration that scored `x_stop`, `y_stop` best.
        The target means are summed from each chunk's, and each chunk is encoded where it is."""
        import logging
        import warnings

        import dask
        import dask.array as da
        import lightgbm.dask as lgb_dask

        quiet = logging.getLogger("pipeline.lightgbm")  # its lines of progress and of ignored settings, unshown
        quiet.setLevel(logging.ERROR)
        _lightgbm().register_logger(quiet)
        columns = _category_columns(job)
        chunks = list(zip(x.to_delayed().ravel(), y.to_delayed().ravel(), x.chunks[0]))
        found = dask.compute(*[dask.delayed(_statistics)(cx, cy, columns, job.n_classes, job.seed, i)
                               for i, (cx, cy, _) in enumerate(chunks)])
        means = TargetMeans.chosen(columns, sum(f[0] for f in found), sum(f[1] for f in found))
        width = x.shape[1] + len(means.columns) * means.means.shape[-1]
        encoded = da.concatenate([da.from_delayed(dask.delayed(_encoded_fit)(cx, means, job.seed, i),
                                                  shape=(n, width), dtype=np.float32)
                                  for i, (cx, _, n) in enumerate(chunks)])
        stop = x_stop.map_blocks(means.encoded, chunks=(x_stop.chunks[0], (width,)), dtype=np.float32)
        cap, rate = schedule(int(x.shape[0]), MAX_ITER, LEARNING_RATE, ROW_ITERATIONS, MAX_RATE, LEAST_ITER)
        numbers = job.plan.task.learns_numbers
        Model = lgb_dask.DaskLGBMRegressor if numbers else lgb_dask.DaskLGBMClassifier
        model = Model(**self._options(job, cap, rate))
        with warnings.catch_warnings():  # "n_jobs will be ignored": each worker uses its threads
            warnings.simplefilter("ignore", UserWarning)
            model.fit(encoded, y, eval_X=(stop,), eval_y=(y_stop,), **self._categories(columns, means))
        losses = next(iter(next(iter(model.evals_result_.values())).values()), []) if model.evals_result_ else []
        iterations = int(np.argmin(losses)) + 1 if len(losses) else cap
        self._said(job, iterations, cap)
        return (_trimmed(model.booster_, iterations), means), {"val_loss": [float(v) for v in losses]}, iterations

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        booster, means = net
        predicted = booster.predict(means.encoded(x.reshape(len(x), -1)))
        if predicted.ndim == 2:
            return predicted
        if int(arrays["n_classes"]) == 1:
            return predicted[:, None]
        return np.column_stack([1 - predicted, predicted])

    def dump(self, net: Any) -> dict[str, np.ndarray]:
        booster, means = net
        return {"model": np.frombuffer(booster.model_to_string().encode(), dtype=np.uint8), **means.to_arrays()}

    def load(self, arrays: dict[str, np.ndarray], stored: dict[str, np.ndarray]) -> Any:
        return _lightgbm().Booster(model_str=stored["model"].tobytes().decode()), TargetMeans.from_arrays(stored)

    def export(self, arrays: dict[str, np.ndarray], nets: list[Any], folder: Path) -> Path:
        from pipeline import cache

        booster, means = nets[0]
        path = folder / "model.txt"
        cache.atomic_write_bytes(path, booster.model_to_string().encode())
        if len(means.columns):
            buffer = io.BytesIO()
            np.savez(buffer, **means.to_arrays())
            cache.atomic_write_bytes(folder / "target_means.npz", buffer.getvalue())
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
    def _categories(columns: np.ndarray, means: TargetMeans) -> dict[str, Any]:
        """LightGBM's own categories: the category columns without target means."""
        native = [int(c) for c in columns if c not in set(means.columns.tolist())]
        return {"categorical_feature": native} if native else {}

    @staticmethod
    def _said(job: Job, iterations: int, cap: int = 0) -> None:
        if job.plan.on_epoch:
            most = f" of {cap}" if cap else ""
            job.plan.on_epoch(f"{job.plan.label}LightGBM, {iterations}{most} iterations", {})


def _category_columns(job: Job) -> np.ndarray:
    categorical = categorical_columns(job.plan.spec)
    return np.flatnonzero(categorical) if categorical is not None else np.zeros(0, dtype=np.int64)


def _statistics(x: np.ndarray, y: np.ndarray, columns: np.ndarray, n_classes: int, seed: int,
                chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """One chunk's target sums (target_means.statistics), its rows in groups drawn from the seed and its place."""
    return target_means.statistics(x, target_means.outputs(y, n_classes), columns, _groups(len(x), seed, chunk))


def _encoded_fit(x: np.ndarray, means: TargetMeans, seed: int, chunk: int) -> np.ndarray:
    return means.encoded(x, _groups(len(x), seed, chunk))


def _groups(n: int, seed: int, chunk: int) -> np.ndarray:
    return target_means.groups_of(np.random.default_rng([seed, chunk]).random(n))


def _trimmed(booster: Any, iterations: int) -> Any:
    """The booster with its first `iterations` iterations only."""
    return _lightgbm().Booster(model_str=booster.model_to_string(num_iteration=iterations))


def _lightgbm() -> Any:
    if importlib.util.find_spec("lightgbm") is None:
        raise PipelineError("--model lgbm needs LightGBM: pip install '.[dask]' (or pip install lightgbm)")
    import lightgbm

    return lightgbm
