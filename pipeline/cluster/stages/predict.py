"""Predict on a cluster: the trained model on every test partition on the workers; the
predictions come back in test.csv's order, as the single-process predict returns them, and
the submission is written and checked from them as it always is (pipeline.outputs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline import models
from pipeline.cluster import parts
from pipeline.cluster.client import connect
from pipeline.hooks import QUIET, Hooks

if TYPE_CHECKING:
    from pipeline.config import PredictParams

READS = {"ingest": ("test_parts",), "train": "model"}


def predict(test_parts: np.ndarray, model: dict[str, np.ndarray], params: PredictParams,
            hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """`predictions`, one row per test row, and the model's `cuts`."""
    client = connect(hooks.cluster, hooks.info)
    shared = client.scatter(model, broadcast=True)
    found = parts.gather(client, list(test_parts), _predicted, shared, progress=hooks.progress, task="predicting")
    return {"predictions": np.concatenate(found), "cuts": model["cuts"] if "cuts" in model else np.zeros(0)}


def _predicted(part: str, model: dict[str, np.ndarray]) -> np.ndarray:
    return models.predict_proba(model, parts.load(part, ("x",))["x"]).astype(np.float32)
