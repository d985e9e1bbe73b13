"""Target means of a table's many-valued categories, for LightGBM (pipeline.learners.lgbm):
each category's mean target (one column per class for several classes), smoothed towards
the overall mean by PRIOR rows, becomes a number beside the category's code. On LightGBM's
own categories, the 1,000-value columns of benchmarks/table_scale.py's table overfit: on
900,000 rows, validation AUC was 0.7551 with native categories, 0.7626 with their codes as
numbers, 0.7661 with these means added.

A training row's means come from the rows of the other FOLDS groups only (out of fold), so
that a rare category's mean does not hold the row's own answer; rows it never trained on
get the means of all of them. The sums are additive, so a cluster adds up each partition's
(`statistics`) and encodes each partition with the total (`encoded`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.schema import MAX_VOCABULARY

MANY = 64  # a category column with more values than this gets its means; fewer stay LightGBM's own categories
PRIOR = 20  # rows of the overall mean each category's mean is smoothed with
FOLDS = 5
SLOTS = MAX_VOCABULARY + 1  # slot 0: a missing or unknown category; code c: slot c + 1


def outputs(y: np.ndarray, n_classes: int) -> np.ndarray:
    """The targets whose means are taken: the answer itself (a number, or a binary task's
    class code), else one 0/1 column per class."""
    if n_classes <= 2:
        return np.asarray(y, dtype=np.float64)[:, None]
    return np.eye(n_classes)[np.asarray(y, dtype=np.int64)]


def statistics(x: np.ndarray, targets: np.ndarray, columns: np.ndarray,
               groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group, column and category slot: the rows (counts, (FOLDS, columns, SLOTS)) and
    their targets' sums ((FOLDS, columns, SLOTS, outputs))."""
    counts = np.zeros((FOLDS, len(columns), SLOTS))
    sums = np.zeros((FOLDS, len(columns), SLOTS, targets.shape[1]))
    for j, column in enumerate(columns):
        flat = groups * SLOTS + _slots(x[:, column])
        counts[:, j] = np.bincount(flat, minlength=FOLDS * SLOTS).reshape(FOLDS, SLOTS)
        for k in range(targets.shape[1]):
            sums[:, j, :, k] = np.bincount(flat, weights=targets[:, k], minlength=FOLDS * SLOTS).reshape(FOLDS, SLOTS)
    return counts, sums


@dataclass(frozen=True)
class TargetMeans:
    """Which columns get means (`columns`), and each one's smoothed means by slot of all the
    training rows (`means`, (columns, SLOTS, outputs)) and of all but each group's
    (`out_of_fold`, (FOLDS, columns, SLOTS, outputs))."""

    columns: np.ndarray
    means: np.ndarray
    out_of_fold: np.ndarray

    @classmethod
    def chosen(cls, columns: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> TargetMeans:
        """The means of the category `columns` (those `statistics` summed, in its order)
        holding more than MANY values."""
        if not counts.shape[1]:  # no category column
            return cls(np.zeros(0, dtype=np.int64), np.zeros((0, SLOTS, sums.shape[-1])), np.zeros(0))
        total_counts, total_sums = counts.sum(axis=0), sums.sum(axis=0)
        prior = total_sums[0].sum(axis=0) / max(total_counts[0].sum(), 1)
        many = (total_counts > 0).sum(axis=1) > MANY
        smooth = PRIOR * prior
        means = (total_sums[many] + smooth) / (total_counts[many][..., None] + PRIOR)
        rest = total_counts[None, many] - counts[:, many] + PRIOR  # the other groups' rows, and the prior's
        out = (total_sums[None, many] - sums[:, many] + smooth) / rest[..., None]
        return cls(np.asarray(columns)[many].astype(np.int64), means, out)

    def encoded(self, x: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """`x` with the means of its rows' categories after its columns: out of fold for
        training rows (of `groups`), else of every training row."""
        if not len(self.columns):
            return x
        added = []
        for j, column in enumerate(self.columns):
            slots = _slots(x[:, column])
            added.append(self.means[j][slots] if groups is None else self.out_of_fold[groups, j, slots])
        return np.hstack([x, *added]).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"te_columns": self.columns, "te_means": self.means.astype(np.float32)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TargetMeans:
        """For prediction: the means of every training row (out_of_fold is not kept)."""
        return cls(arrays["te_columns"], arrays["te_means"], np.zeros(0))


def groups_of(draws: np.ndarray) -> np.ndarray:
    """The group of each row, from a draw in [0, 1) (pipeline.cluster.parts.draw, or a seeded
    random number)."""
    return np.minimum((draws * FOLDS).astype(np.int64), FOLDS - 1)


def _slots(codes: np.ndarray) -> np.ndarray:
    filled = np.nan_to_num(codes, nan=-1)
    return np.clip(filled, -1, SLOTS - 2).astype(np.int64) + 1
