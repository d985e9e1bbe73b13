"""Predict: the trained model on test.csv's rows -> class probabilities, or a regression's
predictions (in the units the model learned; the submission decodes them), with the model's
cut points where labels need them (pipeline.task)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from pipeline import models


def predict(
    x_test: np.ndarray,
    model: dict[str, np.ndarray],
    tta: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Test-set predictions, one row per test row, in test.csv's order;
    `tta` as in models.predict_proba; `on_batch(done, total)` reports progress."""
    return {"predictions": models.predict_proba(model, x_test, on_batch, tta=tta).astype(np.float32),
            "cuts": model["cuts"] if "cuts" in model else np.zeros(0)}
