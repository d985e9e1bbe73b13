"""Fitting scikit-learn's HistGradientBoostingClassifier on flattened rows, with the same
signature and return (model, history, kept epoch) as a Keras network, so the train stage can
treat it as one more candidate. scikit-learn is imported inside the function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.config import TrainParams
from pipeline.training.plan import Plan


def fit_hgb(arch: str, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, val_idx: np.ndarray | None,
            n_classes: int, params: TrainParams, augment: float, seed: int,
            plan: Plan) -> tuple[Any, dict[str, list[float]], int]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    flat = x.reshape(len(x), -1)
    net = HistGradientBoostingClassifier(random_state=seed).fit(flat[fit_idx], y[fit_idx])
    history: dict[str, list[float]] = {}
    if val_idx is not None:
        history["val_accuracy"] = [float(net.score(flat[val_idx], y[val_idx]))]
    if plan.on_epoch:
        shown = {"val_accuracy": history["val_accuracy"][0]} if history else {}
        plan.on_epoch(f"{plan.label}gradient boosting, {net.n_iter_} iterations", shown)
    return net, history, 1
