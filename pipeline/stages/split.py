"""Split: a stratified train/validation split, stored as row indices (no copies of the data)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from pipeline.config import SplitParams
from pipeline.errors import PipelineError


def split(y: np.ndarray, classes: np.ndarray, params: SplitParams) -> dict[str, np.ndarray]:
    """Sorted train and validation indices into `y`, stratified by class, seeded."""
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < 2:
        lonely = classes[int(np.argmin(counts))].item()
        raise PipelineError(
            f"train.csv: class {lonely!r} has a single row, so a stratified split is impossible; "
            f"add rows of that class or remove it"
        )
    n_val = int(np.ceil(params.val_fraction * len(y)))
    if n_val < len(classes) or len(y) - n_val < len(classes):
        raise PipelineError(
            f"--val-fraction {params.val_fraction} gives {n_val} validation rows of {len(y)} for "
            f"{len(classes)} classes; each side needs one row per class, so choose a fraction "
            f"between {len(classes) / len(y):.3f} and {1 - len(classes) / len(y):.3f}"
        )
    train_idx, val_idx = train_test_split(
        np.arange(len(y)), test_size=n_val, stratify=y, random_state=params.seed
    )
    return {"train_idx": np.sort(train_idx), "val_idx": np.sort(val_idx)}
