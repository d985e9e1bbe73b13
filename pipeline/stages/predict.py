"""Predict: the trained model on test.csv's rows -> class probabilities, or a regression's
predictions (in the units the model learned; the submission decodes them), with the model's
cut points where labels need them (pipeline.task)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline import models
from pipeline.hooks import QUIET, Hooks

if TYPE_CHECKING:
    from pipeline.config import PredictParams

READS = {"ingest": ("text_test",), "preprocess": ("x_test",), "train": "model"}  # "model": all of train's arrays
PER_TARGET = True


def predict(x_test: np.ndarray, model: dict[str, np.ndarray], params: PredictParams,
            text_test: np.ndarray | None = None, hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """Test-set predictions, one row per test row, in test.csv's order; `params.tta` as in
    models.predict_proba; `text_test` the rows' text columns, for a model that reads them;
    `hooks.predicting(done, total)` hears the progress."""
    predicted = models.predict_proba(model, x_test, hooks.predicting, tta=params.tta, text=text_test)
    return {"predictions": predicted.astype(np.float32),
            "cuts": model["cuts"] if "cuts" in model else np.zeros(0)}
