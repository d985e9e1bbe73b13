"""Validate: the trained model (before any refit) on the held-out rows -> accuracy, log loss,
per-class precision and recall, confusion, the probabilities (for the report) and, for
vectors, permutation feature importance."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_score, recall_score

from pipeline import models

MAX_IMPORTANCE_FEATURES = 200  # beyond this, permuting each feature costs more than the report is worth
IMPORTANCE_REPEATS = 5


def validate(
    x: np.ndarray,
    y: np.ndarray,
    val_idx: np.ndarray,
    model: dict[str, np.ndarray],
    classes: np.ndarray,
    tta: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Validation metrics of `model` on rows `val_idx`, with the class names they refer to;
    `tta` as in models.predict_proba."""
    labels = np.arange(len(classes))
    truth = y[val_idx]
    probs = models.predict_proba(model, x[val_idx], on_batch, final=False, tta=tta)
    predicted = probs.argmax(axis=1)
    result = {
        "accuracy": np.array(accuracy_score(truth, predicted)),
        "log_loss": np.array(log_loss(truth, probs, labels=labels)),
        "precision": precision_score(truth, predicted, labels=labels, average=None, zero_division=0),
        "recall": recall_score(truth, predicted, labels=labels, average=None, zero_division=0),
        "confusion": confusion_matrix(truth, predicted, labels=labels),
        "classes": classes,
        "n_val": np.array(len(val_idx)),
        "probs": probs.astype(np.float32),
    }
    if x.ndim == 2 and x.shape[1] <= MAX_IMPORTANCE_FEATURES:
        result["importance_mean"], result["importance_std"] = _importance(model, x[val_idx], truth)
    return result


def _importance(model: dict[str, np.ndarray], x: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much validation accuracy drops when each feature's values are shuffled."""
    nets = models.from_arrays(model, final=False)
    keras_nets = str(model["arch"]) in models.BUILDERS

    class Fitted:  # permutation_importance wants an estimator; the nets are already trained
        def fit(self, *args: Any) -> Fitted:
            return self

    def accuracy(_: Fitted, rows: np.ndarray, labels: np.ndarray) -> float:
        probs = np.mean([net.predict(rows, batch_size=models.INFERENCE_BATCH, verbose=0) if keras_nets
                         else net.predict_proba(rows) for net in nets], axis=0)
        return float((probs.argmax(axis=1) == labels).mean())

    found = permutation_importance(Fitted(), x, truth, scoring=accuracy, n_repeats=IMPORTANCE_REPEATS,
                                   random_state=0)
    return found.importances_mean.astype(np.float32), found.importances_std.astype(np.float32)
