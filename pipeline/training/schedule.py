"""The learning-rate schedule: the peak rate held for `hold` epochs, then a cosine decay to
zero over the rest. A fixed plan (--epochs, or a preset that fixes its epochs) holds for none:
a plain cosine over all its epochs. A converging plan holds until validation has converged
(no new best for PATIENCE epochs in a row by either its score or its loss), then decays for as
many epochs as it held, so that time goes where accuracy still comes from: a network that has
learnt what the peak rate can teach it anneals at once, instead of spending a fixed count of
epochs at ever lower rates.
The plan's epoch count (pipeline.config's cap for converging networks) caps the whole: a
network still improving when only the decay fits decays then. What starts the decay is
validation (score and loss) alone, never the clock, so reruns with the same seed stay
identical. Decays of a third and a half of the hold, and a patience of
5, were measured too (docs/avx2.md).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from pipeline.training.plan import Plan

PATIENCE = 3  # epochs without a new best validation score that mean "converged"
DECAY = 1.0  # the decay's length, as a share of the epochs held
MIN_DECAY = 3


def rate(peak: float, epoch: int, hold: int, epochs: int) -> float:
    """The learning rate of `epoch` (from 0)."""
    if epoch < hold:
        return peak
    # after a hold, each epoch of the decay takes the rate of its middle (a short decay would
    # otherwise spend its first epoch at the peak, held already); a fixed count starts at the peak
    into = epoch - hold + (0.5 if hold else 0.0)
    return peak * 0.5 * (1 + math.cos(math.pi * into / max(1, epochs - hold)))


def decay_length(held: int) -> int:
    return max(MIN_DECAY, math.ceil(DECAY * held))


def Schedule(keras: Any, plan: Plan, peak: float, monitor: str, stopping: Any, state: Path | None) -> Any:
    """Sets each epoch's rate; for a converging plan, watches `monitor` and, once it has
    converged (or when only the decay still fits in `plan.epochs`), sets `plan.hold` and shrinks
    `plan.epochs` to the end of the decay. Early stopping (`stopping`) keeps the best epoch of
    the decay. With a `state` file (beside the network's backup), what it has seen survives an
    interruption, so a resumed run follows the same schedule."""
    # The loss too: on a few hundred validation rows accuracy moves in coarse steps and can
    # stall for three epochs while the loss still falls (4k digits: docs/avx2.md).
    watched = (monitor,) if monitor == "val_loss" else (monitor, "val_loss")

    class Callback(keras.callbacks.Callback):
        seen: dict[str, list[float]] = {}  # each watched score so far, higher is better

        def on_train_begin(self, logs: Any = None) -> None:
            self.seen = {}
            if state is not None and state.exists():
                try:
                    kept = json.loads(state.read_text())
                    self.seen, plan.hold, plan.epochs = dict(kept["seen"]), kept["hold"], kept["epochs"]
                except (ValueError, KeyError, TypeError):
                    self.seen = {}
            self._watch()

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.model.optimizer.learning_rate.assign(rate(peak, epoch, plan.hold, plan.epochs))

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if plan.converging and plan.hold >= plan.epochs:  # still holding the peak rate
                for name in watched:
                    score = (logs or {}).get(name)
                    if score is not None:
                        self.seen.setdefault(name, []).append(float(-score if name == "val_loss" else score))
                done = epoch + 1
                if self._converged() or done + decay_length(done) >= plan.epochs:
                    plan.hold, plan.epochs = done, min(plan.epochs, done + decay_length(done))
            self._watch()
            if state is not None:
                tmp = state.with_suffix(".tmp")
                tmp.write_text(json.dumps({"seen": self.seen, "hold": plan.hold, "epochs": plan.epochs}))
                os.replace(tmp, state)

        def _converged(self) -> bool:
            return bool(self.seen) and all(
                len(scores) > PATIENCE and max(scores[-PATIENCE:]) <= max(scores[:-PATIENCE])
                for scores in self.seen.values())

        def _watch(self) -> None:
            """Early stopping judges the decay (for a fixed plan, its second half) only."""
            if stopping is not None:
                stopping.start_from_epoch = plan.hold if plan.converging else plan.epochs // 2

    return Callback()
