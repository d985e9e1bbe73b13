"""Reports written to reports/: the validation metrics as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.cache import atomic_write_bytes


def metrics_record(metrics: dict[str, np.ndarray]) -> dict:
    """Validation metrics as plain JSON-able values, recall keyed by the original class."""
    classes = [c.item() for c in metrics["classes"]]
    return {
        "accuracy": float(metrics["accuracy"]),
        "log_loss": float(metrics["log_loss"]),
        "n_val": int(metrics["n_val"]),
        "classes": classes,
        "recall": {str(c): float(r) for c, r in zip(classes, metrics["recall"])},
        "confusion_matrix": metrics["confusion"].tolist(),
    }


def write_metrics(metrics: dict[str, np.ndarray], path: Path) -> None:
    """Save `reports/metrics.json` atomically."""
    atomic_write_bytes(path, json.dumps(metrics_record(metrics), indent=2).encode())
