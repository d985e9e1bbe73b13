"""Ingest: the competition's train/test tables -> feature arrays, label codes, classes, test ids."""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from pipeline.config import IngestParams
from pipeline.errors import PipelineError

ID_NAMES = ("id", "imageid")
INDEX = re.compile(r"Unnamed: \d+")
PIXEL = re.compile(r"pixel_?\d+", re.IGNORECASE)


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
    label = _label_column(train, test, params, train_name, test_name)
    id_column = id_column_of(test, params, test_name)
    notes: list[str] = []
    # Row numbers are never features: ids, and the index column a DataFrame.to_csv adds.
    dropped = [str(c) for c in train.columns if c not in (label, id_column) and _row_numbers(c)]
    if dropped:
        notes.append(f"{train_name}: column {dropped[0]!r}{_more(dropped)} looks like row ids; not used as a feature")
    features = [c for c in train.columns if c not in (label, id_column, *dropped)]
    if not features:
        raise PipelineError(f"{train_name}: no feature columns besides {label!r}; add the features")
    extra = [str(c) for c in test.columns if c not in (*features, id_column, *dropped)]
    if extra:
        notes.append(f"{test_name}: column {extra[0]!r}{_more(extra)} is not in {train_name}; ignored")
    x = _numeric(train[features], train_name, params.fill_missing)
    # Train's column medians fill empty cells with --fill-missing (all-empty columns get 0).
    fill = np.nanmedian(np.where(np.isnan(x).all(axis=0), 0, x), axis=0) if params.fill_missing else None
    x = _finish(x, features, fill, train_name, notes)
    x_test = features_of(test, features, test_name, fill, notes, train_name)
    y, classes = _encode_labels(train[label], train_name, label)
    dtype = np.uint8 if _fits_uint8(x) and _fits_uint8(x_test) else np.float32

    return {
        "X": x.astype(dtype, copy=False),
        "y": y,
        "classes": classes,
        "X_test": x_test.astype(dtype, copy=False),
        "test_ids": ids_of(test, id_column, test_name),
        "feature_names": np.array([str(c) for c in features]),
        "id_column": np.array(id_column),
        "label_column": np.array(label),
        "notes": np.array(notes, dtype=str),
        "fill": np.zeros(0) if fill is None else fill,
    }


def features_of(frame: pd.DataFrame, features: list[str], name: str, fill: np.ndarray | None = None,
                notes: list[str] | None = None, train_name: str = "train.csv") -> np.ndarray:
    """The `features` columns of `frame` as a checked array, in that order; with `fill`
    (train's medians), empty cells take those values and a line goes to `notes`."""
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise PipelineError(
            f"{name}: feature column {missing[0]!r} of {train_name} is missing"
            f"{_more(missing)}; it needs the same feature columns as {train_name}"
        )
    return _finish(_numeric(frame[features], name, fill is not None), features, fill, name, notes)


def _finish(values: np.ndarray, features: list[str], fill: np.ndarray | None, name: str,
            notes: list[str] | None) -> np.ndarray:
    if fill is not None:
        holes = np.isnan(values)
        if holes.any():
            values = np.where(holes, fill, values)
            if notes is not None:
                notes.append(f"{name}: filled {int(holes.sum())} empty cells with train.csv's column medians")
    if all(PIXEL.fullmatch(str(c)) for c in features):
        _check_pixels(values, features, name)
    return values


