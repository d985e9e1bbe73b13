"""The ordered stage graph: decide what is fresh, run what is not, and report why.

A stage's key hashes its name, its source code, its own parameters, its inputs' keys and
(for ingest) the content hashes of the raw CSVs. Keys are computed without running anything,
so a fully cached run reads only each output's small `__meta__` record and never imports
TensorFlow, pandas, scikit-learn or numpy.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pipeline import cache, exports, faults, targets
from pipeline.cache import TARGETS
from pipeline.config import Config
from pipeline.declarations import CLUSTER, LOCAL, PATHS, RAW, RAW_FILES, SAMPLE, Graph, arguments, fields
from pipeline.errors import PipelineError
from pipeline.hooks import Hooks
from pipeline.targets import FIELDS, Target

if TYPE_CHECKING:
    import numpy as np

NEVER_RUN = "never run"
CHECKPOINTS = ".checkpoints"  # in data/processed/: an unfinished stage's backups (training's epochs), by its key
PARTS = "parts"  # in data/processed/: a cluster stage's partitions (pipeline.cluster), by its key


class Reporter:
    """Receives what the runner does; the CLI renders it. This default stays silent."""

    def plan(self, stages: list[StageStatus]) -> None:
        """Before any work: the stages about to run, each with why (a changed setting, a
        changed file, --force)."""

    def stage(self, name: str, action: str, reason: str) -> None:
        """`action` is "cached" or "run"; `reason` says why it runs."""

    def finished(self, name: str, seconds: float) -> None: ...

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def epoch(self, label: str, logs: dict[str, float]) -> None:
        """One finished epoch; `label` reads like "net 2/3 epoch 4/20"."""

    def progress(self, task: str, done: int, total: int, detail: str = "") -> None:
        """Long work: `done` of `total` units (bytes, batches) of `task`; `detail` says more
        (rows per second, the running loss)."""


@dataclass(frozen=True)
class StageStatus:
    name: str
    state: str  # fresh | stale | missing
    reason: str


class Runner:
    """Runs the stages of one data directory under one configuration."""

    def __init__(self, config: Config, reporter: Reporter | None = None, force: bool = False,
                 resume: bool = True, tensorboard: bool = False):
        self.config = config
        self.report = reporter or Reporter()
        self.force = force
        self.resume = resume
        self.tensorboard = tensorboard  # training also writes TensorBoard logs (not part of the key)
        self._records: dict[str, dict[str, Any]] = {}
        self._outputs: dict[str, dict[str, np.ndarray]] = {}
        self._ran: set[str] = set()
        self._tensorboard: Path | None = None  # this run's TensorBoard folder, named when first asked for
        self.graph: Graph = CLUSTER if config.engine.cluster else LOCAL

    # -- keys and freshness -------------------------------------------------------------

    def path(self, name: str) -> Path:
        return self.config.processed_dir / self.graph.folder / f"{name}.npz"

    def record(self, name: str) -> dict[str, Any]:
        """What the stage's key is made of (stored with its output as `__meta__`)."""
        if name not in self._records:
            record: dict[str, Any] = {
                "stage": name,
                "code": cache.source_digest(*self.graph.code_files(name)),
                "params": self.config.section(name),
                "inputs": {dep: self.key(dep) for dep in self.graph.deps[name]},
            }
            if self.graph.reads_raw(name):
                record["raw"] = {path.name: cache.file_fingerprint(path, self.config.processed_dir)
                                 for path in self._raw_paths()}
            self._records[name] = record
        return self._records[name]

    def key(self, name: str) -> str:
        return cache.digest(self.record(name))

    def _raw_paths(self) -> list[Path]:
        """train.csv, test.csv and, when there is one, sample_submission.csv."""
        from pipeline import io

        sample = io.find_raw(self.config.raw_dir, SAMPLE, required=False)
        return [io.find_raw(self.config.raw_dir, stem) for stem in RAW_FILES] + ([sample] if sample else [])

    def state(self, name: str) -> StageStatus:
        """Fresh, stale (and why) or missing, without loading any data."""
        try:
            stored = cache.read_meta(self.path(name))
        except cache.CorruptCache as exc:
            return StageStatus(name, "missing", f"{exc}")
        if stored is None:
            return StageStatus(name, "missing", NEVER_RUN)
        try:
            current = self.record(name)
        except PipelineError as exc:
            return StageStatus(name, "stale", str(exc))
        if stored.get("key") == self.key(name):
            return StageStatus(name, "fresh", "")
        return StageStatus(name, "stale", _why_stale(stored, current))

    def status(self) -> list[StageStatus]:
        return [self.state(name) for name in self.graph.stages]

    @property
    def ran(self) -> set[str]:
        """The stages this runner computed."""
        return set(self._ran)

    def targets(self) -> list[Target] | None:
        """The targets ingest decided, each with its task (pipeline.targets), when its cache
        entry is fresh; else None. Reads a few small members of ingest.npz."""
        if self.state("ingest").state != "fresh":
            return None
        try:
            return targets.of(cache.load(self.path("ingest"), FIELDS))
        except cache.CorruptCache:
            return None

    # -- running ------------------------------------------------------------------------

    def run(self, target: str) -> None:
        """Bring `target` and everything it needs up to date, under the data-dir lock."""
        with self._lock():
            for folder in (self.config.processed_dir, self.config.models_dir):
                cache.remove_stale_temporaries(folder)
            todo = [StageStatus(name, "stale", "--force") if self.force and name not in self._ran else status
                    for name in self._closure(target) if (status := self.state(name)).state != "fresh"
                    or (self.force and name not in self._ran)]
            if todo:
                self.report.plan(todo)
            for name in self._closure(target):
                status = self.state(name)
                if self.force and name not in self._ran:
                    self._compute(name, "--force")
                elif status.state == "fresh":
                    self.report.stage(name, "cached", "")
                else:
                    if status.state == "missing" and status.reason != NEVER_RUN:
                        self.report.warn(f"{status.reason}; recomputing {name}")
                    self._compute(name, status.reason)
            self._refresh_exports(self._closure(target))
            if self.tensorboard and not self._ran:
                self.report.info("every stage is cached: TensorBoard logs are written only when training runs "
                                 "(add --force to train again)")

    def outputs(self, name: str, fields: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """A stage's outputs (only `fields` when given), loaded from the cache or recomputed."""
        if name in self._outputs:
            return self._outputs[name]
        status = self.state(name)
        if status.state == "fresh":
            try:
                loaded = cache.load(self.path(name), fields)
            except cache.CorruptCache as exc:
                self.report.warn(f"{exc}; recomputing {name}")
            else:
                if not fields:
                    self._outputs[name] = loaded
                return loaded
            status = StageStatus(name, "missing", "cache file unreadable")
        return self._compute(name, status.reason)

    def reading(self, path: Path) -> Callable[[int, int, int], None]:
        """Progress of reading a CSV: bytes, and the rows so far and per second."""
        started = time.perf_counter()

        def progress(done: int, size: int, rows: int) -> None:
            rate = rows / max(time.perf_counter() - started, 1e-6)
            self.report.progress(f"reading {path.name} ({size / 1e6:.1f} MB)", done, size,
                                 f"{rows:,} rows, {rate:,.0f} rows/s")

        return progress

    def _closure(self, target: str) -> list[str]:
        stages, deps = self.graph.stages, self.graph.deps
        if target not in deps:
            engine = f" with --cluster {self.config.engine.cluster}" if self.graph is CLUSTER else ""
            raise PipelineError(f"unknown stage {target!r}{engine}; use one of {', '.join(stages)}")
        needed = {target}
        for name in reversed(stages):
            if name in needed:
                needed.update(deps[name])
        return [name for name in stages if name in needed]

    def _compute(self, name: str, reason: str) -> dict[str, np.ndarray]:
        self.report.stage(name, "run", reason)
        faults.point(name)
        loaded = {dep: self.outputs(dep, fields(wanted)) for dep, wanted in self.graph.inputs[name].items()
                  if dep in self.graph.deps[name]}
        started = time.perf_counter()
        try:
            result = self._call(name, loaded)
        except OSError as exc:  # e.g. training's checkpoints on a full disk
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise
            raise PipelineError(
                f"cannot write {exc.filename or self.config.processed_dir} ({exc.strerror}); free space "
                f"or make {self.config.processed_dir} writable"
            ) from None
        for note in result.get("notes", ()):  # what the stage found in the data, cached with it
            self.report.warn(str(note))
        exported = exports.export(name, result, self.config)  # before the save: a kill in between re-runs the stage
        meta = {**self.record(name), "key": self.key(name), "seconds": time.perf_counter() - started,
                "export": exported}
        try:
            cache.save(self.path(name), result, meta)
        except OSError as exc:
            raise PipelineError(
                f"cannot write {self.path(name)} ({exc.strerror}); free space or make "
                f"{self.config.processed_dir} writable"
            ) from None
        shutil.rmtree(self._checkpoints(name), ignore_errors=True)
        with contextlib.suppress(OSError):
            self._checkpoints(name).parent.rmdir()  # when no other stage's are left
        self._ran.add(name)  # not kept in memory: the stages after it load only the fields they read
        self.report.finished(name, meta["seconds"])
        return result

    def _call(self, name: str, loaded: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The stage function on the fields it declares (`loaded`, and the CSVs for RAW), once
        per target for a PER_TARGET stage; the others get the first target's fields."""
        function = self.graph.stage(name)
        kwargs: dict[str, Any] = {"params": self.config.params(name)}
        hooks = self._hooks(name) if "hooks" in inspect.signature(function).parameters else None
        if hooks:
            kwargs["hooks"] = hooks
        if RAW in self.graph.inputs[name]:
            kwargs.update(self._read_raw())
        if PATHS in self.graph.inputs[name]:
            kwargs.update({SAMPLE: None}, **dict(zip((*RAW_FILES, SAMPLE), self._raw_paths())))
        views = {dep: targets.views(arrays) for dep, arrays in loaded.items()}
        names = next(([str(n) for n in arrays[TARGETS]] for arrays in loaded.values() if TARGETS in arrays), [])
        several = bool(names) and name in self.graph.per_target
        parts = []
        for i in range(len(names) if several else 1):
            for dep, wanted in self.graph.inputs[name].items():
                if dep in views:
                    kwargs.update(arguments(wanted, views[dep][i if len(views[dep]) > 1 else 0]))
            if several:
                self.report.info(f"{name} target {i + 1}/{len(names)}: {names[i]!r}")
                if hooks:
                    kwargs["hooks"] = hooks.named(f"{names[i]}: ", f"t{i}")
            parts.append(function(**kwargs))
        return targets.combine(parts, names) if several else parts[0]

    def _read_raw(self) -> dict[str, Any]:
        """train.csv, test.csv and sample_submission.csv (None without one), by their stems."""
        from pipeline import io
        from pipeline.frames import PIXEL

        frames: dict[str, Any] = {SAMPLE: None}
        for stem, path in zip((*RAW_FILES, SAMPLE), self._raw_paths()):  # the sample last, when there is one
            frames[stem] = frame = io.read_csv(path, self.reading(path), PIXEL)
            self.report.info(f"read {path.name}: {len(frame)} rows, {frame.shape[1]} columns")
        return frames

    def _hooks(self, name: str) -> Hooks:
        """What stage `name` may tell the user, and its checkpoints folder: resumed when a killed
        run left one (unless --no-resume); folders of keys no stage has now are stale."""
        if self.tensorboard and self._tensorboard is None:
            self._tensorboard = self.config.reports_dir / "tensorboard" / time.strftime("%Y%m%d-%H%M%S")
        folder = self._checkpoints(name)
        current = {self.key(stage) for stage in self.graph.stages}
        for old in folder.parent.glob("*"):
            if old.name not in current or (old == folder and not self.resume):
                shutil.rmtree(old, ignore_errors=True)
        parts = None
        if self.graph is CLUSTER:  # partitions of keys no cluster stage has now are stale
            parts = (self.config.processed_dir / PARTS / self.key(name)).resolve()
            for old in parts.parent.glob("*"):
                if old.name not in current or (old == parts and self.force):
                    shutil.rmtree(old, ignore_errors=True)
        return Hooks(info=self.report.info, epoch=self._epoch, progress=self.report.progress,
                     checkpoints=folder, tensorboard=self._tensorboard, parts=parts,
                     cluster=self.config.engine.cluster)

    def _checkpoints(self, name: str) -> Path:
        return self.config.processed_dir / CHECKPOINTS / self.key(name)

    def _epoch(self, label: str, logs: dict[str, float]) -> None:
        self.report.epoch(label, logs)
        faults.point("epoch")
        faults.point(f"epoch:{label.strip()}")

    # -- files outside the cache: models/model.keras and reports/metrics.json (pipeline.exports)

    def validation(self) -> dict[str, Any]:
        """The validated model's metrics, as reports/metrics.json records them (read from there,
        which a cached run keeps whole, without loading any array)."""
        import json

        path = self.exported("validate")
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            from pipeline.reports import metrics_record

            return metrics_record(self.outputs("validate"))

    def exported(self, name: str) -> Path | None:
        """The file the stage's cached run exported (models/model.keras, reports/metrics.json)."""
        try:
            exported = (cache.read_meta(self.path(name)) or {}).get("export")
        except cache.CorruptCache:
            return None
        return Path(exported) if exported else None

    def _refresh_exports(self, names: list[str]) -> None:
        """Re-create an exported file that was deleted or damaged, from its fresh cache entry."""
        for name in names:
            path = self.exported(name)
            if path is None or exports.readable(path):
                continue
            if path.exists():
                self.report.warn(f"{path} is damaged; writing it again")
            exports.export(name, self.outputs(name), self.config)

    def _lock(self) -> Any:
        from filelock import FileLock, Timeout

        folder = self.config.processed_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PipelineError(f"cannot create {folder} ({exc.strerror}); choose a writable --data-dir") from None
        lock = FileLock(folder / ".lock")
        try:
            try:
                return lock.acquire(timeout=0)
            except Timeout:
                self.report.info(f"waiting for another pipeline run in {self.config.data_dir} to finish")
                return lock.acquire()
        except OSError as exc:
            raise PipelineError(f"cannot write in {folder} ({exc.strerror}); make it writable or choose "
                                f"another --data-dir") from None


def _why_stale(stored: dict[str, Any], current: dict[str, Any]) -> str:
    reasons = []
    for file, digest in current.get("raw", {}).items():
        old = stored.get("raw", {}).get(file)
        reasons.append(f"{file} is new" if old is None else f"{file} changed" if old != digest else "")
    reasons += [f"{file} is gone" for file in stored.get("raw", {}) if file not in current.get("raw", {})]
    old_params = stored.get("params", {})
    for param, value in current["params"].items():
        if old_params.get(param) != value:
            reasons.append(f"{param} {old_params.get(param)!r} -> {value!r}")
    for dep, key in current["inputs"].items():
        if stored.get("inputs", {}).get(dep) != key:
            reasons.append(f"{dep} changed")
    if stored.get("code") != current["code"]:
        reasons.append("code changed")
    return ", ".join(r for r in reasons if r) or "key changed"
