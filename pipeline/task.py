"""The task: binary, multiclass or regression, and the competition's metric.

Decided once, at ingest, from the target column, the optional sample_submission.csv and the
`--task`/`--metric` options, then stored in ingest's cache entry as plain arrays. Every later
stage asks it: the model's head and loss, what early stopping watches, the score that picks
a model, and what the submission holds (labels, one probability, one per class, numbers).
numpy is imported by the functions that compute, so a fully cached run reads the task without it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import numpy as np

TASKS = ("auto", "binary", "multiclass", "regression")
LABEL_METRICS = ("accuracy", "balanced_accuracy", "f1", "qwk")
CLASSIFICATION_METRICS = (*LABEL_METRICS, "auc", "logloss", "map@3")  # map@K for any K >= 2
REGRESSION_METRICS = ("rmse", "rmsle", "mae", "r2")
METRICS = ("auto", *CLASSIFICATION_METRICS, *REGRESSION_METRICS)
LOWER_IS_BETTER = ("logloss", "rmse", "rmsle", "mae")
MAX_CLASSES = 20  # whole numbers with more distinct values than this are a regression target
SKEWED = 0.75  # a positive target skewed more than this (the usual Kaggle rule) is scored and learned as its log
RANKED = re.compile(r"map@([2-9]|[1-9]\d+)")  # MAP@K: the K likeliest labels per row, best first
POSITIVE_NAMES = ("1", "true", "yes", "y", "t", "positive")  # a binary class named like this is the positive one


def known_metric(name: str) -> bool:
    return name in METRICS or bool(RANKED.fullmatch(name))


@dataclass(frozen=True)
class Task:
    """`output` is what the submission holds: "label", "ranked" (the K likeliest labels of
    MAP@K, space-separated), "probability" (of the positive class, classes[1], named
    `positive`), "probabilities" (one column per class) or "number".

    Some metrics score labels decided by cut points fitted on validation (`needs_cuts`): binary
    F1 a threshold on the positive class's probability; quadratic weighted kappa (qwk), whose
    ordered classes the models learn as a number, the cuts between consecutive classes."""

    kind: str
    metric: str
    output: str
    positive: str = ""  # a binary task's positive class, as text

    @property
    def description(self) -> str:
        """E.g. "binary, scored by auc; the submission holds the probability of 'bad'"."""
        holds = {"label": "labels", "probabilities": "one probability per class", "number": "numbers",
                 "probability": f"the probability of {self.positive!r}" if self.positive else "a probability",
                 "ranked": f"the {self.k} likeliest labels per row, best first"}[self.output]
        if self.metric == "f1" and self.needs_cuts:
            holds += f" ({self.positive!r} is the positive class, at the threshold that maximises F1 on validation)"
        if self.metric == "qwk":
            holds += " (learned as a number, cut at thresholds fitted on validation)"
        return f"{self.kind}, scored by {self.metric}; the submission holds {holds}"

    @property
    def summary(self) -> str:
        """One line for the user, e.g. "task: binary, scored by auc; the submission holds the probability of 'bad'"."""
        return f"task: {self.description}"

    @property
    def regression(self) -> bool:
        return self.kind == "regression"

    @property
    def learns_numbers(self) -> bool:
        """Whether the models learn one number (a regression's target; qwk's ordered class codes)
        rather than class probabilities."""
        return self.regression or self.metric == "qwk"

    @property
    def needs_cuts(self) -> bool:
        """Whether labels come from cut points fitted on validation (`fit_cuts`), not the argmax."""
        return self.metric == "qwk" or (self.metric == "f1" and self.kind == "binary")

    @property
    def k(self) -> int:
        """How many labels each row's answer holds: K for MAP@K, else 1."""
        ranked = RANKED.fullmatch(self.metric)
        return int(ranked.group(1)) if ranked else 1

    @property
    def log_target(self) -> bool:
        """RMSLE is RMSE on log1p: the models learn log1p(y), which makes them optimise it."""
        return self.metric == "rmsle"

    @property
    def early_stopping_monitor(self) -> str:
        """What a network's early stopping watches: accuracy when labels are the argmax, else the
        loss (cross-entropy for probabilities, rankings and cut labels; the error for numbers)."""
        return "val_accuracy" if self.output == "label" and not self.needs_cuts else "val_loss"

    @property
    def loss(self) -> str:
        """What a network minimises: cross-entropy for classes; for numbers the absolute error
        when MAE scores them, else the squared error."""
        if not self.learns_numbers:
            return "sparse_categorical_crossentropy"
        return "mean_absolute_error" if self.metric == "mae" else "mean_squared_error"

    def to_arrays(self) -> dict[str, np.ndarray]:
        import numpy as np

        return {"task": np.array(self.kind), "metric": np.array(self.metric), "output": np.array(self.output),
                "positive": np.array(self.positive)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Task:
        return cls(str(arrays["task"]), str(arrays["metric"]), str(arrays["output"]), str(arrays.get("positive", "")))

    def encode_target(self, y: np.ndarray) -> np.ndarray:
        """The regression target as the models learn it (log1p for RMSLE)."""
        import numpy as np

        return np.log1p(y) if self.log_target else y

    def decode_target(self, values: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.clip(np.expm1(values), 0, None) if self.log_target else values

    def score(self, truth: np.ndarray, predicted: np.ndarray, cuts: np.ndarray | None = None) -> float:
        """The metric of `predicted` (class probabilities (n, k); a regression's values in the
        target's own units; qwk's numbers (n, 1)) against `truth` (class codes, or target values).
        Labels that need cut points take `cuts`, or without them the cuts best for these rows."""
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
        if self.needs_cuts and cuts is None:
            cuts = self.fit_cuts(truth, predicted)
        if m == "qwk":
            from pipeline.cuts import kappa

            return kappa(truth, self.decide(predicted, cuts))
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
        chosen = self.decide(predicted, cuts)
        if self.output == "ranked":
            hits = chosen == np.asarray(truth)[:, None]
            return float((hits / np.arange(1, chosen.shape[1] + 1)).sum(axis=1).mean())
        if m == "balanced_accuracy":
            return float(metrics.balanced_accuracy_score(truth, chosen))
        if m == "f1":
            average = "binary" if predicted.shape[1] == 2 else "macro"
            return float(metrics.f1_score(truth, chosen, average=average, labels=labels, zero_division=0))
        return float(metrics.accuracy_score(truth, chosen))

    def decide(self, predicted: np.ndarray, cuts: np.ndarray | None = None) -> np.ndarray:
        """Class codes from the models' output: the argmax; the positive class where its
        probability reaches the threshold `cuts[0]` (binary F1); the class between qwk's `cuts`;
        for "ranked", the K likeliest classes of each row, best first, as an (n, K) array."""
        import numpy as np

        predicted = np.asarray(predicted)
        if self.metric == "qwk":
            return np.searchsorted(np.asarray(cuts), predicted.reshape(-1), side="right")
        if self.output == "ranked":
            return np.argsort(-predicted, axis=1, kind="stable")[:, :self.k]
        if self.needs_cuts:
            return (predicted[:, 1] >= cuts[0]).astype(np.int64)
        return predicted.argmax(axis=1)

    def fit_cuts(self, truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """The cut points that score best on these rows (empty when labels are the argmax):
        binary F1's threshold on the positive class's probability; qwk's cuts between the
        consecutive classes of `truth` (a validation split holds every class), found by
        coordinate search from the midpoints."""
        import numpy as np

        from pipeline.cuts import f1_threshold, kappa_cuts

        if not self.needs_cuts:
            return np.zeros(0)
        if self.metric == "f1":
            return np.array([f1_threshold(np.asarray(truth), np.asarray(predicted, dtype=np.float64)[:, 1])])
        return kappa_cuts(np.asarray(truth), np.asarray(predicted, dtype=np.float64).reshape(-1))

    def better(self, a: float, b: float) -> bool:
        """Whether score `a` beats score `b` under this metric (NaN never wins)."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return a < b if self.metric in LOWER_IS_BETTER else a > b


def positive_class(classes: np.ndarray, counts: np.ndarray, requested: str, column: str,
                   name: str) -> tuple[int, str]:
    """Which of a binary target's two `classes` is the positive one (0 or 1), and a note when
    that was a guess: `requested` (--positive-class); else the class named like a positive
    (1, true, yes, ...); else the rarer class of train.csv (`counts` rows each)."""
    names = [str(c) for c in classes]
    if requested:
        for same in (lambda a: a == requested, lambda a: a.strip().lower() == requested.strip().lower(),
                     lambda a: _number(a) is not None and _number(a) == _number(requested)):
            found = [i for i, c in enumerate(names) if same(c)]
            if len(found) == 1:
                return found[0], ""
        raise PipelineError(f"{name}: --positive-class {requested!r} is not a class of {column!r}, whose classes "
                            f"are {names[0]!r} and {names[1]!r}; give one of them")
    liked = [i for i, c in enumerate(names) if c.strip().lower() in POSITIVE_NAMES]
    if len(liked) == 1:
        return liked[0], ""
    rarer = 0 if counts[0] < counts[1] else 1
    note = (f"{name}: neither class of {column!r} is named like a positive (1, true, yes): the rarer one, "
            f"{names[rarer]!r} ({int(counts[rarer])} of {int(sum(counts))} rows), is taken as the positive class; "
            f"--positive-class {names[1 - rarer]} to choose the other")
    return rarer, note


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


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


def choose_metric(kind: str, requested: str, sample_output: str, y: np.ndarray, sample_k: int = 1) -> str:
    """`requested` if it fits the task; else from the sample's layout (a fraction such as
    0.5: AUC; one column per class: log loss; K labels per cell: MAP@K), else accuracy, or for a
    regression RMSLE when the target is positive and skewed (as prices are), else RMSE."""
    import numpy as np

    if requested != "auto":
        fits = REGRESSION_METRICS if kind == "regression" else CLASSIFICATION_METRICS
        if requested not in fits and not (kind != "regression" and RANKED.fullmatch(requested)):
            raise PipelineError(f"--metric {requested} does not fit a {kind} task; use one of {', '.join(fits)}")
        if requested == "rmsle" and np.min(y) < 0:
            raise PipelineError("--metric rmsle needs a target of 0 or more, and train.csv has negative values; "
                                "use --metric rmse")
        return requested
    if kind == "regression":
        return "rmsle" if np.min(y) > 0 and _skew(y) > SKEWED else "rmse"
    if sample_output == "ranked":
        return f"map@{sample_k}"
    if sample_output == "probabilities":
        return "logloss"
    if sample_output == "probability":
        return "auc"
    return "accuracy"


def choose_output(kind: str, metric: str, sample_output: str, sample_k: int = 1) -> str:
    """What the submission holds: the sample's layout when there is one, else what the metric scores."""
    if kind == "regression":
        return "number"
    ranked = RANKED.fullmatch(metric)
    if ranked or sample_output == "ranked":
        k = int(ranked.group(1)) if ranked else 0
        if k and sample_output in ("", "ranked") and (not sample_output or sample_k == k):
            return "ranked"
        held = f"{sample_k} labels per row (MAP@{sample_k})" if sample_output == "ranked" else _HOLDS[sample_output]
        raise PipelineError(f"--metric {metric} does not score what sample_submission.csv holds, {held}; drop "
                            f"--metric, or use the competition's sample")
    scores_labels = metric in LABEL_METRICS
    if sample_output == "label" and not scores_labels:
        raise PipelineError(f"--metric {metric} scores probabilities, but sample_submission.csv holds labels; "
                            f"drop --metric, or use the competition's sample")
    if sample_output:
        return sample_output
    if scores_labels:
        return "label"
    return "probability" if kind == "binary" else "probabilities"


_HOLDS = {"label": "one label per row", "probability": "a probability", "probabilities": "one probability per class"}


def _skew(y: np.ndarray) -> float:
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    spread = y.std()
    return float(np.mean(((y - y.mean()) / spread) ** 3)) if spread > 0 else 0.0
