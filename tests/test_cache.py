"""The cache primitives: keys, atomic saves, corrupt files, raw-file fingerprints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pipeline import cache


def test_digest_is_stable_and_sensitive() -> None:
    assert cache.digest({"a": 1, "b": [1, 2]}) == cache.digest({"b": [1, 2], "a": 1})
    assert cache.digest({"a": 1}) != cache.digest({"a": 2})


def test_save_load_round_trip_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "stage.npz"
    arrays = {"x": np.arange(6, dtype=np.uint8).reshape(2, 3), "names": np.array(["cat", "dog"])}
    cache.save(path, arrays, {"key": "k1", "params": {"epochs": 3}})
    loaded = cache.load(path)
    assert set(loaded) == {"x", "names"}
    np.testing.assert_array_equal(loaded["x"], arrays["x"])
    assert loaded["names"].tolist() == ["cat", "dog"]
    assert cache.read_meta(path) == {"key": "k1", "params": {"epochs": 3}}
    assert cache.load(path, ("names",)).keys() == {"names"}
    assert [p.name for p in tmp_path.iterdir()] == ["stage.npz"]


def test_truncated_file_is_corrupt_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "stage.npz"
    cache.save(path, {"x": np.zeros(10_000)}, {"key": "k"})
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(cache.CorruptCache, match="unreadable"):
        cache.read_meta(path)
    assert cache.read_meta(tmp_path / "absent.npz") is None


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "stage.npz"
    cache.save(path, {"x": np.ones(3)}, {"key": "old"})
    with pytest.raises(ValueError):
        cache.save(path, {"x": [[1], [1, 2]]}, {"key": "new"})  # ragged: fails mid-write
    assert cache.read_meta(path) == {"key": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["stage.npz"]


def test_fingerprint_follows_content_not_mtime(tmp_path: Path) -> None:
    raw = tmp_path / "train.csv"
    raw.write_text("label,a\n1,2\n")
    first = cache.file_fingerprint(raw, tmp_path)
    os.utime(raw, ns=(raw.stat().st_atime_ns, raw.stat().st_mtime_ns + 10**9))
    assert cache.file_fingerprint(raw, tmp_path) == first
    raw.write_text("label,a\n1,3\n")
    assert cache.file_fingerprint(raw, tmp_path) != first


def test_fingerprint_memo_skips_rereading_unchanged_files(tmp_path: Path) -> None:
    raw = tmp_path / "train.csv"
    raw.write_text("label,a\n1,2\n")
    first = cache.file_fingerprint(raw, tmp_path)
    # Same size and mtime but different bytes: only a memo hit can return the old hash.
    stat = raw.stat()
    raw.write_text("label,a\n1,9\n")
    os.utime(raw, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.file_fingerprint(raw, tmp_path) == first


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / ".train.npz.999999999.tmp"
    mine = tmp_path / f".train.npz.{os.getpid()}.tmp"
    dead.write_bytes(b"half")
    mine.write_bytes(b"in progress")
    cache.remove_stale_temporaries(tmp_path)
    assert not dead.exists() and mine.exists()


def test_the_train_key_covers_every_module_of_the_training_room() -> None:
    """A change to how a network is fitted (the schedule, early stopping, ...) must re-run train."""
    from pipeline import declarations

    room = Path(declarations.__file__).parent
    modules = {p for p in (room / "training").glob("*.py")}
    assert modules <= set(declarations.code_files("train"))


GRAPH_STAGES = [("stages", name) for name in ("ingest", "preprocess", "split", "train", "validate", "predict")] + \
    [("cluster/stages", name) for name in ("ingest", "split", "train", "validate", "predict")]


@pytest.mark.parametrize("package, stage", GRAPH_STAGES)
def test_a_stages_key_hashes_every_pipeline_module_its_code_imports(package: str, stage: str) -> None:
    """Read independently of the key's own code: each `pipeline` module the stage imports
    (at any depth of the file, not under TYPE_CHECKING) is in its key."""
    import re

    from pipeline import declarations

    graph = next(g for g in (declarations.LOCAL, declarations.CLUSTER) if g.package == package)
    root = Path(declarations.__file__).parent
    source = (root / package / f"{stage}.py").read_text()
    source = re.sub(r"\nif TYPE_CHECKING:\n(    .*\n)+", "\n", source)
    imported = set()
    for module, names in re.findall(r"^\s*from pipeline(\.[\w.]+)? import ([\w, ]+)", source, re.M):
        base = root.joinpath(*module.strip(".").split(".")) if module else root
        for name in [n.strip().split(" as ")[0] for n in names.split(",")]:
            candidates = (base / f"{name}.py", base / name / "__init__.py", base.with_suffix(".py"))
            imported.add(next(c for c in candidates if c.is_file()))
    assert imported and imported <= set(graph.code_files(stage))


@pytest.mark.parametrize("package, stage", GRAPH_STAGES)
def test_what_the_runner_reads_of_a_stages_declaration_is_what_its_function_takes(package: str, stage: str) -> None:
    """The runner reads READS from the source text (the cached path imports no stage); that
    must be the module's own READS, and each field it names a parameter of the function, which
    needs nothing the runner does not give."""
    import importlib
    import inspect

    from pipeline import declarations

    module = importlib.import_module(f"pipeline.{package.replace('/', '.')}.{stage}")
    reads, per_target = declarations.declared(stage, package)
    assert reads == module.READS and per_target == getattr(module, "PER_TARGET", False)
    parameters = inspect.signature(getattr(module, stage)).parameters
    given = {"params", "hooks", *(f for fields in reads.values() for f in ((fields,) if isinstance(fields, str) else fields))}
    assert given - {"hooks"} <= set(parameters)
    required = {name for name, p in parameters.items() if p.default is inspect.Parameter.empty}
    assert required <= given


def test_a_change_to_an_imported_module_changes_the_key_and_an_unrelated_one_does_not(tmp_path: Path) -> None:
    import shutil

    from pipeline import declarations

    package = tmp_path / "pipeline"
    shutil.copytree(Path(declarations.__file__).parent, package)

    def ingest_key() -> str:
        return cache.source_digest(*cache.imported_sources(package / "stages" / "ingest.py", package))

    before = ingest_key()
    with open(package / "kaggle.py", "a") as f:  # never imported by ingest
        f.write("# a comment\n")
    assert ingest_key() == before
    with open(package / "submission.py", "a") as f:  # ingest checks the sample with it
        f.write("# a comment\n")
    assert ingest_key() != before
    config = ingest_key()
    with open(package / "config.py", "a") as f:  # ingest reads its parameters' type only
        f.write("# a comment\n")
    assert ingest_key() == config
