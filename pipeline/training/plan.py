"""The plan of one network's training: how many epochs, what time budget, under which
strategy, for which task (and, for a table, which columns), and where its progress (the epoch and batch hooks) and TensorBoard logs go; and
the label ("net 2/3 ") that tells ensemble members and refits apart in that progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.hooks import BatchHook, EpochHook
from pipeline.task import Task

CLASSES = Task("multiclass", "accuracy", "label")


class Plan:
    """How long one network trains, and where its progress goes."""

    def __init__(self, epochs: int, budget: float | None, on_epoch: EpochHook | None,
                 on_batch: BatchHook | None, label: str = "", strategy: Any = None,
                 multi_worker: bool = False, tensorboard: Path | None = None, task: Task = CLASSES,
                 spec: dict[str, np.ndarray] | None = None):
        self.epochs, self.budget, self.label = epochs, budget, label
        self.on_epoch, self.on_batch = on_epoch, on_batch
        self.strategy, self.multi_worker, self.tensorboard = strategy, multi_worker, tensorboard
        self.task = task  # the head, the loss and what early stopping watches
        self.spec = spec  # a table's description (pipeline.tabular.spec), None for images

    def labelled(self, label: str, epochs: int | None = None, name: str = "") -> Plan:
        """A copy for one network; `name` is its TensorBoard subfolder. Given `epochs`, a
        fixed count (a refit's)."""
        logs = self.tensorboard / name if self.tensorboard and name else self.tensorboard
        return Plan(epochs or self.epochs, self.budget, self.on_epoch, self.on_batch, label, self.strategy,
                    self.multi_worker, logs, self.task, self.spec)


def label(kind: str, m: int, n: int) -> str:
    return f"{kind} {m + 1}/{n} " if n > 1 or kind == "refit" else ""
