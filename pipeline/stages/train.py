"""Train: fit the learners (pipeline.learners) a task and its data get on the split or folds,
and return the kept model as cache arrays (see pipeline.models.to_arrays).

Images get the augmented CNN, on one held-out split. Tables get every table learner (the
network for tables and gradient boosting), each trained once per fold: each fold's model stops
early on its own fold and predicts the rows it never trained on (`oof`), and the learners are
then blended on those out-of-fold predictions of every row by greedy ensemble selection
(pipeline.learners.blend); the stage keeps the blend when it scores the task's metric better
than the best learner alone, else that learner; with the score of each, its spread over the
folds and its seconds (the leaderboard). Where a table has text columns, the text model trains
first, and each boosting learner trains twice: as it is, and reading the text model's
out-of-fold scores as extra columns (stacking, pipeline.learners.stack; named `cat+text`);
the blend chooses between them, and one that keeps a stacked learner keeps the text model
too, at weight 0 if the selection gave it none. A model predicts test rows as the mean of its fold
models. On one held-out split instead, boosting is refit on train + val for the iterations
validation chose, up to LARGE_TABLE training rows (pipeline.presets; past it, the fast preset
also trains only its `large_table` learners). Metrics whose labels need cut points (binary F1's threshold, qwk's cuts;
pipeline.cuts) get them fitted to the kept model on the rows it is judged on, stored as `cuts`.
Keras networks learn under a cosine learning-rate decay over the epochs --epochs (or the
preset, from the number of training rows) fixes (pipeline.training.schedule), which
--time-budget may shorten; early stopping restores the best weights of the decay. An
ensemble trains several seeds and averages their outputs; --refit retrains each on train +
val for the epoch count validation chose. Keras networks train under a tf.distribute strategy
(--strategy), with the user's batch size as the global batch split across the replicas.
How each learner fits lives in pipeline.learners and pipeline.training; past LARGE_TABLE
training rows a learner whose library keeps memory after fitting (CatBoost) fits in a process
of its own (pipeline.training.apart), which hands all of it back when it ends. This module
keeps the member/fold/refit loop and the choice between learners. TensorFlow is imported
inside the functions.
"""

from __future__ import annotations

import copy
import ctypes
import dataclasses
import functools
import gc
import importlib.util
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline import learners, models, tabular, texts
from pipeline.learners import stack
from pipeline.errors import PipelineError
from pipeline.hooks import QUIET, Hooks
from pipeline.learners.blend import Blend, blend, select
from pipeline.training.apart import fitted_apart
from pipeline.training.augment import augmentation_strength
from pipeline.parse import parse_duration
from pipeline.presets import LARGE_TABLE, PRESETS
from pipeline.schema import NUMERIC, Schema
from pipeline.task import Task
from pipeline.training.distribute import distribution
from pipeline.training.plan import CLASSES, Plan, label
from pipeline.training.precision import training_precision

if TYPE_CHECKING:
    from pipeline.config import TrainParams

RECORD = ("best_epoch", "precision", "strategy", "replicas")  # how a network trained, for the runner and report
READS = {"ingest": ("y", "classes", "task", "schema", "text"), "preprocess": ("x",),
         "split": ("train_idx", "val_idx", "folds")}
PER_TARGET = True  # each target trains its own models (pipeline.targets)


