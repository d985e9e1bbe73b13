"""Validate on a cluster: the trained model on every held-out row, partition by partition on
the workers, scored as the single-process validate scores one held-out split
(pipeline.scoring); only the held-out rows' answers and predictions come back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import models, scoring
from pipeline.cluster import parts
from pipeline.cluster.client import connect
from pipeline.hooks import QUIET, Hooks
from pipeline.task import Task
from pipeline.training.plan import CLASSES

if TYPE_CHECKING:
    from pipeline.config import PredictParams

READS = {"ingest": ("train_parts", "classes", "task"), "split": ("val_fraction", "seed"), "train": "model"}
ROWS = ("probs", "predicted", "truth", "roc_fpr", "roc_tpr")  # a value per held-out row, for plots it draws none of


def validate(train_parts: np.ndarray, classes: np.ndarray, val_fraction: np.ndarray, seed: np.ndarray,
             model: dict[str, np.ndarray], params: PredictParams | None = None, task: Task = CLASSES,
             hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """The metrics of pipeline.scoring.held_out on the rows the split held out."""
    client = connect(hooks.cluster, hooks.info)
    shared = client.scatter(model, broadcast=True)
    found = parts.gather(client, list(train_parts), _held_out, shared, float(val_fraction), int(seed),
                         progress=hooks.progress, task="validating")
    truth = np.concatenate([y for y, _ in found])
    raw = np.concatenate([p for _, p in found])
    result = scoring.held_out(truth, raw, task, classes, model.get("cuts"))
    for name in ROWS:
        result.pop(name, None)
    result["kept"] = model["arch"]
    return result


def _held_out(part: str, model: dict[str, np.ndarray], val_fraction: float, seed: int) -> tuple[Any, Any]:
    """On a worker: one partition's held-out rows' answers and the model's output on them."""
    arrays = parts.load(part, ("x", "y", parts.HASH))
    held = parts.held_out(arrays[parts.HASH], val_fraction, seed)
    return arrays["y"][held], models.predict_proba(model, arrays["x"][held]).astype(np.float32)
