"""Preprocess: features -> float32 images (N, H, W, C) scaled to [0, 1], or standardised vectors.

Every statistic comes from train.csv's rows only; test is transformed with them.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.config import PreprocessParams, parse_image_shape
from pipeline.errors import PipelineError


def preprocess(X: np.ndarray, X_test: np.ndarray, params: PreprocessParams) -> dict[str, np.ndarray]:
    """Reshape square feature counts (or a configured shape) to images; otherwise standardise."""
    shape = image_shape(X.shape[1], params.image_shape, pixels=X.dtype == np.uint8)
    if shape:
        stats = {"low": np.float32(X.min()), "high": np.float32(X.max())}
    else:
        std = X.std(axis=0)
        std[std == 0] = 1.0  # a constant column carries no information; keep it at zero
        stats = {"mean": X.mean(axis=0).astype(np.float32), "std": std.astype(np.float32)}
    stats["image_shape"] = np.array(shape or (), dtype=np.int64)
    return {"x": transform(X, stats), "x_test": transform(X_test, stats), **stats}


def transform(X: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Features -> the model's float32 input, with the train statistics `preprocess` returned
    (images scaled by train's range, vectors standardised)."""
    shape = tuple(int(d) for d in stats["image_shape"])
    if shape:
        scale = (stats["high"] - stats["low"]) or np.float32(1.0)
        images = X.astype(np.float32)
        images -= stats["low"]  # in place: one float32 copy, not three
        images /= scale
        return images.reshape(-1, *shape)
    return ((X - stats["mean"]) / stats["std"]).astype(np.float32)


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
