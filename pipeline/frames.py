"""A CSV's frame as the model takes it, for ingest (train.csv, test.csv) and for batch
prediction of any CSV (`predict --input`) alike: its feature columns by the schema as one
checked array (pipeline.schema encodes them), empty cells filled with train's medians where
asked, image pixels checked; its id column and ids; and the scaling preprocess fitted on
train, applied.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline import schema as schemas
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.config import IngestParams

PIXEL = re.compile(r"pixel_?\d+", re.IGNORECASE)  # columns read as 8-bit image pixels
TEST_ID_NAMES = ("id", "imageid")


def features_of(frame: pd.DataFrame, schema: schemas.Schema, name: str, fill: np.ndarray | None = None,
                notes: list[str] | None = None, train_name: str = "train.csv",
                fill_missing: bool = False) -> np.ndarray:
    """The schema's feature columns of `frame` as one checked array, in order (see
    pipeline.schema); with `fill` (train's medians), empty cells take those values and a
    line goes to `notes`. Image pixels must be whole numbers in 0..255 and never empty."""
    pixels = all(PIXEL.fullmatch(c) for c in schema.columns)
    missing = [c for c in schema.columns if c not in frame.columns]
    if missing:
        raise PipelineError(f"{name}: feature column {missing[0]!r} of {train_name} is missing{_more(missing)}; "
                            f"it needs the same feature columns as {train_name}")
    columns = list(schema.columns)
    if pixels and all(dtype.kind in "iu" for dtype in frame[columns].dtypes):
        values = frame[columns].to_numpy()  # integer columns hold no empty, text or infinite cell
    else:
        values = schemas.encode(frame, schema, name, train_name, notes)
    if fill is not None:
        values = filled(values, fill, name, notes)
    if pixels:
        if not fill_missing and np.isnan(values).any():
            row, col = np.argwhere(np.isnan(values))[0]
            raise PipelineError(
                f"{name}: {int(np.isnan(values).sum())} empty or NaN cells, the first in column "
                f"{columns[col]!r} at line {row + 2}; fill them, or pass --fill-missing to use "
                f"each column's median in train.csv"
            )
        _check_pixels(values, columns, name)
    return values


def filled(values: np.ndarray, fill: np.ndarray, name: str, notes: list[str] | None) -> np.ndarray:
    holes = np.isnan(values)
    if not holes.any():
        return values
    if notes is not None:
        notes.append(f"{name}: filled {int(holes.sum())} empty cells with train.csv's column medians")
    return np.where(holes, fill, values)


def id_column_of(test: pd.DataFrame, params: IngestParams, test_name: str, preferred: str = "") -> str:
    """--id-column; else `preferred` (sample_submission.csv's first column) when test has it;
    else an `id`, `ImageId` or other id-named column of unique values; else "" (ids count from 1)."""
    if params.id_column:
        if params.id_column not in test.columns:
            raise PipelineError(f"{test_name}: no id column {params.id_column!r}; check --id-column")
        return params.id_column
    if preferred and preferred in test.columns:
        return preferred
    for column in test.columns:
        if str(column).lower() in TEST_ID_NAMES:
            return str(column)
    for column in test.columns:
        if not schemas.is_row_number(column) and schemas.looks_like_id(column, test[column]):
            return str(column)
    return ""


def ids_of(test: pd.DataFrame, id_column: str, test_name: str) -> np.ndarray:
    """The unique, non-empty ids of `test`'s `id_column`, or 1, 2, ... without one."""
    if not id_column:
        return np.arange(1, len(test) + 1)
    ids = test[id_column].to_numpy()
    if pd.isna(ids).any():
        raise PipelineError(f"{test_name}: column {id_column!r} has empty ids; fill them")
    if len(pd.unique(ids)) != len(ids):
        raise PipelineError(f"{test_name}: column {id_column!r} has duplicate ids; make them unique")
    return ids.astype(str) if ids.dtype.kind not in "iuf" else ids  # cache files never hold pickled objects


def _check_pixels(values: np.ndarray, features: list[str], name: str) -> None:
    if values.dtype == np.uint8:
        return
    outside = (values < 0) | (values > 255)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise PipelineError(
            f"{name}: column {features[col]!r}, line {row + 2} holds {values[row, col]:g}, outside 0..255 "
            f"(columns named pixel* are read as 8-bit image pixels); fix the cell, or rename the "
            f"columns if they are not pixels"
        )


def transform(X: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Features -> the model's float32 input, with the train statistics `preprocess` returned."""
    shape = tuple(int(d) for d in stats["image_shape"])
    if not shape:
        return X.astype(np.float32, copy=False)
    scale = (stats["high"] - stats["low"]) or np.float32(1.0)
    images = X.astype(np.float32)
    images -= stats["low"]  # in place: one float32 copy, not three
    images /= scale
    return images.reshape(-1, *shape)


def _more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""