def train(
    x: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    classes: np.ndarray,
    params: TrainParams,
    task: Task = CLASSES,
    schema: Schema | None = None,
    folds: np.ndarray | None = None,
    text: np.ndarray | None = None,
    hooks: Hooks = QUIET,
) -> dict[str, np.ndarray]:
    """Fit on `train_idx`, choose epochs (and, for a table, the model) on `val_idx`; with
    `params.refit`, refit on both. With `folds` (each row's fold, a table's), every model
    trains once per fold instead, stopping early on that fold's rows; the model is chosen on
    the predictions each row got from the models that did not train on it (kept as `oof`),
    and predicts as the mean of its fold models. `classes` are the class names (none for a
    regression).

    `hooks.epoch(label, logs)` hears of each epoch, where `label` reads like "net 2/3 epoch
    4/20"; `hooks.progress(task, done, total, detail)` of each batch, counted over all of a
    network's epochs, with the running loss and accuracy in `detail`. With a
    `hooks.checkpoints` folder, each Keras network backs up its state there after every
    epoch and a finished one keeps its weights there, so an interrupted call resumes where it
    stopped; the caller removes the folder afterwards. With a `hooks.tensorboard` folder, each
    Keras network writes TensorBoard logs into a subfolder named after it (net0, refit0, ...);
    they change nothing in what is returned. A table's columns are described by `schema`
    (plain numeric columns without one); its text columns' strings, (n, columns), are
    `text`, which the learners that read text fit on.
    """
    started = time.perf_counter()
    n_classes = len(classes)
    checkpoints, tensorboard = hooks.checkpoints, hooks.tensorboard
    if tensorboard is not None and importlib.util.find_spec("tensorboard") is None:
        raise PipelineError("--tensorboard needs the tensorboard package: pip install tensorboard")
    preset = PRESETS[params.preset]
    large = preset.large_table if len(train_idx) > LARGE_TABLE else ()
    fitted = learners.chosen(params.model, x.ndim == 4, preset.image_model, text is not None, large)
    if large and params.model == "auto" and x.ndim != 4:
        hooks.info(f"{len(train_idx):,} training rows: the {params.preset} preset trains {', '.join(large)} alone "
                   f"on a table past {LARGE_TABLE:,} (--preset default for every learner)")
    if folds is None and len(train_idx) > LARGE_TABLE and not params.refit and not all(
            learners.get(n).keras for n in fitted):
        hooks.info(f"{len(train_idx):,} training rows: the estimators train once, not refit on the validation "
                   f"rows as well (--refit to refit them)")
    spec = None
    bagged = folds is not None
    held = np.arange(len(y)) if bagged else val_idx  # the rows a model is judged on
    truth = y[held]  # class codes, or the target in its own units
    if task.learns_numbers:
        y = task.encode_target(y).astype(np.float32)
        n_classes = 1
    if not all(learners.get(name).image for name in fitted):  # a table, or images taken as one
        flat = x.reshape(len(x), -1)
        names, kinds, vocabularies = _columns(schema, flat.shape[1])
        reading = text is not None and schema is not None and any(learners.get(n).keras for n in fitted)
        spec = tabular.spec(names, kinds, vocabularies, flat[train_idx], y[train_idx] if task.learns_numbers else None,
                            texts.columns(schema) if reading else None, text[train_idx] if reading else None)
    if tensorboard is not None:
        hooks.info(f"TensorBoard logs: {tensorboard} (view with: tensorboard --logdir {tensorboard.parent})")
    if checkpoints is not None and checkpoints.exists():
        hooks.info(f"resuming training from the checkpoints in {checkpoints}")
    plan = Plan(0, None, hooks.epoch, hooks.progress, tensorboard=tensorboard, task=task, spec=spec)
    splits = _splits(train_idx, val_idx, folds)
    if len(fitted) == 1:
        result = _fit(fitted[0], x, y, splits, n_classes, params, plan, checkpoints, bagged, text)
    else:
        result = _ensemble(fitted, x, y, truth, splits, n_classes, params, plan, checkpoints, bagged, text)
        hooks.info(f"kept {_kept(result)} (validation {result['metric']}: " + ", ".join(
            f"{name} {score:.4f}" for name, score in zip(result["candidates"], result["candidate_scores"])) + ")")
    if task.needs_cuts:  # F1's threshold or qwk's cuts, fitted to the kept model on the rows it is judged on
        result["cuts"] = task.fit_cuts(truth, _held_out(result, x, val_idx, text))
    if int(result["images_trained"]):
        seconds = float(result["images_seconds"]) if "images_seconds" in result else time.perf_counter() - started
        hooks.info(_throughput(result, spec is not None, seconds))
    return result


def _release_memory() -> None:
    """Give what the last learner freed back to the system, so the next one's peak does not
    stack on it: glibc keeps a freed heap for the process otherwise (on a 1,000,000-row table,
    CatBoost's 1.8 GB rose to 3.2 GB after the network)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _kept(result: dict[str, np.ndarray]) -> str:
    """The kept model, and a blend's weights: "blend of cat 0.62, hgb 0.30, mlp 0.08"."""
    parts = zip(result.get("blend_parts", ()), result.get("blend_weights", ()))
    return str(result["arch"]) + "".join(f"{' of ' if i == 0 else ', '}{p} {w:.2f}" for i, (p, w) in enumerate(parts))


def _throughput(result: dict[str, np.ndarray], rows: bool, seconds: float) -> str:
    """How fast the networks trained: rows (or images) per second, in which arithmetic; on
    images, which network."""
    what = "rows" if rows else "images"
    trained = int(result["images_trained"])
    arithmetic = f" in {result['precision']}" if "precision" in result else ""
    replicas = int(result["replicas"]) if "replicas" in result else 1
    spread = f" on {replicas} replicas ({result['strategy']})" if replicas > 1 else ""
    network = f" {result['arch']} (--model)" if not rows and "arch" in result else ""  # the preset's choice on images
    return f"trained{network} on {trained:,} {what} at {trained / max(seconds, 1e-9):,.0f} {what}/s{arithmetic}{spread}"


