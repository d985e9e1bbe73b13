"""Ingest on a cluster: the task, the schema and the submission's layout decided as the
single-process ingest decides them (pipeline.stages.ingest, on the first HEAD_ROWS rows of
each CSV, with the whole sample), then every block of train.csv and test.csv read and
encoded on the workers with that schema into a partition file of its own
(pipeline.cluster.parts): its features, and a train row's target and hash, a test row's id.
A cell the schema cannot read stops it with the single-process error, naming the file's line.

This stage calls the single-process ingest rather than restating its decisions: the two
engines decide a competition the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.cluster import parts
from pipeline.cluster.client import connect
from pipeline.errors import PipelineError
from pipeline.frames import features_of, ids_of
from pipeline.hooks import QUIET, Hooks
from pipeline.schema import Schema
from pipeline.stages import ingest as single
from pipeline.submission import check_sample_ids
from pipeline.targets import Target, TARGETS

if TYPE_CHECKING:
    from pipeline.config import IngestParams

READS = {"paths": ("train", "test", "sample_submission")}  # the CSVs' paths: the workers read them
HEAD_ROWS = 100_000  # of each CSV, on which the task and the schema are decided
PER_ARRAY = ("X", "X_test", "text", "text_test", "test_ids", "y")  # the head's rows: the partitions hold these


def ingest(train: Path, test: Path, params: IngestParams, sample_submission: Path | None = None,
           hooks: Hooks = QUIET) -> dict[str, np.ndarray]:
    """The single-process ingest's task, schema, targets and notes (its arrays of rows
    aside), and `train_parts`, `test_parts` (the partition files, in the CSVs' order) with
    their `train_rows`, `test_rows`, and every `test_ids`; the partitions are written in
    `hooks.parts`."""
    sample = io.read_part(sample_submission, sample_submission) if sample_submission else None
    heads = {path: io.read_part(path, path, nrows=HEAD_ROWS) for path in (train, test)}
    test_head = heads[test]
    decided = single.ingest(heads[train], test_head, params, _sample_head(sample, test_head, params), QUIET)
    if TARGETS in decided:
        raise PipelineError(f"--cluster trains one target, and {train.name} has {len(decided[TARGETS])}; "
                            f"run it without --cluster")
    schema = Schema.from_arrays(decided)
    if not schema.tabular:
        raise PipelineError(f"{train.name} holds images; --cluster is for tables: run it without --cluster")
    target = Target.from_arrays(decided)
    fill = decided["fill"] if decided["fill"].size else None
    id_column = str(decided["id_column"])
    hooks.info(f"the task and the columns were decided on the first {min(HEAD_ROWS, len(heads[train])):,} rows of "
               f"{train.name}")
    notes = [str(n) for n in decided["notes"]]
    client = connect(hooks.cluster, hooks.info)
    train_parts = parts.encode_all(client, train, hooks.parts, "train",
                                   _TrainRows(schema, target, fill, params.fill_missing, train.name), hooks.progress)
    test_parts = parts.encode_all(client, test, hooks.parts, "test",
                                  _TestRows(schema, fill, params.fill_missing, id_column, train.name), hooks.progress)
    for part in (*train_parts, *test_parts):
        notes += [n for n in part.notes if _shape(n) not in map(_shape, notes)]
    rows = np.array([part.rows for part in test_parts], dtype=np.int64)
    test_ids = (np.concatenate(parts.gather(client, [p.path for p in test_parts], _ids)) if id_column
                else np.arange(1, rows.sum() + 1))
    if id_column:
        _check_unique(test_ids, id_column, test.name)
    if sample is not None:
        check_sample_ids(sample, sample_submission.name, test_ids, test.name)
    return {
        **{k: v for k, v in decided.items() if k not in PER_ARRAY},
        "notes": np.array(notes, dtype=str),
        "train_parts": np.array([part.path for part in train_parts], dtype=str),
        "train_rows": np.array([part.rows for part in train_parts], dtype=np.int64),
        "test_parts": np.array([part.path for part in test_parts], dtype=str),
        "test_rows": rows,
        "test_ids": test_ids,
    }


class _TrainRows:
    """A train block's arrays: x (float32), y (class codes, or the target's values) and
    each row's hash; rows without a target are left out."""

    def __init__(self, schema: Schema, target: Target, fill: np.ndarray | None, fill_missing: bool, name: str):
        self.schema, self.target, self.fill, self.fill_missing, self.name = schema, target, fill, fill_missing, name

    def __call__(self, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[str]]:
        notes: list[str] = []
        label = self.target.name
        if label not in frame.columns:
            raise PipelineError(f"{self.name}: no label column {label!r}; pass --label-column NAME")
        x = _features(frame, self.schema, self.name, self.fill, self.fill_missing, notes)
        kept = frame[label].notna().to_numpy()
        if not kept.all():
            notes.append(f"{self.name}: {int((~kept).sum())} rows have no {label!r}; left out of training")
        return {"x": x[kept], "y": _target(frame[label][kept], self.target, self.name),
                parts.HASH: pd.util.hash_pandas_object(frame[kept], index=False).to_numpy()}, notes


