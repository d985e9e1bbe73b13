"""What a running stage may tell the user, and where it may keep unfinished work: the runner
gives each stage one `Hooks`; called directly (tests, benchmarks), a stage gets QUIET."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

EpochHook = Callable[[str, dict[str, float]], None]  # (label like "net 2/3 epoch 4/20", the epoch's logs)
BatchHook = Callable[[str, int, int, str], None]  # (task, done, total, detail)


def _silent(*_: object) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    info: Callable[[str], None] = _silent  # a line of narration
    epoch: EpochHook = _silent  # a network finished an epoch
    progress: BatchHook = _silent  # long work advanced: batches, predictions
    checkpoints: Path | None = None  # where a stage backs up unfinished work, resumed after a kill
    tensorboard: Path | None = None  # where training writes TensorBoard logs (--tensorboard)
    parts: Path | None = None  # where a cluster stage writes its partitions (pipeline.cluster), kept with its entry
    cluster: str = ""  # the Dask scheduler a cluster stage runs on: local, or an address (--cluster)

    def predicting(self, done: int, total: int) -> None:
        self.progress("predicting", done, total, "")

    def named(self, prefix: str, folder: str) -> Hooks:
        """The hooks of one of several targets: its lines prefixed, its folders apart."""
        return replace(
            self,
            info=lambda line: self.info(prefix + line),
            epoch=lambda label, logs: self.epoch(prefix + label, logs),
            progress=lambda task, *rest: self.progress(prefix + task, *rest),
            checkpoints=self.checkpoints / folder if self.checkpoints else None,
            tensorboard=self.tensorboard / folder if self.tensorboard else None,
        )


QUIET = Hooks()