def _splits(train_idx: np.ndarray, val_idx: np.ndarray,
            folds: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows to fit, rows to stop early on) of each fold, or the one split."""
    if folds is None:
        return [(train_idx, val_idx)]
    return [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(int(folds.max()) + 1)]


def _held_out(result: dict[str, np.ndarray], x: np.ndarray, val_idx: np.ndarray,
              text: np.ndarray | None) -> np.ndarray:
    """A model's predictions on the rows it is judged on: out of fold, or on the validation rows."""
    if "oof" in result:
        return result["oof"]
    return models.predict_proba(result, x[val_idx], final=False, text=None if text is None else text[val_idx])


def _columns(schema: Schema | None, n_features: int) -> tuple[list[str], list[str], dict[str, tuple[str, ...]]]:
    if schema is None:
        return [f"f{i}" for i in range(n_features)], [NUMERIC] * n_features, {}
    return schema.feature_names, schema.feature_kinds, schema.vocabularies


def _fit(arch: str, x: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], n_classes: int,
         params: TrainParams, base: Plan, checkpoints: Path | None, bagged: bool = False,
         text: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """One learner's models: the ensemble's members on the one split, then their refits; or,
    `bagged`, a member per fold of `splits` and every row's prediction from the member that
    did not train on it (`oof`)."""
    train_idx, val_idx = splits[0]
    preset = PRESETS[params.preset]
    learner = learners.get(arch)
    # first: a multi-worker strategy must exist before TensorFlow runs any op
    strategy, strategy_name = distribution(params.strategy) if learner.keras else (None, "one")
    params = dataclasses.replace(params, precision=training_precision(params.precision, arch))
    # --epochs without --ensemble: one network, as the user sized it
    members = 1 if learner.image and params.epochs else preset.members(len(train_idx), learner.image)
    n_members = len(splits) if bagged else params.ensemble or members
    kind = "fold" if bagged else "net"
    splits = splits if bagged else splits * n_members
    budget = parse_duration(params.time_budget)
    plan = Plan(
        epochs=params.epochs or preset.epochs(len(train_idx), table=not learner.image),
        budget=budget / (n_members * (2 if params.refit and not bagged else 1)) if budget else None,
        on_epoch=base.on_epoch,
        on_batch=base.on_batch,
        strategy=strategy,
        multi_worker=strategy_name == "multi-worker",
        tensorboard=base.tensorboard,
        task=base.task,
        spec=base.spec,
    )
    augment = augmentation_strength(len(train_idx)) if learner.image else 0.0

    def job(name: str, m: int, epochs: int | None = None) -> learners.Job:
        return learners.Job(n_classes, params, augment, params.seed + m,
                            plan.labelled(label(name, m, n_members), epochs=epochs, name=f"{name}{m}"),
                            f"{name}{m}", checkpoints if learner.keras else None, text)

    # on a large table, a learner that keeps memory after fitting fits in a process of its own
    apart = learner.retains and len(train_idx) > LARGE_TABLE
    fit = functools.partial(fitted_apart, learner.fit, learner=arch) if apart else learner.fit
    members, histories, best_epochs = [], [], []
    for m, (fit_idx, stop_idx) in enumerate(splits):
        net, history, best = fit(x, y, fit_idx, stop_idx, job(kind, m))
        members.append(net)
        histories.append(history)
        best_epochs.append(best)
    images = sum(len(fit_idx) * len(h.get("loss", [])) for (fit_idx, _), h in zip(splits, histories))
    refit, extra = [], {}
    header = models.to_arrays(arch, x.shape[1:], n_classes, augment, [], [], base.spec)
    if bagged:
        oof = [learner.predict(header, [net], x[stop_idx], text=None if text is None else text[stop_idx])
               for net, (_, stop_idx) in zip(members, splits)]
        extra["oof"] = np.zeros((len(y), oof[0].shape[1]), dtype=np.float32)
        for predicted, (_, stop_idx) in zip(oof, splits):
            extra["oof"][stop_idx] = predicted
    elif params.refit or (not learner.keras and len(train_idx) <= LARGE_TABLE):  # an estimator's refit takes seconds
        everything = np.sort(np.concatenate([train_idx, val_idx]))
        for m, best in enumerate(best_epochs):
            net, refit_history, _ = fit(x, y, everything, None, job("refit", m, epochs=best))
            refit.append(net)
            images += len(everything) * len(refit_history.get("loss", []))
    return {
        **models.to_arrays(arch, x.shape[1:], n_classes, augment, members, refit, base.spec),
        **{f"history_{name}": np.asarray(v, dtype=np.float32) for name, v in histories[0].items()},
        "best_epoch": np.array(best_epochs[0]),
        "precision": np.array(params.precision),
        "strategy": np.array(strategy_name),
        "replicas": np.array(strategy.num_replicas_in_sync if strategy is not None else 1),
        "images_trained": np.array(images),  # epochs x rows, over all networks
        **extra,
    }


