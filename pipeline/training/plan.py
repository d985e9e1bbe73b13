"""The plan of one network's training: how many epochs, what time budget, under which
strategy, and where its progress (the epoch and batch hooks) and TensorBoard logs go; and
the label ("net 2/3 ") that tells ensemble members and refits apart in that progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

EpochHook = Callable[[str, dict[str, float]], None]
BatchHook = Callable[[str, int, int, str], None]


class Plan:
    """How long one network trains, and where its progress goes."""

    def __init__(self, epochs: int, budget: float | None, on_epoch: EpochHook | None,
                 on_batch: BatchHook | None, label: str = "", strategy: Any = None,
                 multi_worker: bool = False, tensorboard: Path | None = None):
        self.epochs, self.budget, self.label = epochs, budget, label
        self.on_epoch, self.on_batch = on_epoch, on_batch
        self.strategy, self.multi_worker, self.tensorboard = strategy, multi_worker, tensorboard

    def labelled(self, label: str, epochs: int | None = None, name: str = "") -> Plan:
        """A copy for one network; `name` is its TensorBoard subfolder."""
        logs = self.tensorboard / name if self.tensorboard and name else self.tensorboard
        return Plan(epochs or self.epochs, self.budget, self.on_epoch, self.on_batch, label, self.strategy,
                    self.multi_worker, logs)


def label(kind: str, m: int, n: int) -> str:
    return f"{kind} {m + 1}/{n} " if n > 1 or kind == "refit" else ""
