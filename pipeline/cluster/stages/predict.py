"""Predict on a cluster: the trained model on every test partition on the workers; the
predictions come back in test.csv's order, as the single-process predict returns them, and
the submission is written and checked from them as it always is (pipeline.outputs). A
network's share of the prediction is added here, partition by partition
(pipeline.cluster.divide)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline import models
from pipeline.cluster import parts
from pipeline.cluster.divide import divided, predicted_here
from pipeline.cluster.client import connect
from pipeline.hooks import QUIET, Hooks

if TYPE_CHECKING:
    from pipeline.config import PredictParams

READS = {"ingest": ("test_parts",), "train": "model"}


def predict(test_parts: np.ndarray, model: dict[str, np.ndarray], params: PredictParams,
            hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """`predictions`, one row per test row, and the model's `cuts`."""
    client = connect(hooks.cluster, hooks.info)
    there, networks = divided(model)
    n_outputs = int(model["n_classes"])
    shared = client.scatter(there, broadcast=True) if there is not None else None
    found = parts.gather(client, list(test_parts), _predicted, shared, n_outputs, progress=hooks.progress,
                         task="predicting")
    if networks:
        for done, part in enumerate(test_parts, 1):
            found[done - 1] = found[done - 1] + predicted_here(networks, parts.load(str(part), ("x",))["x"], n_outputs)
            hooks.progress("predicting (the network, here)", done, len(found), "")
    return {"predictions": np.concatenate(found), "cuts": model["cuts"] if "cuts" in model else np.zeros(0)}


def _predicted(part: str, model: dict[str, np.ndarray] | None, n_outputs: int) -> np.ndarray:
    """On a worker: the model's output on one test partition (zeros for none: the networks'
    share comes after)."""
    x = parts.load(part, ("x",))["x"]
    if model is None:
        return np.zeros((len(x), n_outputs), dtype=np.float32)
    return models.predict_proba(model, x).astype(np.float32)
