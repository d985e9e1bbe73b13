"""Preprocess: features -> float32 images (N, H, W, C) scaled to [0, 1], or the table as float32.

Images are scaled by train.csv's range. A table passes through as the schema encoded it
(NaN for missing cells): its statistics (normalisation, vocabularies) are taken from the
training rows inside the models, which is where `models/model.keras` needs them too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from pipeline.errors import PipelineError
from pipeline.frames import transform
from pipeline.parse import parse_image_shape
from pipeline.schema import NUMERIC

if TYPE_CHECKING:
    from pipeline.config import PreprocessParams


READS = {"ingest": ("X", "X_test", "column_kinds")}


def preprocess(X: np.ndarray, X_test: np.ndarray, params: PreprocessParams,
               column_kinds: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Reshape square feature counts (or a configured shape) to images; a schema with any
    column that is not a number (`column_kinds`: a category, a date) is a table, never an image."""
    tabular = column_kinds is not None and bool((column_kinds != NUMERIC).any())
    shape = None if tabular else image_shape(X.shape[1], params.image_shape, pixels=X.dtype == np.uint8)
    stats = {"low": np.float32(X.min()), "high": np.float32(X.max())} if shape else {}
    stats["image_shape"] = np.array(shape or (), dtype=np.int64)
    return {"x": transform(X, stats), "x_test": transform(X_test, stats), **stats}


def image_shape(n_features: int, configured: str, pixels: bool = True) -> tuple[int, int, int] | None:
    """(H, W, C) for image data, None for tabular vectors.

    A square feature count is an image from 16x16 up, and from 8x8 up when the values are
    whole numbers in 0..255 (`pixels`): 64 float measurements are a table, not a picture.
    """
    shape = parse_image_shape(configured)
    if shape:
        if math.prod(shape) != n_features:
            raise PipelineError(
                f"--image-shape {configured} holds {math.prod(shape)} values but train.csv has "
                f"{n_features} feature columns; give a shape whose product is {n_features}"
            )
        return shape
    side = math.isqrt(n_features)
    if side * side == n_features and (side >= 16 or (side >= 8 and pixels)):
        return (side, side, 1)
    return None
