"""Validate: the trained model (before any refit) on the held-out rows -> accuracy, log loss, recall, confusion."""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, recall_score

from pipeline import models


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
    return {
        "accuracy": np.array(accuracy_score(truth, predicted)),
        "log_loss": np.array(log_loss(truth, probs, labels=labels)),
        "recall": recall_score(truth, predicted, labels=labels, average=None, zero_division=0),
        "confusion": confusion_matrix(truth, predicted, labels=labels),
        "classes": classes,
        "n_val": np.array(len(val_idx)),
    }
