"""The submission table: what the task's metric needs (labels, a probability, one per class, or
numbers) under the competition's header, in its id order, checked before writing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError
from pipeline.task import Task

DEFAULT_HEADER = ("ImageId", "Label")
CLASSES = Task("multiclass", "accuracy", "label")


def build_submission(
    predictions: np.ndarray,
    classes: np.ndarray,
    test_ids: np.ndarray,
    id_column: str,
    label_column: str,
    sample: pd.DataFrame | None = None,
    sample_name: str = "sample_submission.csv",
    task: Task = CLASSES,
    class_columns: np.ndarray | list[str] = (),
) -> pd.DataFrame:
    """One row per test row: ids and header from `sample` when given, else test's id column
    (named `id_column`, values under `label_column`), else `ImageId,Label` counted from 1.
    `predictions` are the predict stage's: class probabilities, or a regression's (n, 1)."""
    values = _values(predictions, classes, task, class_columns, label_column)
    if sample is not None:
        frame = _follow_sample(values, test_ids, sample, sample_name)
    else:
        id_name = id_column or DEFAULT_HEADER[0]
        if task.output == "label" and not id_column:
            values = values.rename(columns={label_column: DEFAULT_HEADER[1]})
        frame = pd.concat([pd.DataFrame({id_name: test_ids}), values], axis=1)
    check_submission(frame, len(predictions), classes, task)
    return frame


def _values(predictions: np.ndarray, classes: np.ndarray, task: Task, class_columns: np.ndarray | list[str],
            label_column: str) -> pd.DataFrame:
    """The predicted columns, named as without a sample."""
    if task.output == "number":
        return pd.DataFrame({label_column: task.decode_target(predictions[:, 0].astype(np.float64))})
    if task.output == "probability":
        return pd.DataFrame({label_column: predictions[:, 1].astype(np.float64)})
    if task.output == "probabilities":
        names = [str(c) for c in class_columns] or [str(c) for c in classes]
        index = {str(c): i for i, c in enumerate(classes)}
        return pd.DataFrame({name: predictions[:, index[name]].astype(np.float64) for name in names})
    return pd.DataFrame({label_column: classes[predictions.argmax(axis=1)]})


def _follow_sample(values: pd.DataFrame, test_ids: np.ndarray, sample: pd.DataFrame, name: str) -> pd.DataFrame:
    """`values` in the sample's id order, under the sample's header (its columns in order)."""
    check_sample_ids(sample, name, test_ids, "test.csv")
    if sample.shape[1] - 1 != values.shape[1]:
        raise PipelineError(f"{name} has {sample.shape[1] - 1} value columns, but the task writes "
                            f"{values.shape[1]}; use the competition's own sample, or delete it")
    id_col = sample.columns[0]
    position = {str(i): n for n, i in enumerate(test_ids)}
    sample_ids = sample[id_col].astype(str).str.strip()
    order = sample_ids.map(position).to_numpy()
    ordered = values.iloc[order].reset_index(drop=True)
    ordered.columns = list(sample.columns[1:])
    return pd.concat([pd.DataFrame({id_col: sample[id_col].to_numpy()}), ordered], axis=1)


def check_sample_ids(sample: pd.DataFrame, name: str, test_ids: np.ndarray, test_name: str) -> None:
    """One row per test row, each id a test id, no id twice."""
    if sample.shape[1] < 2:
        raise PipelineError(f"{name} has {sample.shape[1]} column; expected an id column and what to predict")
    if len(sample) != len(test_ids):
        raise PipelineError(f"{name} has {len(sample)} rows but {test_name} has {len(test_ids)}; "
                            f"use the sample_submission.csv of the same competition, or delete it")
    ids = sample.iloc[:, 0].astype(str).str.strip()
    unknown = ~ids.isin({str(i) for i in test_ids})
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        raise PipelineError(f"{name}: id {ids.iloc[row]!r} at line {row + 2} is not a {test_name} id; "
                            f"use the sample_submission.csv of the same competition, or delete it")
    if ids.duplicated().any():
        row = int(np.argmax(ids.duplicated().to_numpy()))
        raise PipelineError(f"{name}: id {ids.iloc[row]!r} at line {row + 2} appears twice; "
                            f"use the sample_submission.csv of the same competition, or delete it")


def check_submission(frame: pd.DataFrame, n_test: int, classes: np.ndarray, task: Task = CLASSES) -> None:
    """The promises a submission keeps: one row per test row, unique ids, and values the
    metric can score (known labels, probabilities in [0, 1], finite numbers)."""
    id_col, value_cols = frame.columns[0], list(frame.columns[1:])
    if len(frame) != n_test:
        raise PipelineError(f"submission has {len(frame)} rows, test.csv has {n_test}")
    if frame[id_col].duplicated().any():
        dup = frame[id_col][frame[id_col].duplicated()].iloc[0]
        raise PipelineError(f"submission id {dup!r} appears twice; make the ids unique")
    if task.output == "label":
        unknown = ~pd.Series(frame[value_cols[0]]).isin(classes)
        if unknown.any():
            raise PipelineError(f"submission label {frame[value_cols[0]][unknown].iloc[0]!r} is not a class")
        return
    values = frame[value_cols].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise PipelineError("submission holds a value that is not a finite number; the model diverged: "
                            "try another --seed or --model hgb")
    if task.output != "number" and ((values < 0) | (values > 1)).any():
        raise PipelineError("submission holds a probability outside [0, 1]")
