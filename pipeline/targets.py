"""The columns to predict: one, or several (a sample naming `EC1` and `EC2`), each a target
with its own task, classes and models, all sharing the features and the split.

A stage's arrays for one target are stored as they are when there is one target, so a
competition with one target caches exactly as it always did; with several, each target's
arrays carry the prefix "t0/", "t1/", ... and `targets` names them in the submission's order.
`views` gives each target's arrays (its own and the shared ones); `combine` stores a stage's
per-target results back. Ingest decides the targets; train, validate and predict run once per
target through these two functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.cache import PER_TARGET, TARGETS
from pipeline.task import Task

if TYPE_CHECKING:
    import numpy as np

FIELDS = ("label_column", "classes", "class_columns", "task", "metric", "output", "positive")  # a Target's


def prefix(i: int) -> str:
    return f"t{i}/"


@dataclass(frozen=True)
class Target:
    """One column to predict, as ingest decided it: its name (the label column), its task, its
    classes (empty for a regression) and, when the sample holds one probability column per
    class, those columns' names in the sample's order."""

    name: str
    task: Task
    classes: np.ndarray
    class_columns: tuple[str, ...] = ()

    def to_arrays(self) -> dict[str, np.ndarray]:
        import numpy as np

        return {"label_column": np.array(self.name), "classes": self.classes,
                "class_columns": np.array(self.class_columns, dtype=str), **self.task.to_arrays()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Target:
        return cls(str(arrays["label_column"]), Task.from_arrays(arrays), arrays["classes"],
                   tuple(str(c) for c in arrays["class_columns"]))


def count(arrays: dict[str, np.ndarray]) -> int:
    return len(arrays[TARGETS]) if TARGETS in arrays else 1


def views(arrays: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Each target's arrays: its own without their prefix, and the shared ones."""
    if TARGETS not in arrays:
        return [arrays]
    shared = {k: v for k, v in arrays.items() if not PER_TARGET.fullmatch(k) and k != TARGETS}
    return [{**shared, **{k[len(prefix(i)):]: v for k, v in arrays.items() if k.startswith(prefix(i))}}
            for i in range(count(arrays))]


def combine(parts: list[dict[str, np.ndarray]], names: list[str],
            shared: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """One stage output from each target's `parts` (and arrays `shared` by all of them).
    Several scored parts (validate's) also get their mean score, as Kaggle scores several
    targets (mean column-wise AUC), and each one's, under the metric they share (or "mean of
    auc and rmse")."""
    import numpy as np

    if len(parts) == 1:
        return {**parts[0], **(shared or {})}
    combined = {TARGETS: np.array(names, dtype=str), **(shared or {})}
    if all("score" in part for part in parts):
        metrics = sorted({str(part["metric"]) for part in parts})
        scores = np.array([float(part["score"]) for part in parts])
        combined.update(metric=np.array(metrics[0] if len(metrics) == 1 else "mean of " + " and ".join(metrics)),
                        score=np.array(scores.mean()), n_val=parts[0]["n_val"], target_scores=scores)
    for i, part in enumerate(parts):
        combined.update({prefix(i) + k: v for k, v in part.items()})
    return combined


def of(arrays: dict[str, np.ndarray]) -> list[Target]:
    """The targets ingest decided, from its arrays (at least FIELDS of them)."""
    return [Target.from_arrays(view) for view in views(arrays)]


def summaries(found: list[Target]) -> list[str]:
    """The lines that say what ingest decided: the task, or each target's."""
    if len(found) == 1:
        return [found[0].task.summary]
    return [f"{len(found)} targets, each its own task, scored by the mean of their scores:",
            *(f"  target {t.name!r}: {t.task.description}" for t in found)]
