"""Split: a stratified train/validation split, stored as row indices (no copies of the data).

Classification stratifies by class; a regression by quantile bins of the target, so that
both sides span its whole range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.model_selection import train_test_split

from pipeline.errors import PipelineError
from pipeline.task import Task

if TYPE_CHECKING:
    from pipeline.config import SplitParams

MAX_BINS = 10  # quantile bins of a regression target


def split(y: np.ndarray, classes: np.ndarray, params: SplitParams, task: Task | None = None) -> dict[str, np.ndarray]:
    """Sorted train and validation indices into `y`, stratified, seeded."""
    n_val = int(np.ceil(params.val_fraction * len(y)))
    if task is not None and task.regression:
        strata = _quantile_bins(y, n_val, len(y) - n_val)
    else:
        strata = y
        _check_classes(y, classes, params, n_val)
    train_idx, val_idx = train_test_split(
        np.arange(len(y)), test_size=n_val, stratify=strata, random_state=params.seed
    )
    return {"train_idx": np.sort(train_idx), "val_idx": np.sort(val_idx)}


def _check_classes(y: np.ndarray, classes: np.ndarray, params: SplitParams, n_val: int) -> None:
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < 2:
        lonely = classes[int(np.argmin(counts))].item()
        raise PipelineError(
            f"train.csv: class {lonely!r} has a single row, so a stratified split is impossible; "
            f"add rows of that class or remove it"
        )
    if n_val < len(classes) or len(y) - n_val < len(classes):
        raise PipelineError(
            f"--val-fraction {params.val_fraction} gives {n_val} validation rows of {len(y)} for "
            f"{len(classes)} classes; each side needs one row per class, so choose a fraction "
            f"between {len(classes) / len(y):.3f} and {1 - len(classes) / len(y):.3f}"
        )


def _quantile_bins(y: np.ndarray, n_val: int, n_train: int) -> np.ndarray | None:
    """Bins of equal counts (at most MAX_BINS, at least 2 rows each side per bin); None
    (a plain shuffled split) when the data are too few for two bins."""
    if min(n_val, n_train) < 2:
        raise PipelineError(f"train.csv has {len(y)} rows with a target; the split needs at least 2 on each "
                            f"side: add rows or change --val-fraction")
    bins = min(MAX_BINS, n_val // 2, n_train // 2)
    if bins < 2:
        return None
    edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1])
    _, strata = np.unique(np.searchsorted(edges, y, side="right"), return_inverse=True)  # ties merge bins
    return strata if np.bincount(strata).min() >= 2 else None
