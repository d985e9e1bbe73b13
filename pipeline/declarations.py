"""What each stage reads, as it declares it: the one line `READS = {...}` (and `PER_TARGET =
True`) of each module in a stage package, read from the source without importing the stage
(the import would bring pandas or scikit-learn onto the cached path); the groups of fields a
stage may take as one argument; and the source files each stage's key hashes, found from
its imports. The runner (pipeline.runner) loads and passes what is declared here.

There are two stage graphs, one per engine: pipeline/stages/ (one process, the whole table
in memory) and pipeline/cluster/stages/ (Dask, a table in partitions; `--cluster`).
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pipeline import cache

if TYPE_CHECKING:
    import numpy as np

STAGES = ("ingest", "preprocess", "split", "train", "validate", "predict")
CLUSTER_STAGES = ("ingest", "split", "train", "validate", "predict")  # a table's preprocessing is ingest's encoding
RAW = "raw"  # what a stage reading it gets: the CSVs by their stems, read by pipeline.io
PATHS = "paths"  # ... or their paths, for a stage that reads them itself (in partitions)
RAW_FILES = ("train", "test")
SAMPLE = "sample_submission"  # read too, when there is one
# Groups of fields a stage may read as one keyword argument, decoded by the function named.
SCHEMA = ("columns", "column_kinds", "vocabulary", "vocabulary_sizes", "with_time", "with_minute",
          "date_formats")  # pipeline.schema's fields
GROUPS = {"task": (("task", "metric", "output", "positive"), "pipeline.task:Task.from_arrays"),
          "schema": (SCHEMA, "pipeline.schema:Schema.from_arrays"),
          "text": (("text", "text_columns"), "pipeline.texts:train_of"),
          "text_test": (("text_test", "text_columns"), "pipeline.texts:test_of")}
HERE = Path(__file__).parent


def declared(name: str, package: str = "stages") -> tuple[dict[str, tuple[str, ...] | str], bool]:
    """Stage `name`'s declaration in the stage package `package` (a folder of pipeline/),
    read from its source without importing it (the import would bring pandas or
    scikit-learn onto the cached path): `READS`, {upstream stage, RAW or PATHS: the fields
    its function takes as keyword arguments, or one name for all of them as one argument},
    and whether it runs once per target (`PER_TARGET = True`)."""
    text = (HERE.joinpath(*package.split("/")) / f"{name}.py").read_text(encoding="utf-8")
    reads = re.search(r"^READS = (\{.*?\})[ \t]*(?:#.*)?$", text, re.MULTILINE | re.DOTALL)
    if reads is None:
        raise RuntimeError(f"pipeline/{package}/{name}.py declares no READS")
    return ast.literal_eval(reads.group(1)), re.search(r"^PER_TARGET = True", text, re.MULTILINE) is not None


@dataclass(frozen=True)
class Graph:
    """The stages of one engine, in order, as their modules in `package` (a folder of
    pipeline/) declare them; their cache entries live in data/processed/`folder`."""

    package: str
    stages: tuple[str, ...]
    folder: str = ""

    @cached_property
    def inputs(self) -> dict[str, dict[str, tuple[str, ...] | str]]:
        """stage -> {upstream: the fields it reads}. Loading only those keeps e.g. the test
        images out of memory while the network trains."""
        return {name: declared(name, self.package)[0] for name in self.stages}

    @cached_property
    def per_target(self) -> set[str]:
        return {name for name in self.stages if declared(name, self.package)[1]}

    @cached_property
    def deps(self) -> dict[str, tuple[str, ...]]:
        return {name: tuple(dep for dep in inputs if dep not in (RAW, PATHS)) for name, inputs in self.inputs.items()}

    def reads_raw(self, name: str) -> bool:
        return bool({RAW, PATHS} & set(self.inputs[name]))

    def code_files(self, name: str) -> list[Path]:
        """The source files stage `name`'s key hashes: its module and what it imports within
        `pipeline`, found from the imports themselves, and what the runner calls for it: the
        splitting and combining of targets (targets.py), and for RAW the CSV reader (io.py)."""
        starts = [HERE.joinpath(*self.package.split("/")) / f"{name}.py", HERE / "targets.py",
                  *([HERE / "io.py"] if RAW in self.inputs[name] else [])]
        return sorted({f for start in starts for f in cache.imported_sources(start, HERE)})

    def stage(self, name: str) -> Callable[..., dict[str, np.ndarray]]:
        """The stage function, imported only when the stage runs (scikit-learn, pandas and
        TensorFlow stay off the cached path)."""
        module = "pipeline." + self.package.replace("/", ".")
        return getattr(importlib.import_module(f"{module}.{name}"), name)


LOCAL = Graph("stages", STAGES)  # one process, the whole table in memory
CLUSTER = Graph("cluster/stages", CLUSTER_STAGES, "cluster")  # Dask (--cluster): a table in partitions


def code_files(name: str) -> list[Path]:
    """The source files the single-process stage `name`'s key hashes (Graph.code_files)."""
    return LOCAL.code_files(name)


def fields(wanted: tuple[str, ...] | str) -> tuple[str, ...]:
    """The cached fields to load for a READS entry: all (empty) for one name, else each with
    a group's fields in its place."""
    if isinstance(wanted, str):
        return ()
    return tuple(f for name in wanted for f in (GROUPS[name][0] if name in GROUPS else (name,)))


def arguments(wanted: tuple[str, ...] | str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The keyword arguments a READS entry gives: all the arrays under one name; else each
    field (None where the stage stored none, such as `folds` of one split), a group decoded."""
    if isinstance(wanted, str):
        return {wanted: arrays}
    found: dict[str, Any] = {}
    for name in wanted:
        if name in GROUPS:
            module, path = GROUPS[name][1].split(":")
            decode: Any = importlib.import_module(module)
            for attribute in path.split("."):
                decode = getattr(decode, attribute)
            found[name] = decode(arrays)
        else:
            found[name] = arrays.get(name)
    return found
