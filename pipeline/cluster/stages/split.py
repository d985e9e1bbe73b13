"""Split on a cluster: one held-out share of train.csv's rows, each row held out or not by a
draw from its hash and the seed (pipeline.cluster.parts.draw), so the same rows are held out
whichever partition holds them and however often it runs. Returns the rule and each
partition's counts; train and validate apply the rule to the rows themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.cluster import parts
from pipeline.cluster.client import connect
from pipeline.hooks import QUIET, Hooks

if TYPE_CHECKING:
    from pipeline.config import SplitParams

READS = {"ingest": ("train_parts",)}


def split(train_parts: np.ndarray, params: SplitParams, hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """`val_fraction` and `seed` (the rule), and each partition's `val_rows` and `fit_rows`."""
    client = connect(hooks.cluster, hooks.info)
    counts = np.array(parts.gather(client, list(train_parts), _counts, params.val_fraction, params.seed,
                                   progress=hooks.progress, task="splitting"), dtype=np.int64).reshape(-1, 2)
    held, total = int(counts[:, 0].sum()), int(counts.sum())
    folds = f" (--folds {params.folds} is for one process)" if params.folds > 1 else ""
    hooks.info(f"one held-out split of {held:,} of {total:,} rows, drawn by each row's hash (--val-fraction "
               f"{params.val_fraction}){folds}")
    return {"val_fraction": np.array(params.val_fraction), "seed": np.array(params.seed, dtype=np.int64),
            "val_rows": counts[:, 0], "fit_rows": counts[:, 1]}


def _counts(part: str, val_fraction: float, seed: int) -> tuple[int, int]:
    held = parts.held_out(parts.load(part, (parts.HASH,))[parts.HASH], val_fraction, seed)
    return int(held.sum()), int((~held).sum())
