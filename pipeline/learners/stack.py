"""Stacking: the text model's out-of-fold predictions as extra columns of a table, for the
learners that read them (`Learner.stacks`: the boosting ones), so boosting weighs what the
text says together with the numbers, dates and categories, and not only beside them as the
blend does. Trained on each row's out-of-fold prediction (from the text models that did not
train on it); predicting, on the text models' mean (pipeline.learners.blend).
"""

from __future__ import annotations

import numpy as np

from pipeline.schema import NUMERIC


def scores(predicted: np.ndarray) -> np.ndarray:
    """The columns a prediction adds: a binary task's second class's probability (the first
    is its complement), every class's for several, the number for a regression."""
    return predicted[:, 1:] if predicted.shape[1] == 2 else predicted


def widen(x: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The table `x` (rows first) with the text model's `predicted` scores appended as columns."""
    flat = x.reshape(len(x), -1)
    return np.hstack([flat, scores(predicted).astype(flat.dtype)])


def widen_spec(spec: dict[str, np.ndarray], predicted: np.ndarray) -> dict[str, np.ndarray]:
    """A table's description (pipeline.tabular.spec) with the score columns appended: numbers
    named "text model <class code>", at mean 0 and variance 1."""
    added = scores(predicted).shape[1]
    names = [f"text model {c}" for c in range(predicted.shape[1] - added, predicted.shape[1])]
    return {**spec,
            "names": np.concatenate([spec["names"], np.array(names, dtype=str)]),
            "kinds": np.concatenate([spec["kinds"], np.array([NUMERIC] * added, dtype=str)]),
            "mean": np.concatenate([spec["mean"], np.zeros(added, dtype=np.float32)]),
            "variance": np.concatenate([spec["variance"], np.ones(added, dtype=np.float32)])}
