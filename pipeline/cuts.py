"""Cut points that turn a model's output into labels, fitted on the rows the model did not
train on: binary F1's threshold on the positive class's probability, and quadratic weighted
kappa's cuts between consecutive ordered classes learnt as one number (pipeline.task says
which a metric needs). scikit-learn's metrics score each trial."""

from __future__ import annotations

import math

import numpy as np

QWK_ROUNDS = 3
QWK_CANDIDATES = 64  # values tried for each cut, per round: quantiles of the predictions between its neighbours


def kappa(truth: np.ndarray, chosen: np.ndarray) -> float:
    """Quadratic weighted kappa of the class codes `chosen` against `truth` (0 where it is undefined)."""
    from sklearn.metrics import cohen_kappa_score

    value = cohen_kappa_score(truth, chosen, weights="quadratic")
    return 0.0 if math.isnan(value) else float(value)  # NaN: every row in one class


def f1_threshold(truth: np.ndarray, probability: np.ndarray) -> float:
    """The probability of the positive class (code 1) from which predicting it maximises F1."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(truth, probability)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))]) if len(thresholds) else 0.5


def kappa_cuts(truth: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The cuts between consecutive classes of `truth` (a validation split holds every class)
    that maximise kappa of `values` cut there: coordinate search from the midpoints, each cut
    tried at quantiles of the values between its neighbours, QWK_ROUNDS times."""

    n_classes = int(truth.max()) + 1
    cuts = np.arange(n_classes - 1) + 0.5
    best = kappa(truth, np.searchsorted(cuts, values, side="right"))
    for _ in range(QWK_ROUNDS):
        for j in range(len(cuts)):
            low = cuts[j - 1] if j else -np.inf
            high = cuts[j + 1] if j + 1 < len(cuts) else np.inf
            inside = values[(values > low) & (values < high)]
            if not len(inside):
                continue
            for candidate in np.unique(np.quantile(inside, np.linspace(0, 1, QWK_CANDIDATES))):
                trial = cuts.copy()
                trial[j] = candidate
                score = kappa(truth, np.searchsorted(trial, values, side="right"))
                if score > best:
                    best, cuts = score, trial
    return cuts
