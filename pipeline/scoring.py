"""How a model's predictions on held-out rows are scored, for both engines' validate stages:
the competition's metric and what shows the task best (pipeline.stages.validate says which)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as sk

from pipeline.task import Task


def held_out(truth: np.ndarray, raw: np.ndarray, task: Task, classes: np.ndarray,
             cuts: np.ndarray | None) -> dict[str, np.ndarray]:
    """The metric and its score, the row count and, by the task, per-class scores and the
    confusion matrix, or a regression's errors, of the model's `raw` output on rows whose
    answers are `truth` (class codes, or the target in its own units)."""
    predicted = in_target_units(task, raw)
    result = {
        "metric": np.array(task.metric),
        "score": np.array(task.score(truth, predicted, cuts)),
        "classes": classes,
        "n_val": np.array(len(truth)),
        **(_regression(truth, predicted) if task.regression else
           _classification(truth, predicted, task, len(classes), cuts)),
    }
    if task.positive:
        result["positive"] = np.array(task.positive)
    if cuts is not None:
        result["cuts"] = cuts
    return result


def in_target_units(task: Task, raw: np.ndarray) -> np.ndarray:
    """Class probabilities (or qwk's numbers) as they are; a regression's predictions in the
    target's own units."""
    return task.decode_target(raw[:, 0].astype(np.float64)) if task.regression else raw


def _classification(truth: np.ndarray, predicted: np.ndarray, task: Task, n_classes: int,
                    cuts: np.ndarray | None) -> dict[str, np.ndarray]:
    """The labels as the submission decides them (the best of a ranking), scored per class;
    for probabilities also their log loss, and a binary task's ROC curve of its positive class."""
    labels = np.arange(n_classes)
    chosen = task.decide(predicted, cuts)
    chosen = chosen[:, 0] if chosen.ndim == 2 else chosen
    result = {
        "accuracy": np.array(sk.accuracy_score(truth, chosen)),
        "precision": sk.precision_score(truth, chosen, labels=labels, average=None, zero_division=0),
        "recall": sk.recall_score(truth, chosen, labels=labels, average=None, zero_division=0),
        "confusion": sk.confusion_matrix(truth, chosen, labels=labels),
    }
    if task.learns_numbers:  # qwk: no probabilities, the decided class is certain
        result["probs"] = np.eye(n_classes, dtype=np.float32)[chosen]
        return result
    result.update(log_loss=np.array(Task("multiclass", "logloss", "").score(truth, predicted)),
                  probs=predicted.astype(np.float32))
    if task.kind == "binary" and len(np.unique(truth)) == 2:
        fpr, tpr, _ = sk.roc_curve(truth, predicted[:, 1])
        result.update(roc_fpr=fpr.astype(np.float32), roc_tpr=tpr.astype(np.float32),
                      auc=np.array(sk.roc_auc_score(truth, predicted[:, 1])))
    return result


def _regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "rmse": np.array(np.sqrt(sk.mean_squared_error(truth, predicted))),
        "mae": np.array(sk.mean_absolute_error(truth, predicted)),
        "r2": np.array(sk.r2_score(truth, predicted)),
        "predicted": predicted.astype(np.float64),
        "truth": truth.astype(np.float64),
    }
