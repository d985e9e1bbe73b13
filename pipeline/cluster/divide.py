"""A trained model divided between the cluster and the pipeline's own process: a network
predicts here, partition by partition, so that TensorFlow (0.67 GB) stays off the workers;
the other learners predict on the workers. Each share is weighted as in the blend, so the two
add up to the model's prediction."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline import learners
from pipeline.learners.blend import Blend, blend, part

Networks = list[tuple[float, Any, dict[str, np.ndarray], list[Any]]]  # weight, learner, arrays, loaded models


def divided(model: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray] | None, Networks]:
    """(what the workers predict with: the model, or the blend of its parts that are not
    networks, or None; the networks this process predicts with, loaded once)."""
    if str(model["arch"]) != Blend.name:
        learner = learners.get(str(model["arch"]))
        return (None, [(1.0, learner, model, learner.nets(model))]) if learner.keras else (model, [])
    weights = {str(p): float(w) for p, w in zip(model["blend_parts"], model["blend_weights"])}
    pieces = {name: part(model, name) for name in weights}
    here = {name: arrays for name, arrays in pieces.items() if learners.get(str(arrays["arch"])).keras}
    there = {name: arrays for name, arrays in pieces.items() if name not in here}
    networks = []
    for name, arrays in here.items():
        learner = learners.get(str(arrays["arch"]))
        networks.append((weights[name], learner, arrays, learner.nets(arrays)))
    return (blend(there, weights) if there else None), networks


def predicted_here(networks: Networks, x: np.ndarray, n_outputs: int) -> np.ndarray:
    """The networks' weighted share of the prediction on rows `x`."""
    share = np.zeros((len(x), n_outputs), dtype=np.float32)
    for weight, learner, arrays, nets in networks:
        share += weight * learner.predict(arrays, nets, x).astype(np.float32)
    return share
