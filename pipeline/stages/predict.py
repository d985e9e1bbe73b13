"""Predict: the trained model on test.csv's rows -> class probabilities."""

from __future__ import annotations

import numpy as np

from pipeline import models


def predict(x_test: np.ndarray, model: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Test-set class probabilities, one row per test row, in test.csv's order."""
    return {"probs": models.predict_proba(model, x_test).astype(np.float32)}
