"""The submission table: decoded labels under the competition's header, checked before writing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

DEFAULT_HEADER = ("ImageId", "Label")


def build_submission(
    probs: np.ndarray,
    classes: np.ndarray,
    test_ids: np.ndarray,
    id_column: str,
    label_column: str,
    sample: pd.DataFrame | None = None,
    sample_name: str = "sample_submission.csv",
) -> pd.DataFrame:
    """One row per test row: ids and header from `sample` when given, else test's id column
    (named `id_column`, labels under `label_column`), else `ImageId,Label` counted from 1."""
    labels = classes[probs.argmax(axis=1)]
    if sample is not None:
        frame = _follow_sample(labels, test_ids, sample, sample_name)
    elif id_column:
        frame = pd.DataFrame({id_column: test_ids, label_column: labels})
    else:
        frame = pd.DataFrame({DEFAULT_HEADER[0]: test_ids, DEFAULT_HEADER[1]: labels})
    check_submission(frame, len(probs), classes)
    return frame


def _follow_sample(
    labels: np.ndarray, test_ids: np.ndarray, sample: pd.DataFrame, name: str
) -> pd.DataFrame:
    if sample.shape[1] < 2:
        raise PipelineError(f"{name} has {sample.shape[1]} column; expected an id and a label column")
    id_col, label_col = sample.columns[:2]
    if len(sample) != len(test_ids):
        raise PipelineError(
            f"{name} has {len(sample)} rows but test.csv has {len(test_ids)}; "
            f"use the sample_submission.csv of the same competition, or delete it"
        )
    position = {str(i): n for n, i in enumerate(test_ids)}
    sample_ids = sample[id_col].astype(str).str.strip()
    unknown = ~sample_ids.isin(position.keys())
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        raise PipelineError(
            f"{name}: id {sample_ids.iloc[row]!r} at line {row + 2} is not a test.csv id; "
            f"use the sample_submission.csv of the same competition, or delete it"
        )
    order = sample_ids.map(position).to_numpy()
    return pd.DataFrame({id_col: sample[id_col].to_numpy(), label_col: labels[order]})


def check_submission(frame: pd.DataFrame, n_test: int, classes: np.ndarray) -> None:
    """The promises a submission keeps: one row per test row, unique ids, known labels."""
    id_col, label_col = frame.columns[:2]
    if len(frame) != n_test:
        raise PipelineError(f"submission has {len(frame)} rows, test.csv has {n_test}")
    if frame[id_col].duplicated().any():
        dup = frame[id_col][frame[id_col].duplicated()].iloc[0]
        raise PipelineError(f"submission id {dup!r} appears twice; make the ids unique")
    unknown = ~pd.Series(frame[label_col]).isin(classes)
    if unknown.any():
        raise PipelineError(f"submission label {frame[label_col][unknown].iloc[0]!r} is not a class")