class _TestRows:
    """A test block's arrays: x (float32) and, with an id column, the ids."""

    def __init__(self, schema: Schema, fill: np.ndarray | None, fill_missing: bool, id_column: str, train_name: str):
        self.schema, self.fill, self.fill_missing, self.train_name = schema, fill, fill_missing, train_name
        self.id_column = id_column

    def __call__(self, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[str]]:
        notes: list[str] = []
        name = str(frame.attrs.get("file", "test.csv"))
        arrays = {"x": _features(frame, self.schema, name, self.fill, self.fill_missing, notes, self.train_name)}
        if self.id_column:
            arrays["ids"] = ids_of(frame, self.id_column, name)
        return arrays, notes


def _features(frame: pd.DataFrame, schema: Schema, name: str, fill: np.ndarray | None, fill_missing: bool,
              notes: list[str], train_name: str | None = None) -> np.ndarray:
    return features_of(frame, schema, name, fill, notes, train_name or name, fill_missing).astype(np.float32)


def _target(labels: pd.Series, target: Target, name: str) -> np.ndarray:
    """A block's target: class codes into the classes the head found, or a regression's
    values; `labels` keeps the block's row numbers (its index), which errors name."""
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if target.task.regression:
        values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            row = int(np.argmax(~np.isfinite(values)))
            raise PipelineError(f"{name}: column {target.name!r} holds {str(labels.iloc[row])!r} at line "
                                f"{labels.index[row] + 2}, not a finite number; fix it")
        return values
    classes = target.classes
    if numeric and classes.dtype.kind in "iuf":
        values = labels.to_numpy(dtype=np.float64)
        whole = classes.dtype.kind in "iu" and bool(np.all(np.mod(values, 1) == 0))
        codes = pd.Index(classes).get_indexer(values.astype(np.int64) if whole else values)
    else:  # as text, as ingest compares text classes (never cut to the classes' width)
        codes = pd.Index(classes.astype(str).astype(object)).get_indexer(labels.astype(str).to_numpy(dtype=object))
    if (codes < 0).any():
        row = int(np.argmax(codes < 0))
        raise PipelineError(f"{name}: column {target.name!r} holds {str(labels.iloc[row])!r} at line "
                            f"{labels.index[row] + 2}, a class "
                            f"the first {HEAD_ROWS:,} rows do not have; move a row of it up among them, or run "
                            f"without --cluster")
    return codes.astype(np.int64)


def _sample_head(sample: pd.DataFrame | None, test_head: pd.DataFrame, params: IngestParams) -> pd.DataFrame | None:
    """The sample's rows for the test rows the head holds, as the single-process ingest checks them."""
    if sample is None or sample.shape[1] < 2 or len(test_head) == 0:
        return sample
    id_name = str(sample.columns[0])
    column = params.id_column or (id_name if id_name in test_head.columns else "")
    wanted = (test_head[column].astype(str).str.strip() if column
              else pd.Series(np.arange(1, len(test_head) + 1)).astype(str))
    return sample.loc[sample[id_name].astype(str).str.strip().isin(set(wanted))].reset_index(drop=True)


def _ids(part: str) -> np.ndarray:
    return parts.load(part, ("ids",))["ids"]


def _check_unique(ids: np.ndarray, column: str, name: str) -> None:
    seen = pd.Index(ids)
    if seen.has_duplicates:
        row = int(np.argmax(seen.duplicated()))
        raise PipelineError(f"{name}: id {ids[row]!r} of column {column!r} appears twice (the second at line "
                            f"{row + 2}); make the ids unique")


def _shape(note: str) -> str:
    """A note without its counts: one block's note stands for the same note of the others."""
    return re.sub(r"\d[\d,]*", "#", note)

