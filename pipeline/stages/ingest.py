"""Ingest: the competition's train/test tables -> feature arrays, label codes, classes, test ids."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from pipeline.config import IngestParams
from pipeline.errors import PipelineError

ID_NAMES = ("id", "imageid")


def ingest(
    train: pd.DataFrame,
    test: pd.DataFrame,
    params: IngestParams,
    train_name: str = "train.csv",
    test_name: str = "test.csv",
) -> dict[str, np.ndarray]:
    """Validate both tables and turn them into arrays.

    Returns X/X_test (uint8 when every value is an integer in 0..255, else float32), y (int
    codes into `classes`), test_ids, and the column names needed to write a submission.
    """
    label = params.label_column
    if label not in train.columns:
        close = difflib.get_close_matches(label, [str(c) for c in train.columns], n=1, cutoff=0.5)
        hint = f"did you mean --label-column {close[0]}?" if close else "pass --label-column NAME"
        raise PipelineError(f"{train_name}: no label column {label!r}; {hint}")

    id_column = _id_column(train, test, params, test_name)
    features = [c for c in train.columns if c not in (label, id_column)]
    if not features:
        raise PipelineError(f"{train_name}: no feature columns besides {label!r}; add the features")
    missing = [c for c in features if c not in test.columns]
    if missing:
        raise PipelineError(
            f"{test_name}: feature column {missing[0]!r} of {train_name} is missing"
            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
            f"test needs the same feature columns as train"
        )

    x = _numeric(train[features], train_name)
    x_test = _numeric(test[features], test_name)
    y, classes = _encode_labels(train[label], train_name, label)
    dtype = np.uint8 if _fits_uint8(x) and _fits_uint8(x_test) else np.float32

    if id_column:
        ids = test[id_column].to_numpy()
        if pd.isna(ids).any():
            raise PipelineError(f"{test_name}: column {id_column!r} has empty ids; fill them")
        if len(pd.unique(ids)) != len(ids):
            raise PipelineError(f"{test_name}: column {id_column!r} has duplicate ids; make them unique")
    else:
        ids = np.arange(1, len(test) + 1)
    return {
        "X": x.astype(dtype),
        "y": y,
        "classes": classes,
        "X_test": x_test.astype(dtype),
        "test_ids": _plain(ids),
        "feature_names": np.array([str(c) for c in features]),
        "id_column": np.array(id_column),
        "label_column": np.array(label),
    }


def _id_column(train: pd.DataFrame, test: pd.DataFrame, params: IngestParams, test_name: str) -> str:
    if params.id_column:
        if params.id_column not in test.columns:
            raise PipelineError(f"{test_name}: no id column {params.id_column!r}; check --id-column")
        return params.id_column
    for column in test.columns:
        if str(column).lower() in ID_NAMES:
            return str(column)
    return ""


def _numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Features as a float64 array, naming the first non-numeric or empty cell otherwise."""
    converted = {}
    for column in frame.columns:
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            numbers = pd.to_numeric(series, errors="coerce")
            bad = numbers.isna() & series.notna()
            if bad.any():
                row = int(np.argmax(bad.to_numpy()))
                raise PipelineError(
                    f"{name}: column {column!r}, line {row + 2} holds {series.iloc[row]!r}, not a "
                    f"number; fix the cell or drop the column"
                )
            converted[column] = numbers
    if converted:
        frame = frame.copy()
        for column, numbers in converted.items():
            frame[column] = numbers
    values = frame.to_numpy(dtype=np.float64)
    missing = np.isnan(values)
    if missing.any():
        row, col = np.argwhere(missing)[0]
        raise PipelineError(
            f"{name}: {int(missing.sum())} empty or NaN cells, the first in column "
            f"{frame.columns[col]!r} at line {row + 2}; fill or remove them"
        )
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise PipelineError(
            f"{name}: infinite value in column {frame.columns[col]!r} at line {row + 2}; fix it"
        )
    return values


def _encode_labels(labels: pd.Series, name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    if labels.isna().any():
        row = int(np.argmax(labels.isna().to_numpy()))
        raise PipelineError(f"{name}: column {column!r} is empty at line {row + 2}; fill or drop that row")
    values = labels.to_numpy()
    if pd.api.types.is_float_dtype(labels) and np.all(np.mod(values, 1) == 0):
        values = values.astype(np.int64)  # "3.0" is the class 3
    elif not pd.api.types.is_numeric_dtype(labels):
        values = values.astype(str)
    classes, codes = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise PipelineError(
            f"{name}: column {column!r} holds a single class ({classes[0].item()!r}); "
            f"a classifier needs at least two"
        )
    return codes.astype(np.int64), classes


def _fits_uint8(values: np.ndarray) -> bool:
    return bool(values.size == 0 or (values.min() >= 0 and values.max() <= 255 and
                                     np.all(np.mod(values, 1) == 0)))


def _plain(values: np.ndarray) -> np.ndarray:
    """Ids as a numeric or unicode array: cache files never hold pickled objects."""
    if values.dtype == object:
        return values.astype(str)
    return values
