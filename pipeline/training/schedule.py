"""The learning-rate schedule: a cosine decay from the peak rate to zero over the plan's
epochs, and where early stopping starts judging (the decay's second half). The plan's epoch
count is fixed before training (by --epochs or the preset, from the number of training rows)
or, under --time-budget, by the first epoch's time; never by validation scores, which differ
where the arithmetic differs: a rule that held the peak rate until validation converged
stopped the same seed after 16 epochs on one CPU and 30 on another (docs/avx2.md).
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.training.plan import Plan


def rate(peak: float, epoch: int, epochs: int) -> float:
    """The learning rate of `epoch` (from 0) of `epochs`."""
    return peak * 0.5 * (1 + math.cos(math.pi * epoch / max(1, epochs)))


def Schedule(keras: Any, plan: Plan, peak: float, stopping: Any) -> Any:
    """Sets each epoch's rate for `plan.epochs` (which a time budget may shrink after the
    first epoch), and has early stopping (`stopping`) judge the second half of them only."""

    class Callback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.model.optimizer.learning_rate.assign(rate(peak, epoch, plan.epochs))
            if stopping is not None:
                stopping.start_from_epoch = plan.epochs // 2

    return Callback()
