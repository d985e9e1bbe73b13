"""The submission table: what each target's metric needs (labels, the K likeliest labels, a
probability, one per class, or numbers) under the competition's header, in its id order,
checked before writing."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError
from pipeline.targets import Target

DEFAULT_HEADER = ("ImageId", "Label")


def build_submission(
    targets: list[Target],
    predictions: list[np.ndarray],
    test_ids: np.ndarray,
    id_column: str,
    sample: pd.DataFrame | None = None,
    sample_name: str = "sample_submission.csv",
    cuts: list[np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per test row: ids and header from `sample` when given, else test's id column
    (named `id_column`, each target's values under its name), else `ImageId,Label` counted
    from 1. `predictions` (and the `cuts` labels need) are the predict stage's, a target each:
    class probabilities, or (n, 1) numbers."""
    parts = []
    for target, predicted, cut in zip(targets, predictions, cuts or [None] * len(targets)):
        values = _values(target, predicted, cut)
        _check_values(values, target)
        parts.append(values)
    values = pd.concat(parts, axis=1)
    if sample is not None:
        frame = _follow_sample(values, test_ids, sample, sample_name)
    else:
        id_name = id_column or DEFAULT_HEADER[0]
        if len(targets) == 1 and targets[0].task.output in ("label", "ranked") and not id_column:
            values.columns = [DEFAULT_HEADER[1]]
        frame = pd.concat([pd.DataFrame({id_name: test_ids}), values], axis=1)
    check_rows(frame, len(test_ids))
    return frame


def _values(target: Target, predictions: np.ndarray, cuts: np.ndarray | None) -> pd.DataFrame:
    """The target's predicted columns, named as without a sample."""
    task, classes, name = target.task, target.classes, target.name
    if task.output == "number":
        return pd.DataFrame({name: task.decode_target(predictions[:, 0].astype(np.float64))})
    if task.output == "probability":
        return pd.DataFrame({name: predictions[:, 1].astype(np.float64)})
    if task.output == "probabilities":
        names = list(target.class_columns) or [str(c) for c in classes]
        index = {str(c): i for i, c in enumerate(classes)}
        return pd.DataFrame({column: predictions[:, index[column]].astype(np.float64) for column in names})
    chosen = task.decide(predictions, cuts)
    if task.output == "ranked":
        ranked = classes.astype(str)[chosen]
        return pd.DataFrame({name: functools.reduce(lambda a, b: np.char.add(np.char.add(a, " "), b), ranked.T)})
    return pd.DataFrame({name: classes[chosen]})


def _follow_sample(values: pd.DataFrame, test_ids: np.ndarray, sample: pd.DataFrame, name: str) -> pd.DataFrame:
    """`values` in the sample's id order, under the sample's header (its columns in order;
    several targets' columns matched by name)."""
    check_sample_ids(sample, name, test_ids, "test.csv")
    if sample.shape[1] - 1 != values.shape[1]:
        raise PipelineError(f"{name} has {sample.shape[1] - 1} value columns, but the task writes "
                            f"{values.shape[1]}; use the competition's own sample, or delete it")
    wanted = [str(c) for c in sample.columns[1:]]
    if len(wanted) > 1 and sorted(wanted) == sorted(map(str, values.columns)):
        values = values[wanted]
    id_col = sample.columns[0]
    ordered = values.iloc[positions(sample[id_col], test_ids)].reset_index(drop=True)
    ordered.columns = list(sample.columns[1:])
    return pd.concat([pd.DataFrame({id_col: sample[id_col].to_numpy()}), ordered], axis=1)


def check_sample_ids(sample: pd.DataFrame, name: str, test_ids: np.ndarray, test_name: str) -> None:
    """One row per test row, each id a test id, no id twice."""
    if sample.shape[1] < 2:
        raise PipelineError(f"{name} has {sample.shape[1]} column; expected an id column and what to predict")
    if len(sample) != len(test_ids):
        raise PipelineError(f"{name} has {len(sample)} rows but {test_name} has {len(test_ids)}; "
                            f"use the sample_submission.csv of the same competition, or delete it")
    ids = sample.iloc[:, 0]
    found = positions(ids, test_ids)
    unknown = found < 0
    if unknown.any():
        row = int(np.argmax(unknown))
        raise PipelineError(f"{name}: id {str(ids.iloc[row]).strip()!r} at line {row + 2} is not a {test_name} id; "
                            f"use the sample_submission.csv of the same competition, or delete it")
    twice = pd.Index(found).duplicated()
    if twice.any():
        row = int(np.argmax(twice))
        raise PipelineError(f"{name}: id {str(ids.iloc[row]).strip()!r} at line {row + 2} appears twice; "
                            f"use the sample_submission.csv of the same competition, or delete it")


def positions(sample_ids: pd.Series, test_ids: np.ndarray) -> np.ndarray:
    """Where each of the sample's ids is among `test_ids` (-1 where it is not), comparing them
    as text (without spaces around), or as whole numbers when both are: millions of ids then
    take a second, not a minute."""
    test_ids = np.asarray(test_ids)
    if test_ids.dtype.kind in "iu" and pd.api.types.is_integer_dtype(sample_ids):
        return pd.Index(test_ids).get_indexer(sample_ids.to_numpy())
    return pd.Index(test_ids.astype(str)).get_indexer(sample_ids.astype(str).str.strip())


def check_rows(frame: pd.DataFrame, n_test: int) -> None:
    """One row per test row, each id once."""
    id_col = frame.columns[0]
    if len(frame) != n_test:
        raise PipelineError(f"submission has {len(frame)} rows, test.csv has {n_test}")
    if frame[id_col].duplicated().any():
        dup = frame[id_col][frame[id_col].duplicated()].iloc[0]
        raise PipelineError(f"submission id {dup!r} appears twice; make the ids unique")


def _check_values(values: pd.DataFrame, target: Target) -> None:
    """Values the metric can score: known labels (K distinct ones for a ranking), probabilities
    in [0, 1], finite numbers."""
    task, classes = target.task, target.classes
    if task.output == "label":
        unknown = ~values.iloc[:, 0].isin(classes)
        if unknown.any():
            raise PipelineError(f"submission label {values.iloc[:, 0][unknown].iloc[0]!r} is not a class")
        return
    if task.output == "ranked":
        cells = values.iloc[:, 0].str.split()
        known = {str(c) for c in classes}
        wrong = cells.map(lambda labels: len(labels) != task.k or len(set(labels)) != task.k or not known >= set(labels))
        if wrong.any():
            raise PipelineError(f"submission cell {values.iloc[:, 0][wrong].iloc[0]!r} is not {task.k} distinct classes")
        return
    numbers = values.to_numpy(dtype=np.float64)
    if not np.isfinite(numbers).all():
        raise PipelineError("submission holds a value that is not a finite number; the model diverged: "
                            "try another --seed or --model hgb")
    if task.output != "number" and ((numbers < 0) | (numbers > 1)).any():
        raise PipelineError("submission holds a probability outside [0, 1]")
