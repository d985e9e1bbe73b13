"""The network for tables (`mlp`): each column its own named input, categories embedded,
numbers normalised with a missing-value flag, free text as a bag of its words and word pairs
(pipeline.tabular builds it), so the exported `models/model.keras` takes the raw columns by
name, text included."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.keras_env import INFERENCE_BATCH, load_keras
from pipeline.learners.base import KerasLearner, spec_of


class TableNet(KerasLearner):
    name = "mlp"

    def build(self, input_shape: tuple[int, ...], n_classes: int, augment: float = 0.0,
              precision: str = "float32", spec: dict[str, np.ndarray] | None = None) -> Any:
        from pipeline import tabular

        return tabular.build(load_keras(), spec, n_classes, regression="y_mean" in spec)

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        from pipeline import tabular

        return net.predict(tabular.dataset(spec_of(arrays), x, text=text).batch(INFERENCE_BATCH), verbose=0)

    def inputs(self, keras: Any, net: Any, arrays: dict[str, np.ndarray]) -> Any:
        return [keras.Input(t.shape[1:], dtype=t.dtype, name=t.name) for t in net.inputs]
