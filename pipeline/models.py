"""A trained model as the cache holds it: plain arrays (its learner's name as `arch`, its
input shape, output count, augmentation, a table network's spec, and each member's or fold
model's arrays under `member0_`, `refit0_`, ...), so the train stage stays a function from
arrays to arrays. Prediction and export ask the learner the arrays name (pipeline.learners).
Nothing heavy is imported until a model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline import learners


def to_arrays(arch: str, input_shape: tuple[int, ...], n_classes: int, augment: float,
              members: list[Any], refit: list[Any], spec: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Everything needed to rebuild learner `arch`'s trained models, as arrays for the cache.

    `members` are the models validated on held-out rows (one per fold when bagged); `refit`,
    when not empty, their retrained copies on all rows, which predict uses instead.
    `n_classes` is the number of outputs: 1 for a number."""
    learner = learners.get(arch)
    arrays = {
        "arch": np.array(arch),
        "input_shape": np.array(input_shape, dtype=np.int64),
        "n_classes": np.array(n_classes, dtype=np.int64),
        "augment": np.array(augment, dtype=np.float32),
        **{f"spec_{k}": v for k, v in (spec or {}).items()},
    }
    for group, nets in (("member", members), ("refit", refit)):
        for m, net in enumerate(nets):
            arrays.update({f"{group}{m}_{k}": v for k, v in learner.dump(net).items()})
    return arrays


def predict_proba(arrays: dict[str, np.ndarray], x: np.ndarray, on_batch: Callable[[int, int], None] | None = None,
                  final: bool = True, tta: bool = False, text: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities on `x` (for a number, an (n, 1) column in the units the model
    learned), averaged over the models (the refit ones when `final` and present) and, with
    `tta` on images, over augmented copies too; `on_batch(done, total)` reports progress.
    `text` holds the rows' text columns (pipeline.texts) for a model that reads them."""
    return _learner(arrays).predict_model(arrays, x, on_batch, final, tta, text)


def part_of(arrays: dict[str, np.ndarray], arch: str) -> dict[str, np.ndarray] | None:
    """Learner `arch`'s model: `arrays` itself, or its part of a blend; None when it has none."""
    if str(arrays["arch"]) == arch:
        return arrays
    if "blend_parts" in arrays and arch in [str(p) for p in arrays["blend_parts"]]:
        from pipeline.learners.blend import part

        return part(arrays, arch)
    return None


def first_member(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model as if it had only its first member (for a blend, each part's first): a bagged
    model's fold-0 model, which never trained on fold 0's rows."""
    return _learner(arrays).first_member(arrays)


def export(arrays: dict[str, np.ndarray], folder: Path) -> Path:
    """Save the final model in `folder`, atomically: `model.keras` for networks (several
    become one Keras model that averages them), `model.pkl` for scikit-learn estimators; a
    blend writes both. Returns the network's file when there is one; the other file an
    earlier model left is removed, so it cannot read as this one's."""
    paths = _learner(arrays).export_model(arrays, folder)
    for other in (folder / "model.keras", folder / "model.pkl"):
        if other not in paths:
            other.unlink(missing_ok=True)
    return next((p for p in paths if p.suffix == ".keras"), paths[0])


def _learner(arrays: dict[str, np.ndarray]) -> learners.Learner:
    return learners.get(str(arrays["arch"]))