def _label_column(train: pd.DataFrame, test: pd.DataFrame, params: IngestParams,
                  train_name: str, test_name: str) -> str:
    """--label-column, else `label`, else the one column of train that test lacks."""
    names = [str(c) for c in train.columns]
    if params.label_column:
        if params.label_column not in names:
            close = difflib.get_close_matches(params.label_column, names, n=1, cutoff=0.5)
            hint = f"did you mean --label-column {close[0]}?" if close else "pass --label-column NAME"
            raise PipelineError(f"{train_name}: no label column {params.label_column!r}; {hint}")
        return params.label_column
    if "label" in names:
        return "label"
    only_train = [c for c in names if c not in test.columns and not _row_numbers(c)]
    if len(only_train) == 1:
        return only_train[0]
    if not only_train:
        raise PipelineError(f"{train_name}: no label column found (no 'label', and {test_name} has every "
                            f"column of {train_name}); pass --label-column NAME")
    raise PipelineError(f"{train_name}: no label column found; {len(only_train)} columns are missing from "
                        f"{test_name} ({', '.join(map(repr, only_train[:5]))}); pass --label-column with "
                        f"the one to predict")


def _row_numbers(column: object) -> bool:
    return str(column).lower() in ID_NAMES or bool(INDEX.fullmatch(str(column)))


def _more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""


def id_column_of(test: pd.DataFrame, params: IngestParams, test_name: str) -> str:
    """--id-column, else an `id` or `ImageId` column of `test`, else "" (ids count from 1)."""
    if params.id_column:
        if params.id_column not in test.columns:
            raise PipelineError(f"{test_name}: no id column {params.id_column!r}; check --id-column")
        return params.id_column
    for column in test.columns:
        if str(column).lower() in ID_NAMES:
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
    return ids.astype(str) if ids.dtype == object else ids  # cache files never hold pickled objects


def _numeric(frame: pd.DataFrame, name: str, allow_missing: bool = False) -> np.ndarray:
    """Features as an array (integers as read, anything else float64), naming the first
    non-numeric (or, unless `allow_missing`, empty) cell otherwise."""
    if all(dtype.kind in "iu" for dtype in frame.dtypes):
        return frame.to_numpy()  # integer columns hold no empty, text or infinite cell
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
    if missing.any() and not allow_missing:
        row, col = np.argwhere(missing)[0]
        raise PipelineError(
            f"{name}: {int(missing.sum())} empty or NaN cells, the first in column "
            f"{frame.columns[col]!r} at line {row + 2}; fill them, or pass --fill-missing to use "
            f"each column's median in train.csv"
        )
    if np.isinf(values).any():
        row, col = np.argwhere(np.isinf(values))[0]
        raise PipelineError(
            f"{name}: infinite value in column {frame.columns[col]!r} at line {row + 2}; fix it"
        )
    return values


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


def _encode_labels(labels: pd.Series, name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    if labels.isna().any():
        row = int(np.argmax(labels.isna().to_numpy()))
        raise PipelineError(f"{name}: column {column!r} is empty at line {row + 2}; fill or drop that row")
    values = labels.to_numpy()
    if pd.api.types.is_float_dtype(labels) and np.isfinite(values).all() and np.all(np.mod(values, 1) == 0):
        values = values.astype(np.int64)  # "3.0" is the class 3
    elif values.dtype.kind in "iu":
        values = values.astype(np.int64)  # however the reader stored them
    elif not pd.api.types.is_numeric_dtype(labels):
        values = values.astype(str)
    classes, codes = np.unique(values, return_inverse=True)
    if values.dtype.kind == "f" and len(classes) > max(20, len(values) // 2):
        raise PipelineError(
            f"{name}: column {column!r} has {len(classes)} distinct values in {len(values)} rows, like a "
            f"regression target; this pipeline classifies, so give class labels (or --label-column)"
        )
    if len(classes) < 2:
        raise PipelineError(
            f"{name}: column {column!r} holds a single class ({classes[0].item()!r}); "
            f"a classifier needs at least two"
        )
    return codes.astype(np.int64), classes


def _fits_uint8(values: np.ndarray) -> bool:
    if values.dtype == np.uint8 or values.size == 0:
        return True
    whole = values.dtype.kind in "iu" or bool(np.all(np.floor(values) == values))
    return bool(whole and values.min() >= 0 and values.max() <= 255)
