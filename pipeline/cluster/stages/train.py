"""Train on a cluster: the learner that trains on Dask (`lgbm`, whose `cluster` flag says so)
fitted on the rows the split did not hold out, each worker loading the partitions it then
trains on, and kept at the iteration that scored best on a sample of the held-out rows.
When those rows would not fit in the workers' memory, it trains on as many as fit, drawn by
each row's hash, and says so. Under --model auto, where the preset trains the network for
tables on a large table, the network then trains in this process (the single-process train
stage) on as many training rows as one worker would hold, drawn by hash, and the two are
blended on the held-out sample by greedy ensemble selection, as one process blends its
learners; the blend is kept when it scores better than LightGBM alone."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import learners, models
from pipeline.cluster import parts
from pipeline.cluster.client import connect, worker_memory
from pipeline.errors import PipelineError
from pipeline.hooks import QUIET, Hooks
from pipeline.learners.base import Job
from pipeline.learners.blend import blend, select
from pipeline.learners.table_net import TableNet
from pipeline.presets import PRESETS, TABLE_ROWS_SEEN
from pipeline.task import Task
from pipeline.training.plan import CLASSES, Plan

if TYPE_CHECKING:
    from pipeline.config import TrainParams
    from pipeline.schema import Schema

READS = {"ingest": ("train_parts", "classes", "task", "schema"),
         "split": ("val_fraction", "seed", "val_rows", "fit_rows")}
MEMORY_SHARE = 0.25  # of the workers' memory that training's rows may take, at ROW_COPIES per row
ROW_COPIES = 3  # the partitions' arrays, LightGBM's copy of them, and its binned dataset and more
STOP_ROWS = 500_000  # held-out rows, at most, that the iterations are scored on
SAMPLED, STOPPING, NETWORK = 1, 2, 3  # what parts.draw draws for


def train(train_parts: np.ndarray, classes: np.ndarray, val_fraction: np.ndarray, seed: np.ndarray,
          val_rows: np.ndarray, fit_rows: np.ndarray, params: TrainParams, task: Task = CLASSES,
          schema: Schema | None = None, hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """The trained model's arrays (pipeline.models), as the single-process train stage keeps
    one learner's, with the iterations kept as `best_epoch`."""
    name = "lgbm" if params.model == "auto" else params.model
    learner = learners.get(name)
    if not learner.cluster:
        raise PipelineError(f"--model {name} trains in one process; with --cluster use --model lgbm (or auto)")
    client = connect(hooks.cluster, hooks.info)
    n_features = len(schema.feature_names) if schema is not None else 0
    workers = max(1, len(client.scheduler_info()["workers"]))
    fitting, held = int(fit_rows.sum()), int(val_rows.sum())
    most = int(worker_memory(client) * workers * MEMORY_SHARE / (4 * (n_features + 2) * ROW_COPIES))
    share, stop_share = min(1.0, most / max(fitting, 1)), min(1.0, STOP_ROWS / max(held, 1))
    if share < 1:
        hooks.info(f"training on about {most:,} of the {fitting:,} training rows, drawn by each row's hash: as many "
                   f"as {workers} worker(s) of {worker_memory(client) / 2**30:.1f} GB hold (more workers, or more "
                   f"memory each, train on more)")
    rule = (float(val_fraction), int(seed), share, stop_share, task)
    pieces = client.persist([_delayed(_rows, part, *rule) for part in train_parts])
    sizes = client.compute([_delayed(_sizes, piece) for piece in pieces], sync=True)
    learnt = np.float32 if task.learns_numbers else np.int64
    x, y = _stacked(pieces, sizes, 0, n_features, learnt)
    x_stop, y_stop = _stacked(pieces, sizes, 1, n_features, learnt)
    if not x.shape[0] or not x_stop.shape[0]:
        raise PipelineError(f"too few rows to train on and stop on ({x.shape[0]} and {x_stop.shape[0]}); "
                            f"use a larger --val-fraction, or run without --cluster")
    n_outputs = 1 if task.learns_numbers else len(classes)
    spec = {"names": np.array(schema.feature_names, dtype=str), "kinds": np.array(schema.feature_kinds, dtype=str)} \
        if schema is not None else None
    plan = Plan(0, None, hooks.epoch, hooks.progress, task=task, spec=spec)
    network = params.model == "auto" and TableNet.name in (PRESETS[params.preset].large_table or learners.TABLE)
    alone = " (the one learner that trains on a cluster; --cluster '' blends every learner in one process)" \
        if params.model == "auto" and not network else ""
    hooks.info(f"{learner.name} on {x.shape[0]:,} rows across {workers} worker(s), stopping on {x_stop.shape[0]:,}"
               f"{alone}")
    net, history, iterations = learner.fit_cluster(x, y, x_stop, y_stop, Job(n_outputs, params, 0.0, params.seed, plan,
                                                                               learner.name))
    result = models.to_arrays(learner.name, (n_features,), n_outputs, 0.0, [net], [], spec)
    result.update(best_epoch=np.array(iterations, dtype=np.int64),
                  **{f"history_{k}": np.array(v, dtype=np.float32) for k, v in history.items()})
    stop_rows, stop_answers = x_stop.compute(), _gathered(client, pieces)
    if network:  # trained here, by the single-process stage, on rows the workers draw by hash
        from pipeline.stages.train import train as train_here

        most = min(TABLE_ROWS_SEEN, int(worker_memory(client) * MEMORY_SHARE / (4 * (n_features + 2) * ROW_COPIES)))
        drawn = client.compute([_delayed(_network_rows, part, float(val_fraction), int(seed), min(1.0, most / fitting))
                                for part in train_parts], sync=True)
        rows = np.concatenate([x for x, _ in drawn] + [stop_rows])
        answers = np.concatenate([y for _, y in drawn] + [stop_answers])
        n = len(rows) - len(stop_rows)
        hooks.info(f"the network for tables, here, on {n:,} of the {fitting:,} training rows, drawn by each row's "
                   f"hash: as many as one worker holds (--model lgbm, or --preset fast, trains LightGBM alone)")
        trained = train_here(rows, answers, np.arange(n), np.arange(n, len(rows)), classes,
                             dataclasses.replace(params, model=TableNet.name), task=task, schema=schema, hooks=hooks)
        result = _blended({learner.name: result, TableNet.name: trained}, stop_rows, stop_answers, task, hooks)
    if task.needs_cuts:  # F1's threshold or qwk's cuts, fitted on the rows it stopped on
        result["cuts"] = task.fit_cuts(stop_answers, models.predict_proba(result, stop_rows))
    return result


