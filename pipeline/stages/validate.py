"""Validate: the trained model (before any refit) on the held-out rows, or a table's fold
models each on the fold it did not train on (every row, out of fold) -> the competition's
metric, and what shows the task best: for classes accuracy, log loss, per-class precision and
recall and the confusion matrix of the labels as the submission decides them (at the model's
cut points; the first of a ranking), and the ROC curve of a binary task's positive class; for
a regression RMSE, MAE, R² and the predictions (for the residual plots). For tables, also permutation importance per
original column (a date's parts move together)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline import learners, models, scoring
from pipeline.hooks import QUIET, Hooks
from pipeline.task import Task

if TYPE_CHECKING:
    from pipeline.config import PredictParams

LEADERBOARD = ("candidates", "candidate_scores", "candidate_spread", "candidate_seconds", "blend_parts",
               "blend_weights")
MAX_IMPORTANCE_COLUMNS = 200  # beyond this, permuting each column costs more than the report is worth
IMPORTANCE_REPEATS = 3
IMPORTANCE_ROWS = 2000  # validation rows the permutations are scored on, at most
MISTAKES = 5  # wrong rows shown with their text
TEXT_SHOWN = 300  # characters of each


READS = {"ingest": ("y", "classes", "task", "feature_columns", "text", "text_columns"), "preprocess": ("x",),
         "split": ("val_idx",), "train": "model"}  # "model": all of train's arrays, as `model`
PER_TARGET = True


def validate(
    x: np.ndarray,
    y: np.ndarray,
    val_idx: np.ndarray,
    model: dict[str, np.ndarray],
    classes: np.ndarray,
    params: PredictParams | None = None,
    task: Task | None = None,
    feature_columns: np.ndarray | None = None,
    text: np.ndarray | None = None,
    text_columns: np.ndarray | None = None,
    hooks: Hooks = QUIET,
) -> dict[str, np.ndarray]:
    """Validation metrics of `model` on rows `val_idx`; `params.tta` as in models.predict_proba;
    `feature_columns` names the original column of each feature (for the importance); `text`
    holds every row's text columns (named `text_columns`), for a model that reads them."""
    task = task or Task("multiclass", "accuracy", "label")
    cuts = model["cuts"] if "cuts" in model else None
    if "oof" in model:  # folds: every row, predicted by the fold model that did not train on it
        rows, raw = np.arange(len(y)), model["oof"]
    else:
        rows, raw = val_idx, models.predict_proba(model, x[val_idx], hooks.predicting, final=False,
                                                  tta=bool(params and params.tta), text=_rows(text, val_idx))
    truth = y[rows]
    result = scoring.held_out(truth, raw, task, classes, cuts)
    predicted = scoring.in_target_units(task, raw)
    if "candidates" in model:  # a table's models, each scored on these rows by train: the leaderboard
        result.update({k: model[k] for k in LEADERBOARD if k in model}, kept=model["arch"])
    if x.ndim == 2 and feature_columns is not None and len(set(feature_columns)) <= MAX_IMPORTANCE_COLUMNS:
        # a bagged model's fold-0 model on fold 0's rows (the validation rows), which it never saw
        judged = models.first_member(model) if "oof" in model else model
        names, mean, std = _importance(judged, x[val_idx], y[val_idx], task, feature_columns, cuts,
                                       _rows(text, val_idx), [str(c) for c in (text_columns if text is not None else ())])
        result.update(importance_columns=names, importance_mean=mean, importance_std=std)
    if text is not None:  # what the text model learned, and where the model was most sure and wrong
        names = [str(c) for c in text_columns] if text_columns is not None else []
        text_model = models.part_of(model, "text")
        if text_model is not None:
            result.update(learners.get("text").explain(text_model, names, [str(c) for c in classes]))
        result.update(_mistakes(truth, predicted, task, classes, cuts, text[rows]))
    return result


def _mistakes(truth: np.ndarray, predicted: np.ndarray, task: Task, classes: np.ndarray, cuts: np.ndarray | None,
              text: np.ndarray) -> dict[str, np.ndarray]:
    """The MISTAKES wrong rows the model was surest of (a regression's largest errors), with
    their text (columns joined by " | ", cut at TEXT_SHOWN characters)."""
    if task.regression:
        sureness = np.abs(predicted - truth)
        wrong = np.argsort(-sureness, kind="stable")[:MISTAKES]
        said, meant = [f"{v:.4g}" for v in predicted[wrong]], [f"{v:.4g}" for v in truth[wrong]]
    else:
        chosen = task.decide(predicted, cuts)
        chosen = chosen[:, 0] if chosen.ndim == 2 else chosen
        probabilities = predicted.ndim == 2 and predicted.shape[1] == len(classes)  # not qwk's numbers
        sureness = predicted[np.arange(len(chosen)), chosen] if probabilities else np.ones(len(chosen))
        candidates = np.flatnonzero(chosen != truth)
        wrong = candidates[np.argsort(-sureness[candidates], kind="stable")][:MISTAKES]
        said, meant = [str(classes[c]) for c in chosen[wrong]], [str(classes[c]) for c in truth[wrong]]
    shown = [" | ".join(row)[:TEXT_SHOWN] for row in text[wrong]]
    return {"wrong_text": np.array(shown, dtype=str), "wrong_predicted": np.array(said, dtype=str),
            "wrong_truth": np.array(meant, dtype=str), "wrong_sureness": sureness[wrong].astype(np.float32)}


def _rows(text: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if text is None else text[rows]


def _importance(model: dict[str, np.ndarray], x: np.ndarray, truth: np.ndarray, task: Task,
                feature_columns: np.ndarray, cuts: np.ndarray | None, text: np.ndarray | None = None,
                text_columns: list[str] | tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How much the metric worsens when one original column's values are shuffled (all its
    features, and a text column's strings, with the same permutation). Every shuffled copy is
    predicted in one call."""
    rng = np.random.default_rng(0)
    if len(x) > IMPORTANCE_ROWS:
        rows = np.sort(rng.choice(len(x), IMPORTANCE_ROWS, replace=False))
        x, truth, text = x[rows], truth[rows], _rows(text, rows)
    names = list(dict.fromkeys(str(c) for c in feature_columns))
    copies, text_copies = [], []
    for name in names:
        features = [i for i, c in enumerate(feature_columns) if str(c) == name]
        for _ in range(IMPORTANCE_REPEATS):
            order = rng.permutation(len(x))
            shuffled = x.copy()
            shuffled[:, features] = x[order][:, features]
            copies.append(shuffled)
            if text is not None:
                strings = text.copy()
                if name in text_columns:
                    strings[:, text_columns.index(name)] = text[order, text_columns.index(name)]
                text_copies.append(strings)
    every = None if text is None else np.concatenate([text, *text_copies])
    predicted = scoring.in_target_units(task, models.predict_proba(model, np.concatenate([x, *copies]), final=False,
                                                            text=every))
    n = len(x)
    base = task.score(truth, predicted[:n], cuts)
    sign = 1.0 if task.better(1.0, 0.0) else -1.0  # positive: the metric got worse without the column
    drops = np.array([sign * (base - task.score(truth, predicted[n * (k + 1):n * (k + 2)], cuts))
                      for k in range(len(copies))]).reshape(len(names), IMPORTANCE_REPEATS)
    return np.array(names, dtype=str), drops.mean(axis=1).astype(np.float32), drops.std(axis=1).astype(np.float32)
