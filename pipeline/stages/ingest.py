"""Ingest: the competition's tables -> the targets and their tasks, the column schema,
feature arrays, test ids and the submission's layout.

Each target's task (binary, multiclass or regression; the competition's metric; a binary
task's positive class; what the submission holds) and the schema (see pipeline.schema) are
decided here, once, and stored with the arrays for every later stage to ask. Several targets
are stored as pipeline.targets says. sample_submission.csv, when there is one, is checked
against test.csv here, before any training, and tells what the submission must hold.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline import schema as schemas
from pipeline import texts
from pipeline.errors import PipelineError
from pipeline.hooks import QUIET, Hooks
from pipeline.frames import PIXEL, filled, features_of, id_column_of, ids_of
from pipeline.submission import check_sample_ids
from pipeline.targets import Target, combine, summaries
from pipeline.task import Task, choose_metric, choose_output, positive_class, target_kind

if TYPE_CHECKING:
    from pipeline.config import IngestParams


READS = {"raw": ("train", "test", "sample_submission")}  # the CSVs, read by pipeline.io (the runner reads this line)


def ingest(
    train: pd.DataFrame,
    test: pd.DataFrame,
    params: IngestParams,
    sample_submission: pd.DataFrame | None = None,
    hooks: Hooks = QUIET,
) -> dict[str, np.ndarray]:
    """Validate the tables and turn them into arrays; errors name each table's file as
    pipeline.io.read_csv recorded it (`frame.attrs["file"]`), else train.csv, test.csv and
    sample_submission.csv.

    Returns X/X_test (uint8 when every value is an integer in 0..255, else float32 with NaN
    for missing cells), the text columns' own strings (`text`, `text_test`, packed by
    pipeline.texts), the schema, test_ids, `notes` to show the user and, for each target
    (see pipeline.targets), y (class codes into `classes`, the positive class of a binary task
    last; or the regression target) with its task and the column names a submission needs.
    """
    sample = sample_submission
    train_name, test_name = _file(train, "train.csv"), _file(test, "test.csv")
    sample_name = _file(sample, "sample_submission.csv")
    notes: list[str] = []
    labels, train_only = _label_columns(train, test, params, train_name, test_name, sample)
    train = _rows_with_a_target(train, labels, train_name, notes)
    sample_ids = str(sample.columns[0]) if sample is not None and sample.shape[1] else ""
    id_column = id_column_of(test, params, test_name, sample_ids)
    candidates = [str(c) for c in train.columns if c not in (*labels, *train_only, id_column)]
    if id_column in train.columns:
        notes.append(f"{train_name}: column {id_column!r} is the id column of {test_name}; not used as a feature")
    if train_only:
        notes.append(f"{train_name}: column {train_only[0]!r}{_more(train_only)} is not in {test_name} nor "
                     f"{sample_name}; not used")
    pixels = bool(candidates) and all(PIXEL.fullmatch(c) for c in candidates)
    if pixels:  # images: every column a number, no schema to infer
        schema = schemas.Schema(tuple(candidates), (schemas.NUMERIC,) * len(candidates))
        dropped = [c for c in candidates if schemas.is_row_number(c)]
    else:
        schema = schemas.infer(train, candidates, train_name, notes)
        dropped = [c for c in candidates if c not in schema.columns]
    if not schema.columns:
        raise PipelineError(f"{train_name}: no feature columns besides {', '.join(map(repr, labels))}; "
                            f"add the features")
    extra = [str(c) for c in test.columns if c not in (*schema.columns, id_column, *dropped)]
    if extra:
        notes.append(f"{test_name}: column {extra[0]!r}{_more(extra)} is not in {train_name}; ignored")

    test_ids = ids_of(test, id_column, test_name)
    if sample is not None:
        check_sample_ids(sample, sample_name, test_ids, test_name)
        if len(labels) > 1 and sorted(map(str, sample.columns[1:])) != sorted(labels):
            raise PipelineError(f"{sample_name} has the columns {', '.join(map(repr, map(str, sample.columns[1:])))}, "
                                f"but the targets are {', '.join(map(repr, labels))}; name the sample's columns with "
                                f"--label-column, or delete the sample")
    targets = [_target(train[label], label, params, train_name, _sample_of(sample, label, len(labels)),
                       sample_name, notes) for label in labels]
    if params.positive_class and not any(t.task.kind == "binary" for t, _ in targets):
        kinds = ", ".join(f"{t.name!r} is {t.task.kind}" for t, _ in targets)
        raise PipelineError(f"--positive-class {params.positive_class} is for a binary target, and {kinds}; "
                            f"drop it with --positive-class ''")

    x = features_of(train, schema, train_name, None, notes, train_name, params.fill_missing)
    # Train's column medians fill empty cells with --fill-missing (all-empty columns get 0).
    fill = np.nanmedian(np.where(np.isnan(x).all(axis=0), 0, x), axis=0) if params.fill_missing else None
    if fill is not None:
        x = filled(x, fill, train_name, notes)
    x_test = features_of(test, schema, test_name, fill, notes, train_name, params.fill_missing)
    dtype = np.uint8 if not schema.tabular and _fits_uint8(x) and _fits_uint8(x_test) else np.float32
    shared = {
        "X": x.astype(dtype, copy=False),
        "X_test": x_test.astype(dtype, copy=False),
        "text": texts.pack(texts.of(train, schema, train_name, train_name)),  # their strings (pipeline.texts)
        "text_test": texts.pack(texts.of(test, schema, test_name, train_name)),
        "text_columns": np.array(texts.columns(schema), dtype=str),
        "test_ids": test_ids,
        "id_column": np.array(id_column),
        "notes": np.array(notes, dtype=str),
        "fill": np.zeros(0) if fill is None else fill,
        **schema.to_arrays(),
    }
    for line in summaries([target for target, _ in targets]):
        hooks.info(line)
    return combine([{**target.to_arrays(), "y": y} for target, y in targets], labels, shared)


def _file(frame: pd.DataFrame | None, default: str) -> str:
    return str(frame.attrs.get("file", default)) if frame is not None else default


def _label_columns(train: pd.DataFrame, test: pd.DataFrame, params: IngestParams, train_name: str,
                   test_name: str, sample: pd.DataFrame | None) -> tuple[list[str], list[str]]:
    """The targets: --label-column (names separated by commas), else `label`, else the one
    column of train that test lacks, else the columns of train that test lacks which the
    sample names (several targets). Also the other columns only train has, which the sample
    does not ask for: they are neither targets nor features."""
    names = [str(c) for c in train.columns]
    only_train = [c for c in names if c not in test.columns and not schemas.is_row_number(c)]
    asked = [str(c) for c in sample.columns[1:]] if sample is not None else []
    if params.label_column:
        wanted = [name.strip() for name in params.label_column.split(",") if name.strip()]
        for name in wanted:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
                hint = f"did you mean --label-column {close[0]}?" if close else "pass --label-column NAME"
                raise PipelineError(f"{train_name}: no label column {name!r}; {hint}")
            if name in test.columns:
                raise PipelineError(f"{test_name} has the column {name!r} too, so it is not a target (a target is "
                                    f"what {test_name} lacks); --label-column names a column only {train_name} has")
        unasked = [c for c in only_train if c not in wanted] if sorted(asked) == sorted(wanted) else []
        return wanted, unasked
    if "label" in names:
        return ["label"], []
    if len(only_train) == 1:
        return only_train, []
    if asked and all(c in only_train for c in asked):
        return asked, [c for c in only_train if c not in asked]
    if not only_train:
        raise PipelineError(f"{train_name}: no label column found (no 'label', and {test_name} has every "
                            f"column of {train_name}); pass --label-column NAME")
    raise PipelineError(f"{train_name}: no label column found; {len(only_train)} columns are missing from "
                        f"{test_name} ({', '.join(map(repr, only_train[:5]))}); pass --label-column with "
                        f"the one to predict (or several, separated by commas)")


def _rows_with_a_target(train: pd.DataFrame, labels: list[str], name: str, notes: list[str]) -> pd.DataFrame:
    """Rows whose target is empty teach nothing: they are dropped, with a note (an error when
    every row is)."""
    empty = train[labels].isna().any(axis=1).to_numpy()
    if not empty.any():
        return train
    label = " or ".join(map(repr, labels))
    if empty.all():
        raise PipelineError(f"{name}: column {label} is empty in every row; fill the target, or pass "
                            f"--label-column with the column to predict")
    row = int(np.argmax(empty))
    notes.append(f"{name}: {int(empty.sum())} rows have no {label} (the first at line {row + 2}); "
                 f"left out of training")
    return train.loc[~empty].reset_index(drop=True)


def _sample_of(sample: pd.DataFrame | None, label: str, n_targets: int) -> pd.DataFrame | None:
    """The part of the sample that answers for `label`: all of it for one target, else the
    ids and its column."""
    if sample is None or n_targets == 1:
        return sample
    return sample[[sample.columns[0], label]]


def _asks_for_numbers(sample: pd.DataFrame | None) -> bool:
    """Whether the sample's one value column holds a fraction above 1 (such as 5.87, a mean):
    a number to predict, not a class or a probability."""
    if sample is None or sample.shape[1] != 2 or not pd.api.types.is_float_dtype(sample.iloc[:, 1]):
        return False
    values = sample.iloc[:, 1].dropna()
    return bool(((values % 1 != 0) & (values.abs() > 1)).any())


def _target(labels: pd.Series, column: str, params: IngestParams, name: str, sample: pd.DataFrame | None,
            sample_name: str, notes: list[str]) -> tuple[Target, np.ndarray]:
    """The target `column`: its task and classes, and y (class codes, the positive class of a
    binary task being 1; or float64 values)."""
    kind, y, classes = _values(labels, params, name, column, _asks_for_numbers(sample))
    output, class_columns, k = _sample_layout(sample, sample_name, kind, classes, column)
    positive, guessed = "", ""
    if kind == "binary":
        index, guessed = positive_class(classes, np.bincount(y, minlength=2), params.positive_class, column, name)
        if index == 0:
            y, classes = 1 - y, classes[::-1].copy()
        positive = str(classes[1])
    metric = choose_metric(kind, params.metric, output, y, k)
    task = Task(kind, metric, choose_output(kind, metric, output, k), positive)
    if guessed and (task.output == "probability" or metric in ("auc", "f1")):
        notes.append(guessed)
    if metric == "rmsle" and params.metric == "auto":
        notes.append(f"{name}: {column!r} is positive and skewed, as prices are: scored by RMSLE and "
                     f"learned as its logarithm (--metric rmse to change)")
    if metric == "qwk" and classes.dtype.kind not in "iu":
        raise PipelineError(f"--metric qwk scores ordered whole-number classes, and {column!r} holds text "
                            f"({', '.join(map(repr, map(str, classes[:3])))}); use another --metric")
    if task.output == "ranked":
        _check_ranked(classes, task.k, column, name)
    return Target(column, task, classes, tuple(class_columns)), y


def _check_ranked(classes: np.ndarray, k: int, column: str, name: str) -> None:
    """K labels per row, space-separated: K distinct classes, none with a space in its name."""
    if len(classes) < k:
        raise PipelineError(f"MAP@{k} asks for {k} labels per row, but {column!r} has {len(classes)} classes in "
                            f"{name}; use --metric map@{len(classes)} or less")
    spaced = [str(c) for c in classes if len(str(c).split()) != 1]
    if spaced:
        raise PipelineError(f"{name}: class {spaced[0]!r} of {column!r} holds a space, so {k} space-separated "
                            f"labels per row cannot name it; rename the class")


def _values(labels: pd.Series, params: IngestParams, name: str, column: str,
            numbers_asked: bool = False) -> tuple[str, np.ndarray, np.ndarray]:
    """The task's kind, y (class codes, or float64 values) and the classes (empty for a
    regression). Whole numbers are classes unless there are many, or the sample asks for
    `numbers_asked` and there are more than two."""
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    values = labels.to_numpy()
    if numeric:
        values = values.astype(np.float64)
        if not np.isfinite(values).all():
            row = int(np.argmax(~np.isfinite(values)))
            raise PipelineError(f"{name}: column {column!r} holds an infinite value at line {row + 2}; fix it")
        if np.all(np.mod(values, 1) == 0):
            values = values.astype(np.int64)  # "3.0" is the class 3
    else:
        values = values.astype(str)
    requested = params.task
    if requested == "auto" and numeric and numbers_asked and len(np.unique(values)) > 2:
        requested = "regression"
    kind = target_kind(values, numeric, requested, column, name)
    if kind == "regression":
        return kind, values.astype(np.float64), np.zeros(0)
    classes, codes = np.unique(values, return_inverse=True)
    return kind, codes.astype(np.int64), classes


def _sample_layout(sample: pd.DataFrame | None, name: str, kind: str, classes: np.ndarray,
                   label: str) -> tuple[str, list[str], int]:
    """What sample_submission.csv asks for ("" without one): "label", "ranked" (K labels per
    cell, K returned last), "probability" (a column of fractions such as 0.5, for a binary
    task), "probabilities" (one column per class, whose names are returned in the sample's
    order) or "number"."""
    if sample is None:
        return "", [], 1
    values = sample.columns[1:]
    if kind == "regression":
        return "number", [], 1
    if len(values) >= 2:
        wanted = {_class_key(c, label): str(c) for c in classes}
        found = [_class_key(v, label) for v in values]
        unknown = [str(v) for v, key in zip(values, found) if key not in wanted]
        if unknown or len(set(found)) != len(classes):
            raise PipelineError(
                f"{name}: columns {', '.join(map(repr, [str(v) for v in values][:5]))} do not name the classes of "
                f"{label!r} ({', '.join(map(str, classes[:5]))}); use the competition's own sample, or delete it")
        order = {_class_key(c, label): i for i, c in enumerate(classes)}
        return "probabilities", [str(classes[order[key]]) for key in found], 1
    column = sample[values[0]]
    if kind == "binary" and pd.api.types.is_float_dtype(column):
        filled = column.dropna()
        if len(filled) and ((filled > 0) & (filled < 1)).any() and ((filled >= 0) & (filled <= 1)).all():
            return "probability", [], 1
    k = _labels_per_cell(column, classes, name)
    return ("ranked", [], k) if k > 1 else ("label", [], 1)


def _labels_per_cell(column: pd.Series, classes: np.ndarray, name: str) -> int:
    """How many space-separated labels each cell of the sample holds (a class whose name holds
    a space counts as one); one count for every cell, or an error naming two cells that differ."""
    cells = column.dropna().astype(str).str.strip()
    if cells.empty:
        return 1
    counts = cells.str.split().str.len().where(~cells.isin({str(c) for c in classes}), 1)
    if counts.nunique() == 1:
        return int(counts.iloc[0])
    first, other = counts.index[0], counts.index[int(np.argmax((counts != counts.iloc[0]).to_numpy()))]
    raise PipelineError(f"{name}: column {column.name!r} holds {counts[first]} label(s) at line {first + 2} "
                        f"({cells[first]!r}) but {counts[other]} at line {other + 2} ({cells[other]!r}); every cell "
                        f"holds one label, or K labels for MAP@K: use the competition's own sample, or delete it")


def _class_key(name: object, label: str) -> str:
    """A class named in a sample's header: `Gentoo`, or `species_Gentoo` / `Status_C` as Kaggle writes them."""
    text = str(name).strip().lower()
    prefix = f"{label.lower()}_"
    return text[len(prefix):] if text.startswith(prefix) else text


def _more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""


def _fits_uint8(values: np.ndarray) -> bool:
    if values.dtype == np.uint8 or values.size == 0:
        return True
    if np.isnan(values).any():
        return False
    whole = values.dtype.kind in "iu" or bool(np.all(np.floor(values) == values))
    return bool(whole and values.min() >= 0 and values.max() <= 255)