def _blended(candidates: dict[str, dict[str, np.ndarray]], stop_rows: np.ndarray, stop_answers: np.ndarray,
             task: Task, hooks: Hooks) -> dict[str, np.ndarray]:
    """The blend of the `candidates` (the first's history kept), weighted by greedy ensemble
    selection on the held-out sample, when it scores better there than each alone; else the
    best alone."""
    predictions = {name: models.predict_proba(model, stop_rows) for name, model in candidates.items()}

    def score(p: np.ndarray) -> float:
        return task.score(stop_answers, task.decode_target(p[:, 0]) if task.regression else p)

    weights, blended = select(predictions, score, task.better)
    scores = ", ".join(f"{name} {score(p):.4f}" for name, p in predictions.items())
    if len(weights) == 1:
        kept = next(iter(weights))
        hooks.info(f"kept {kept} (held-out {task.metric}: {scores})")
        return candidates[kept]
    hooks.info(f"kept blend of {', '.join(f'{p} {w:.2f}' for p, w in weights.items())} (held-out {task.metric}: "
               f"{scores}, blend {blended:.4f})")
    first = next(iter(candidates.values()))
    return {**{k: v for k, v in first.items() if k == "best_epoch" or k.startswith("history_")},
            **blend({name: candidates[name] for name in weights}, weights)}


def _network_rows(part: str, val_fraction: float, seed: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """On a worker: one partition's training rows that the network's sample draws (x, y as it is)."""
    arrays = parts.load(part, ("x", "y", parts.HASH))
    hashes = arrays[parts.HASH]
    keep = ~parts.held_out(hashes, val_fraction, seed) & parts.sampled(hashes, share, seed, NETWORK)
    return arrays["x"][keep], arrays["y"][keep]


def _rows(part: str, val_fraction: float, seed: int, share: float, stop_share: float,
          task: Task) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """On a worker: one partition's training rows (x, y as learnt) and the held-out rows it
    stops on (x, y as learnt, y as it is)."""
    arrays = parts.load(part, ("x", "y", parts.HASH))
    hashes, y = arrays[parts.HASH], arrays["y"]
    learnt = task.encode_target(y).astype(np.float32) if task.learns_numbers else y
    held = parts.held_out(hashes, val_fraction, seed)
    fit = ~held & parts.sampled(hashes, share, seed, SAMPLED)
    stop = held & parts.sampled(hashes, stop_share, seed, STOPPING)
    return arrays["x"][fit], learnt[fit], arrays["x"][stop], learnt[stop], y[stop]


def _sizes(piece: tuple[np.ndarray, ...]) -> tuple[int, int]:
    return len(piece[1]), len(piece[3])


def _stacked(pieces: list[Any], sizes: list[tuple[int, int]], which: int, n_features: int,
             learnt: type) -> tuple[Any, Any]:
    """The Dask arrays (x, y) of the training rows (`which` 0) or those it stops on (1), one
    chunk per partition that has any, each left on the worker that loaded it."""
    import dask.array as da

    xs, ys = [], []
    for piece, size in zip(pieces, sizes):
        if size[which]:
            xs.append(da.from_delayed(piece[2 * which], shape=(size[which], n_features), dtype=np.float32))
            ys.append(da.from_delayed(piece[2 * which + 1], shape=(size[which],), dtype=learnt))
    if not xs:
        return da.zeros((0, n_features), dtype=np.float32), da.zeros((0,), dtype=learnt)
    return da.concatenate(xs), da.concatenate(ys)


def _gathered(client: Any, pieces: list[Any]) -> np.ndarray:
    """The held-out rows' targets as they are, in the partitions' order."""
    return np.concatenate(client.compute([piece[4] for piece in pieces], sync=True))


def _delayed(function: Any, *args: Any) -> Any:
    import dask

    return dask.delayed(function, pure=True)(*args)
