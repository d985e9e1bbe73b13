"""Validate on a cluster: the trained model on every held-out row, partition by partition on
the workers, scored as the single-process validate scores one held-out split
(pipeline.scoring); only the held-out rows' answers and predictions come back. A network's
share of the prediction is added here, partition by partition (pipeline.cluster.divide)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import models, scoring
from pipeline.cluster import parts
from pipeline.cluster.divide import divided, predicted_here
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
    there, networks = divided(model)
    n_outputs = int(model["n_classes"])
    shared = client.scatter(there, broadcast=True) if there is not None else None
    found = parts.gather(client, list(train_parts), _held_out, shared, float(val_fraction), int(seed), n_outputs,
                         progress=hooks.progress, task="validating")
    if networks:
        for done, part in enumerate(train_parts, 1):
            arrays = parts.load(str(part), ("x", parts.HASH))
            held = parts.held_out(arrays[parts.HASH], float(val_fraction), int(seed))
            y, share = found[done - 1]
            found[done - 1] = y, share + predicted_here(networks, arrays["x"][held], n_outputs)
            hooks.progress("validating (the network, here)", done, len(found), "")
    truth = np.concatenate([y for y, _ in found])
    raw = np.concatenate([p for _, p in found])
    result = scoring.held_out(truth, raw, task, classes, model.get("cuts"))
    for name in ROWS:
        result.pop(name, None)
    result["kept"] = model["arch"]
    return result


def _held_out(part: str, model: dict[str, np.ndarray] | None, val_fraction: float, seed: int,
              n_outputs: int) -> tuple[Any, Any]:
    """On a worker: one partition's held-out rows' answers and the model's output on them
    (zeros for none: the networks' share comes after)."""
    arrays = parts.load(part, ("x", "y", parts.HASH))
    held = parts.held_out(arrays[parts.HASH], val_fraction, seed)
    rows = arrays["x"][held]
    if model is None:
        return arrays["y"][held], np.zeros((len(rows), n_outputs), dtype=np.float32)
    return arrays["y"][held], models.predict_proba(model, rows).astype(np.float32)
