"""Split: stratified folds for a table, one stratified train/validation split for images,
stored as row indices and fold numbers (no copies of the data).

Classification stratifies by class; a regression by quantile bins of the target, so that
every side spans its whole range.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from pipeline.errors import PipelineError
from pipeline.hooks import QUIET, Hooks
from pipeline.task import Task

if TYPE_CHECKING:
    from pipeline.config import SplitParams

MAX_BINS = 10  # quantile bins of a regression target
# A table of up to this many rows gets this many folds (every row trains, and every row is
# scored out of fold, by models that train this many times); larger ones one held-out split.
FOLDS_BY_ROWS = ((20_000, 5), (100_000, 3))


def fold_count(n_rows: int, tabular: bool, requested: int) -> int:
    """How many folds: `requested` (--folds), else by the table's rows; images take one split."""
    if requested:
        return requested
    return next((k for rows, k in FOLDS_BY_ROWS if tabular and n_rows <= rows), 1)


# Several targets share one split, stratified by the first (the runner gives a stage that
# does not run per target the first target's fields).
READS = {"ingest": ("y", "classes", "task"), "preprocess": ("image_shape",)}


def split(y: np.ndarray, classes: np.ndarray, params: SplitParams, task: Task | None = None,
          image_shape: np.ndarray | None = None, hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """Sorted train and validation indices into `y`, stratified, seeded; for a table (an empty
    `image_shape`, as preprocess gives it) of k folds also `folds`, each row's fold (0 to k - 1),
    of which fold 0 is the validation rows."""
    tabular = image_shape is not None and not image_shape.size
    k = fold_count(len(y), tabular, params.folds)
    if k > 1 and not tabular:
        raise PipelineError(f"--folds {k} is for tables; images train on one split (--val-fraction), so give --folds 0")
    n_val = int(np.ceil(len(y) / k)) if k > 1 else int(np.ceil(params.val_fraction * len(y)))
    if task is not None and task.regression:
        strata = _quantile_bins(y, n_val, len(y) - n_val, k)
    else:
        strata = y
        _check_classes(y, classes, params, n_val, k)
    if k == 1:
        train_idx, val_idx = train_test_split(
            np.arange(len(y)), test_size=n_val, stratify=strata, random_state=params.seed
        )
        if tabular:
            hooks.info(f"one held-out split of {n_val} rows (--folds 5 for five folds)")
        return {"train_idx": np.sort(train_idx), "val_idx": np.sort(val_idx)}
    hooks.info(f"{k} stratified folds of about {n_val} rows: every model trains {k} times and is judged on the "
               f"rows it did not train on (--folds 1 for one split)")
    folds = np.empty(len(y), dtype=np.int64)
    splitter = (StratifiedKFold if strata is not None else KFold)(k, shuffle=True, random_state=params.seed)
    with warnings.catch_warnings():  # a class with fewer rows than folds: some folds hold none of it
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, held) in enumerate(splitter.split(np.zeros(len(y)), strata)):
            folds[held] = fold
    return {"train_idx": np.flatnonzero(folds != 0), "val_idx": np.flatnonzero(folds == 0), "folds": folds}


def _check_classes(y: np.ndarray, classes: np.ndarray, params: SplitParams, n_val: int, k: int) -> None:
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < 2:
        lonely = classes[int(np.argmin(counts))].item()
        raise PipelineError(
            f"train.csv: class {lonely!r} has a single row, so a stratified split is impossible; "
            f"add rows of that class or remove it"
        )
    if k == 1 and (n_val < len(classes) or len(y) - n_val < len(classes)):
        raise PipelineError(
            f"--val-fraction {params.val_fraction} gives {n_val} validation rows of {len(y)} for "
            f"{len(classes)} classes; each side needs one row per class, so choose a fraction "
            f"between {len(classes) / len(y):.3f} and {1 - len(classes) / len(y):.3f}"
        )


def _quantile_bins(y: np.ndarray, n_val: int, n_train: int, k: int = 1) -> np.ndarray | None:
    """Bins of equal counts (at most MAX_BINS, at least 2 rows each side per bin, and a row per
    fold of `k`); None (a plain shuffled split) when the data are too few for two bins."""
    if min(n_val, n_train) < 2:
        raise PipelineError(f"train.csv has {len(y)} rows with a target; the split needs at least 2 on each "
                            f"side: add rows or change --val-fraction")
    bins = min(MAX_BINS, n_val // 2, n_train // 2)
    if bins < 2:
        return None
    edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1])
    _, strata = np.unique(np.searchsorted(edges, y, side="right"), return_inverse=True)  # ties merge bins
    return strata if np.bincount(strata).min() >= max(2, k) else None