def _ensemble(names: tuple[str, ...], x: np.ndarray, y: np.ndarray, truth: np.ndarray,
              splits: list[tuple[np.ndarray, np.ndarray]], n_classes: int, params: TrainParams, plan: Plan,
              checkpoints: Path | None, bagged: bool, text: np.ndarray | None) -> dict[str, np.ndarray]:
    """A table: fit each learner of `names` on the same split (or folds), blend them by greedy
    ensemble selection on the rows they did not train on (`truth`), and keep the blend when it
    scores better than the best learner alone, else that learner (the first named on a tie)."""
    task = plan.task
    results, predictions, seconds = {}, {}, {}
    source = next((n for n in names if learners.get(n).text), None) if bagged else None  # what boosting stacks on
    candidates = []  # (name, learner, on the text): each learner, and each that stacks again on the text model
    # the text model first; networks after the other estimators, so that TensorFlow's heap comes after
    # their peaks
    for arch in sorted(names, key=lambda n: (n != source, learners.get(n).keras)):
        candidates.append((arch, arch, False))
        if source and learners.get(arch).stacks:
            candidates.append((f"{arch}+{source}", arch, True))
    for name, arch, on_text in candidates:
        rows, planned = x, plan
        if on_text:  # the text model's out-of-fold scores as more columns
            rows, planned = stack.widen(x, predictions[source]), copy.copy(plan)
            planned.spec = stack.widen_spec(plan.spec, predictions[source])
        started = time.perf_counter()
        results[name] = _fit(arch, rows, y, splits, n_classes, dataclasses.replace(params, model=arch), planned,
                             checkpoints, bagged, text)
        if on_text:
            results[name]["stacked_on"] = np.array(source)
        seconds[name] = time.perf_counter() - started
        predictions[name] = _held_out(results[name], rows, splits[0][1], text)
        results[name].pop("oof", None)  # kept once, for what is kept
        _release_memory()
    order = [n for arch in names for n in (arch, f"{arch}+{source}") if n in predictions]
    predictions = {n: predictions[n] for n in order}  # ties go to the learner named first
    folds = [held for _, held in splits] if bagged else [np.arange(len(truth))]  # positions in `truth`

    def score(p: np.ndarray, rows: np.ndarray | slice = slice(None)) -> float:
        return task.score(truth[rows], task.decode_target(p[rows, 0]) if task.regression else p[rows])

    scores = {name: score(p) for name, p in predictions.items()}
    weights, scores[Blend.name] = select(predictions, score, task.better)
    predictions[Blend.name] = sum(w * predictions[name] for name, w in weights.items())
    seconds[Blend.name] = sum(seconds.values())
    stacked = any("stacked_on" in results[n] for n in weights)
    if len(weights) > 1 or stacked:
        chosen = Blend.name
        kept_weights = {**weights, source: weights.get(source, 0.0)} if stacked else weights  # stacked parts read it
        network = next((results[n] for n in weights if learners.get(str(results[n]["arch"])).keras), {})  # the report's
        kept = {**{k: v for k, v in network.items() if k.startswith("history_") or k in RECORD},
                **blend({n: results[n] for n in kept_weights}, kept_weights)}
    else:
        chosen = next(iter(weights))
        kept = results[chosen]
    if bagged:
        kept["oof"] = predictions[chosen].astype(np.float32)
    with warnings.catch_warnings():  # a fold whose score is NaN (one class in it) is left out of the spread
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = [np.nanstd([score(predictions[name], rows) for rows in folds]) if len(folds) > 1 else np.nan
                  for name in scores]
    return {
        **kept,
        "images_trained": np.array(sum(int(r["images_trained"]) for r in results.values())),
        # the seconds of the learners that trained networks: what `images_trained` took
        "images_seconds": np.array(sum(seconds[n] for n, r in results.items() if int(r["images_trained"]))),
        # the leaderboard: each candidate's score on the rows it did not train on, its spread over
        # the folds (a standard deviation) and its training seconds
        "candidates": np.array(list(scores)),
        "candidate_scores": np.array(list(scores.values())),
        "candidate_spread": np.array(spread),
        "candidate_seconds": np.array([seconds[name] for name in scores]),
        "metric": np.array(task.metric),
    }
