"""The blend: the weighted mean of other learners' predictions, its weights fitted on the
rows none of them trained on (out of fold) by greedy ensemble selection with replacement
(Caruana et al., 2004; what AutoGluon's WeightedEnsemble does): start from the best model,
and add, round after round, the one whose addition scores the task's metric best; each
model's weight is the share of rounds that chose it. A part stacked on another
(pipeline.learners.stack) reads that one's predictions as extra columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from pipeline.learners import stack
from pipeline.learners.base import Learner, SklearnLearner, write_pickle

ROUNDS = 25


class Blend(Learner):
    name = "blend"

    def __init__(self, registry: Mapping[str, Learner]):
        self.registry = registry  # the learners its parts are stored by

    def predict_model(self, arrays: dict[str, np.ndarray], x: np.ndarray,
                      on_batch: Callable[[int, int], None] | None = None, final: bool = True,
                      tta: bool = False, text: np.ndarray | None = None) -> np.ndarray:
        predicted: dict[str, np.ndarray] = {}

        def output(name: str) -> np.ndarray:  # a part stacked on another reads that one's output
            if name not in predicted:
                arrays_ = part(arrays, name)
                rows = stack.widen(x, output(str(arrays_["stacked_on"]))) if "stacked_on" in arrays_ else x
                predicted[name] = self._learner(arrays_).predict_model(arrays_, rows, on_batch, final, tta, text)
            return predicted[name]

        return sum(float(w) * output(str(p)) for p, w in zip(arrays["blend_parts"], arrays["blend_weights"]))

    def export_model(self, arrays: dict[str, np.ndarray], folder: Path) -> list[Path]:
        """Each part's file: `model.keras` for the network, `model.pkl` for the estimators (a
        dict of them by name when there are several)."""
        paths, estimators = [], {}
        for p in arrays["blend_parts"]:
            learner = self._learner(part(arrays, p))
            if isinstance(learner, SklearnLearner):
                nets = learner.nets(part(arrays, p))
                estimators[str(p)] = nets[0] if len(nets) == 1 else nets
            else:
                paths += learner.export_model(part(arrays, p), folder)
        if estimators:
            paths.append(write_pickle(folder, next(iter(estimators.values())) if len(estimators) == 1 else estimators))
        return paths

    def first_member(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        kept = {k: v for k, v in arrays.items() if not any(k.startswith(f"{p}/") for p in arrays["blend_parts"])}
        for p in arrays["blend_parts"]:
            first = self._learner(part(arrays, p)).first_member(part(arrays, p))
            kept.update({f"{p}/{k}": v for k, v in first.items()})
        return kept

    def _learner(self, arrays: dict[str, np.ndarray]) -> Learner:
        return self.registry[str(arrays["arch"])]


def part(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """One model of a blend, stored under the prefix `name/`."""
    return {k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(f"{name}/")}


def blend(parts: dict[str, dict[str, np.ndarray]], weights: dict[str, float]) -> dict[str, np.ndarray]:
    """The arrays of a blend: each part's under its name, predicted as the weighted mean. A
    part stacked on another (`stacked_on`) needs that one among `parts`, at weight 0 if need be."""
    first = next(p for p in parts.values() if "stacked_on" not in p)
    arrays = {"arch": np.array(Blend.name), "n_classes": first["n_classes"], "input_shape": first["input_shape"],
              "blend_parts": np.array(list(parts)), "blend_weights": np.array([weights[p] for p in parts])}
    for name, part_arrays in parts.items():
        arrays.update({f"{name}/{k}": v for k, v in part_arrays.items()})
    return arrays


def select(predictions: dict[str, np.ndarray], score: Callable[[np.ndarray], float],
           better: Callable[[float, float], bool], rounds: int = ROUNDS) -> tuple[dict[str, float], float]:
    """Greedy ensemble selection with replacement on out-of-fold `predictions` (by model
    name): the weights of the best round's mean, and its score. Ties go to the model named
    first, so the choice is the same on every run."""
    names = list(predictions)
    scores = {n: score(predictions[n]) for n in names}
    start = names[0]
    for n in names[1:]:
        if better(scores[n], scores[start]):
            start = n
    counts = {n: 0 for n in names}
    counts[start] = 1
    total = predictions[start].astype(np.float64)
    best_counts, best_score = dict(counts), scores[start]
    for r in range(2, rounds + 1):
        trial = {n: score((total + predictions[n]) / r) for n in names}
        pick = names[0]
        for n in names[1:]:
            if better(trial[n], trial[pick]) or np.isnan(trial[pick]):
                pick = n
        counts[pick] += 1
        total = total + predictions[pick]
        if better(trial[pick], best_score):
            best_counts, best_score = dict(counts), trial[pick]
    weights = {n: c / sum(best_counts.values()) for n, c in best_counts.items() if c}
    if len(weights) == 1:  # one model alone, however often chosen: its own score, not a rounding of it
        best_score = scores[next(iter(weights))]
    return weights, best_score
