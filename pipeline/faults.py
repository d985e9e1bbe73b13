"""Fault injection for the crash tests: PIPELINE_FAULT=<point> kills the process with SIGKILL
when it reaches that point, as a power cut would. Points: `read` (a CSV's first chunk is
read), `write:<file name>` (the file's temporary copy is written but not yet renamed),
`epoch` (the first epoch ended), `epoch:<label>` (the epoch labelled so ended, e.g.
`epoch:net 2/3 epoch 1/5`), a stage's name (`validate`: the stage starts) and `partition`
(a cluster's worker has encoded a block of a CSV, and not yet saved it)."""

from __future__ import annotations

import os
import signal

VARIABLE = "PIPELINE_FAULT"


def point(name: str) -> None:
    if os.environ.get(VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
