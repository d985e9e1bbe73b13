"""The Keras callbacks a network trains with: early stopping on validation accuracy, backups
after every epoch that survive a damaged file or a full disk, and progress reports that also
fit the epochs to a time budget. Each is built from the `keras` module it is given, so Keras
is loaded only when a network trains.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from pipeline.training.distribute import mean_over_workers
from pipeline.training.plan import Plan


def early_stopping(keras: Any, epochs: int, n_val: int, monitor: str = "val_accuracy") -> Any:
    """Keras' EarlyStopping on validation accuracy (or, with `monitor` "val_loss", on the
    loss: the lowest so far is the best, for metrics that score probabilities or numbers), judged
    only in the second half of the decay (pipeline.training.schedule keeps `start_from_epoch`
    there): earlier, high-rate epochs are never the ones to keep, and stopping there would skip
    the low-rate epochs that gain most. An epoch within one standard error (sqrt(p (1 - p) /
    n_val)) of the best accuracy so far counts as good as the best: epochs closer than that are
    a coin toss on `n_val` rows, and the later one has trained at a lower rate. Training stops after `patience` epochs in a row below that, and the latest good
    epoch's weights are restored.

    Not validation loss: it bottoms out while accuracy still climbs, and on Fashion-MNIST it
    kept epoch 12 of 22 (0.9319 on test, where epoch 21 scores 0.9397). Nor the highest
    accuracy alone: it kept epoch 18 of 22 for 0.0016 more on validation (0.9361 on test,
    against epoch 22's 0.9402), and on 400 rows, where accuracy moves in steps of 0.0025, it
    stopped a 100-epoch run at epoch 77 on a plateau."""

    class Callback(keras.callbacks.EarlyStopping):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            current = (logs or {}).get(self.monitor)
            if current is None or epoch < self.start_from_epoch:
                return
            if monitor == "val_loss":
                good = self.best is None or current <= self.best
                self.best = current if self.best is None else min(self.best, current)
            else:
                self.best = current if self.best is None else max(self.best, current)
                good = current >= self.best - math.sqrt(self.best * (1 - self.best) / n_val)
            if good:
                self.best_epoch, self.best_weights, self.wait = epoch, self.model.get_weights(), 0
            else:
                self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    return Callback(monitor=monitor, patience=max(3, epochs // 4), restore_best_weights=True,
                    start_from_epoch=epochs // 2)


def BackupAndRestore(keras: Any, folder: Path) -> Any:
    """Keras' BackupAndRestore, except that a backup it cannot load means starting over, and
    that a disk too full for the next backup is an OSError before h5py starts writing (which,
    once it runs out of space, can take the process down with it)."""

    class Callback(keras.callbacks.BackupAndRestore):
        def on_train_begin(self, logs: Any = None) -> None:
            fresh = self.model.get_weights()
            try:
                super().on_train_begin(logs)
            except Exception:  # noqa: BLE001 - any unreadable backup: train from the start
                self.model.set_weights(fresh)
                self.model._initial_epoch = None
                shutil.rmtree(folder, ignore_errors=True)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            # weights and Adam's two moments, in the new backup and the previous one, with room
            needed = 8 * sum(w.nbytes for w in self.model.get_weights())
            existing = next(p for p in (folder, *folder.parents) if p.exists())
            if shutil.disk_usage(existing).free < needed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
            super().on_epoch_end(epoch, logs)

    return Callback(str(folder), double_checkpoint=True)


def ProgressAndBudget(keras: Any, plan: Plan, steps: int) -> Any:
    """Reports batches and epochs; with a time budget, times the first epoch and shrinks
    `plan.epochs` (which the learning-rate schedule and early stopping follow) to what fits.
    Ends training after `plan.epochs`, which the schedule may also shrink."""

    class Callback(keras.callbacks.Callback):
        epoch, started, validated = 0, 0.0, ""

        def on_train_begin(self, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if plan.on_batch:  # one bar over all epochs, so its time left is the network's
                running = "".join(f"  {name} {float(logs[key]):.4f}" for key, name in
                                  (("loss", "loss"), ("accuracy", "acc")) if key in (logs or {}))
                plan.on_batch(f"{plan.label}training", (self.epoch - 1) * steps + batch + 1, plan.epochs * steps,
                              f"epoch {self.epoch}/{plan.epochs}{running}{self.validated}")

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if plan.budget and epoch == 0:
                per_epoch = time.perf_counter() - self.started
                if plan.multi_worker:  # every worker must stop after the same epoch
                    per_epoch = mean_over_workers(plan.strategy, per_epoch)
                plan.epochs = max(1, min(plan.epochs, int(plan.budget // per_epoch)))
            for key, name in (("val_accuracy", "val_acc"), ("val_loss", "val_loss")):
                if key in (logs or {}):
                    self.validated = f"  {name} {float(logs[key]):.4f}"
                    break
            if plan.on_epoch:
                shown = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
                plan.on_epoch(f"{plan.label}epoch {epoch + 1}/{plan.epochs}", shown)
            if epoch + 1 >= plan.epochs:
                self.model.stop_training = True

    return Callback()
