"""The task: binary, multiclass or regression, and the competition's metric.

Decided once, at ingest, from the target column, the optional sample_submission.csv and the
`--task`/`--metric` options, then stored in ingest's cache entry as plain arrays. Every later
stage asks it: the model's head and loss, what early stopping watches, the score that picks
a model, and what the submission holds (labels, one probability, one per class, numbers).
numpy is imported by the functions that compute, so a fully cached run reads the task without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import numpy as np

TASKS = ("auto", "binary", "multiclass", "regression")
LABEL_METRICS = ("accuracy", "balanced_accuracy", "f1")
CLASSIFICATION_METRICS = (*LABEL_METRICS, "auc", "logloss")
REGRESSION_METRICS = ("rmse", "rmsle", "mae", "r2")
METRICS = ("auto", *CLASSIFICATION_METRICS, *REGRESSION_METRICS)
LOWER_IS_BETTER = ("logloss", "rmse", "rmsle", "mae")
MAX_CLASSES = 20  # whole numbers with more distinct values than this are a regression target
OUTPUTS = {"label": "labels", "probability": "a probability", "probabilities": "one probability per class",
           "number": "numbers"}
SKEWED = 0.75  # a positive target skewed more than this (the usual Kaggle rule) is scored and learned as its log


@dataclass(frozen=True)
class Task:
    """`output` is what the submission holds: "label", "probability" (of classes[1]),
    "probabilities" (one column per class) or "number"."""

    kind: str
    metric: str
    output: str

    @property
    def summary(self) -> str:
        """One line for the user, e.g. "task: binary, scored by auc; the submission holds a probability"."""
        return f"task: {self.kind}, scored by {self.metric}; the submission holds {OUTPUTS[self.output]}"

    @property
    def regression(self) -> bool:
        return self.kind == "regression"

    @property
    def log_target(self) -> bool:
        """RMSLE is RMSE on log1p: the models learn log1p(y), which makes them optimise it."""
        return self.metric == "rmsle"

    @property
    def early_stopping_monitor(self) -> str:
        """What a network's early stopping watches: accuracy for label metrics, else the
        loss (cross-entropy for probabilities, squared error for numbers)."""
        return "val_accuracy" if self.output == "label" else "val_loss"

    def to_arrays(self) -> dict[str, np.ndarray]:
        import numpy as np

        return {"task": np.array(self.kind), "metric": np.array(self.metric), "output": np.array(self.output)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Task:
        return cls(str(arrays["task"]), str(arrays["metric"]), str(arrays["output"]))

    def encode_target(self, y: np.ndarray) -> np.ndarray:
        """The regression target as the models learn it (log1p for RMSLE)."""
        import numpy as np

        return np.log1p(y) if self.log_target else y

    def decode_target(self, values: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.clip(np.expm1(values), 0, None) if self.log_target else values

    def score(self, truth: np.ndarray, predicted: np.ndarray) -> float:
        """The metric of `predicted` (class probabilities (n, k), or regression values in the
        target's own units) against `truth` (class codes, or target values)."""
        import numpy as np

        from sklearn import metrics

        m = self.metric
        if self.regression:
            predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
            if m == "rmse":
                return float(np.sqrt(metrics.mean_squared_error(truth, predicted)))
            if m == "rmsle":
                return float(np.sqrt(metrics.mean_squared_error(np.log1p(truth), np.log1p(np.clip(predicted, 0, None)))))
            if m == "mae":
                return float(metrics.mean_absolute_error(truth, predicted))
            return float(metrics.r2_score(truth, predicted))
        labels = np.arange(predicted.shape[1])
        predicted = np.clip(np.asarray(predicted, dtype=np.float64), 1e-7, 1)
        predicted /= predicted.sum(axis=1, keepdims=True)  # float32 sums drift from 1
        if m == "logloss":
            return float(metrics.log_loss(truth, predicted, labels=labels))
        if m == "auc":
            if len(np.unique(truth)) < 2:
                return float("nan")
            if predicted.shape[1] == 2:
                return float(metrics.roc_auc_score(truth, predicted[:, 1]))
            return float(metrics.roc_auc_score(truth, predicted, multi_class="ovr", labels=labels))
        chosen = predicted.argmax(axis=1)
        if m == "balanced_accuracy":
            return float(metrics.balanced_accuracy_score(truth, chosen))
        if m == "f1":
            average = "binary" if predicted.shape[1] == 2 else "macro"
            return float(metrics.f1_score(truth, chosen, average=average, labels=labels, zero_division=0))
        return float(metrics.accuracy_score(truth, chosen))

    def better(self, a: float, b: float) -> bool:
        """Whether score `a` beats score `b` under this metric (NaN never wins)."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return a < b if self.metric in LOWER_IS_BETTER else a > b


def target_kind(values: np.ndarray, numeric: bool, requested: str, column: str, name: str) -> str:
    """binary, multiclass or regression: `requested` unless "auto"; text targets, and whole
    numbers with at most MAX_CLASSES distinct values, are classes; other numbers regression."""
    import numpy as np

    n_distinct = len(np.unique(values))
    if requested != "auto":
        kind = requested
    elif not numeric:
        kind = "classification"
    else:
        whole = bool(np.all(np.mod(values, 1) == 0))
        kind = "classification" if whole and n_distinct <= MAX_CLASSES else "regression"
    if kind == "regression":
        if not numeric:
            raise PipelineError(f"{name}: column {column!r} holds text, so --task regression cannot learn it; "
                                f"give numbers, or drop --task")
        if n_distinct < 2:
            raise PipelineError(f"{name}: column {column!r} holds a single value; there is nothing to predict")
        return "regression"
    if n_distinct < 2:
        value = values[0].item() if hasattr(values[0], "item") else values[0]
        raise PipelineError(f"{name}: column {column!r} holds a single class ({value!r}); "
                            f"a classifier needs at least two")
    if kind == "classification":
        return "binary" if n_distinct == 2 else "multiclass"
    if kind == "binary" and n_distinct != 2:
        raise PipelineError(f"{name}: --task binary, but column {column!r} holds {n_distinct} classes; "
                            f"use --task multiclass")
    return kind


def choose_metric(kind: str, requested: str, sample_output: str, y: np.ndarray) -> str:
    """`requested` if it fits the task; else from the sample's layout (a fraction such as
    0.5: AUC; one column per class: log loss), else accuracy, or for a regression RMSLE when
    the target is positive and skewed (as prices are), else RMSE."""
    import numpy as np

    if requested != "auto":
        fits = REGRESSION_METRICS if kind == "regression" else CLASSIFICATION_METRICS
        if requested not in fits:
            raise PipelineError(f"--metric {requested} does not fit a {kind} task; use one of {', '.join(fits)}")
        if requested == "rmsle" and np.min(y) < 0:
            raise PipelineError("--metric rmsle needs a target of 0 or more, and train.csv has negative values; "
                                "use --metric rmse")
        return requested
    if kind == "regression":
        return "rmsle" if np.min(y) > 0 and _skew(y) > SKEWED else "rmse"
    if sample_output == "probabilities":
        return "logloss"
    if sample_output == "probability":
        return "auc"
    return "accuracy"


def choose_output(kind: str, metric: str, sample_output: str) -> str:
    """What the submission holds: the sample's layout when there is one, else what the metric scores."""
    if kind == "regression":
        return "number"
    scores_labels = metric in LABEL_METRICS
    if sample_output == "label" and not scores_labels:
        raise PipelineError(f"--metric {metric} scores probabilities, but sample_submission.csv holds labels; "
                            f"drop --metric, or use the competition's sample")
    if sample_output:
        return sample_output
    if scores_labels:
        return "label"
    return "probability" if kind == "binary" else "probabilities"


def _skew(y: np.ndarray) -> float:
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    spread = y.std()
    return float(np.mean(((y - y.mean()) / spread) ** 3)) if spread > 0 else 0.0
