"""Files written from the cached model for users: the checked submission for test.csv, and
batch prediction of any CSV with train.csv's feature columns. Each brings the stages it needs
up to date through the runner, then reads their outputs from its cache; --out is checked
before any work starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from pipeline import cache, targets
from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.declarations import SAMPLE, SCHEMA
from pipeline.runner import Runner
from pipeline.targets import FIELDS

SUBMISSION_FIELDS = ("test_ids", "id_column", *FIELDS)


def write_submission(runner: Runner, out: Path, before_writing: Callable[[Path], None] | None = None) -> Any:
    """Write the checked submission for the cached (or freshly computed) predictions to
    `out` (calling `before_writing(out)` once it is checked); returns it as a DataFrame."""
    from pipeline import io
    from pipeline.submission import build_submission

    check_out(runner.config, out)
    runner.run("predict")
    info = runner.outputs("ingest", SUBMISSION_FIELDS)
    predicted = targets.views(runner.outputs("predict"))
    sample_path = io.find_raw(runner.config.raw_dir, SAMPLE, required=False)
    frame = build_submission(
        targets.of(info),
        [p["predictions"] for p in predicted],
        info["test_ids"],
        str(info["id_column"]),
        io.read_csv(sample_path) if sample_path else None,
        sample_path.name if sample_path else "",
        [p["cuts"] for p in predicted],
    )
    if before_writing:
        before_writing(out)
    io.write_csv(frame, out)
    return frame


def predict_file(runner: Runner, path: Path, out: Path) -> Any:
    """Batch prediction: the trained model on any CSV that has train.csv's feature
    columns, written to `out` like a submission (with `path`'s id column if it has one).
    Reads only `path` and the cache; `path` is read and checked against train.csv's columns
    before training, when the model is not fresh."""
    from pipeline import io, models, texts
    from pipeline.schema import Schema
    from pipeline.frames import PIXEL, features_of, id_column_of, ids_of, transform
    from pipeline.hooks import Hooks
    from pipeline.submission import build_submission

    check_out(runner.config, out)
    if not path.is_file():
        raise PipelineError(f"--input {path} not found; give a CSV with train.csv's feature columns")
    tables = "preprocess" not in runner.graph.stages  # the cluster's graph: tables, as ingest encodes them
    runner.run("ingest" if tables else "preprocess")
    frame = io.read_csv(path, runner.reading(path), PIXEL)
    info = runner.outputs("ingest", (*SUBMISSION_FIELDS, *SCHEMA, "fill"))
    stats = {"image_shape": ()} if tables else runner.outputs("preprocess", ("image_shape", "low", "high"))
    fill = info["fill"] if info["fill"].size else None
    schema = Schema.from_arrays(info)
    x = transform(features_of(frame, schema, path.name, fill, fill_missing=fill is not None), stats)
    text = texts.of(frame, schema, path.name) if texts.columns(schema) else None
    id_column = id_column_of(frame, runner.config.ingest, path.name, str(info["id_column"]))
    ids = ids_of(frame, id_column, path.name)
    runner.run("train")
    trained = targets.views(runner.outputs("train"))
    predictions = [models.predict_proba(model, x, Hooks(progress=runner.report.progress).predicting,
                                       tta=runner.config.predict.tta, text=text)
                   for model in trained]
    result = build_submission(targets.of(info), predictions, ids, id_column,
                              cuts=[model["cuts"] if "cuts" in model else None for model in trained])
    io.write_csv(result, out)
    return result


def check_out(config: Config, out: Path) -> None:
    """Fail before any work when `out` cannot be written."""
    if out.is_dir():
        raise PipelineError(f"--out {out} is a folder; give a file name such as {out}/sub.csv")
    if config.raw_dir.resolve() in out.resolve().parents:
        raise PipelineError(f"--out {out} is inside {config.raw_dir}, which is never written; use submissions/")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(out.parent, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise PipelineError(f"--out {out}: cannot write in {out.parent}; choose a writable path")
    cache.remove_stale_temporaries(out.parent)
