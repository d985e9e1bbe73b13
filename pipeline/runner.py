"""The ordered stage graph: decide what is fresh, run what is not, and report why.

A stage's key hashes its name, its source code, its own parameters, its inputs' keys and
(for ingest) the content hashes of the raw CSVs. Keys are computed without running anything,
so a fully cached run reads only each output's small `__meta__` record and never imports
TensorFlow, pandas, scikit-learn or numpy.
"""

from __future__ import annotations

import errno
import importlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from pipeline import cache, exports, faults, targets
from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.targets import FIELDS, Target
from pipeline.task import Task

if TYPE_CHECKING:
    import numpy as np

STAGES = ("ingest", "preprocess", "split", "train", "validate", "predict")
# stage -> {upstream stage: the output fields it reads (empty: all)}. Loading only those keeps
# e.g. the test images out of memory while the network trains.
TARGET = ("y", *FIELDS)  # ingest's record of each target: its values, task and classes (pipeline.targets)
SCHEMA = ("columns", "column_kinds", "vocabulary", "vocabulary_sizes", "with_time", "with_minute",
          "date_formats")  # pipeline.schema
INPUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ingest": {},
    "preprocess": {"ingest": ("X", "X_test", "column_kinds")},
    "split": {"ingest": TARGET, "preprocess": ("image_shape",)},
    "train": {"ingest": (*TARGET, *SCHEMA), "preprocess": ("x",), "split": ("train_idx", "val_idx", "folds")},
    "validate": {"ingest": (*TARGET, "feature_columns"), "preprocess": ("x",), "split": ("val_idx", "folds"),
                 "train": ()},
    "predict": {"preprocess": ("x_test",), "train": ()},
}
DEPS = {name: tuple(inputs) for name, inputs in INPUTS.items()}
RAW_FILES = ("train", "test")  # read by ingest
SAMPLE = "sample_submission"  # read by ingest too, when there is one
# Beside its own module's imports, the code a stage's output depends on, which the runner calls:
# ingest's raw files are read by io.py; train, validate and predict run once per target through
# targets.py. Each stage's code key is these and everything they import.
READERS: dict[str, tuple[str, ...]] = {"ingest": ("io.py",), "train": ("targets.py",), "validate": ("targets.py",),
                                       "predict": ("targets.py",)}
NEVER_RUN = "never run"
CHECKPOINTS = ".checkpoints"  # in data/processed/: an unfinished train stage's epoch backups


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

    # -- keys and freshness -------------------------------------------------------------

    def path(self, name: str) -> Path:
        return self.config.processed_dir / f"{name}.npz"

    def record(self, name: str) -> dict[str, Any]:
        """What the stage's key is made of (stored with its output as `__meta__`)."""
        if name not in self._records:
            record: dict[str, Any] = {
                "stage": name,
                "code": cache.source_digest(*code_files(name)),
                "params": self.config.section(name),
                "inputs": {dep: self.key(dep) for dep in DEPS[name]},
            }
            if name == "ingest":
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
        return [self.state(name) for name in STAGES]

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
                    if name == "train" and self.tensorboard:
                        self.report.info("train is cached: TensorBoard logs are written only when it runs "
                                         "(add --force to train again)")
                else:
                    if status.state == "missing" and status.reason != NEVER_RUN:
                        self.report.warn(f"{status.reason}; recomputing {name}")
                    self._compute(name, status.reason)
            self._refresh_exports(self._closure(target))

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
        if target not in DEPS:
            raise PipelineError(f"unknown stage {target!r}; use one of {', '.join(STAGES)}")
        needed = {target}
        for name in reversed(STAGES):
            if name in needed:
                needed.update(DEPS[name])
        return [name for name in STAGES if name in needed]

    def _compute(self, name: str, reason: str) -> dict[str, np.ndarray]:
        self.report.stage(name, "run", reason)
        inputs = {dep: self.outputs(dep, fields) for dep, fields in INPUTS[name].items()}
        started = time.perf_counter()
        try:
            result = getattr(self, f"_run_{name}")(inputs)
        except OSError as exc:  # e.g. training's checkpoints on a full disk
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise
            raise PipelineError(
                f"cannot write {exc.filename or self.config.processed_dir} ({exc.strerror}); free space "
                f"or make {self.config.processed_dir} writable"
            ) from None
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
        if name == "train":
            shutil.rmtree(self.config.processed_dir / CHECKPOINTS, ignore_errors=True)
        self._ran.add(name)  # not kept in memory: the stages after it load only the fields they read
        self.report.finished(name, meta["seconds"])
        return result

    # -- the stages' adapters: inputs from the cache -> the pure stage function ----------

    def _run_ingest(self, inputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        from pipeline import io
        from pipeline.frames import PIXEL

        paths = self._raw_paths()
        frames = []
        for path in paths:
            frames.append(io.read_csv(path, self.reading(path), PIXEL))
            self.report.info(f"read {path.name}: {len(frames[-1])} rows, {frames[-1].shape[1]} columns")
        sample = (frames[2], paths[2].name) if len(paths) > 2 else (None, "")
        result = _stage("ingest")(frames[0], frames[1], self.config.ingest, paths[0].name, paths[1].name, *sample)
        for note in result["notes"]:
            self.report.warn(str(note))
        for line in summaries(targets.of(result)):
            self.report.info(line)
        return result

    def _run_preprocess(self, inputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        ingested = inputs["ingest"]
        tabular = bool((ingested["column_kinds"] != "numeric").any())
        return _stage("preprocess")(ingested["X"], ingested["X_test"], self.config.preprocess, tabular)

    def _run_split(self, inputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        first = targets.views(inputs["ingest"])[0]  # several targets share one split, stratified by the first
        tabular = not inputs["preprocess"]["image_shape"].size
        result = _stage("split")(first["y"], first["classes"], self.config.split, Task.from_arrays(first), tabular)
        if "folds" in result:
            k = int(result["folds"].max()) + 1
            self.report.info(f"{k} stratified folds of about {len(result['val_idx'])} rows: every model trains {k} "
                             f"times and is judged on the rows it did not train on (--folds 1 for one split)")
        elif tabular:
            self.report.info(f"one held-out split of {len(result['val_idx'])} rows (--folds 5 for five folds)")
        return result

    def _per_target(self, ingested: dict[str, np.ndarray], *results: dict[str, np.ndarray],
                    saying: str = "") -> Iterator[tuple[int, Target, dict[str, np.ndarray], list[dict[str, np.ndarray]]]]:
        """Each target: its index, itself, its ingest arrays and its part of each of `results`;
        with several, a line `saying` what is done for it first."""
        views = targets.views(ingested)
        parts = [targets.views(result) for result in results]
        for i, view in enumerate(views):
            target = Target.from_arrays(view)
            if len(views) > 1 and saying:
                self.report.info(f"{saying} target {i + 1}/{len(views)}, {target.name!r}: {target.task.description}")
            yield i, target, view, [part[i] for part in parts]

    def _run_train(self, inputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        from pipeline.schema import Schema
        started = time.perf_counter()
        checkpoints = self._checkpoints()
        tensorboard = self._tensorboard()
        ingested = inputs["ingest"]
        several = targets.count(ingested) > 1
        parts = []
        for i, target, view, _ in self._per_target(ingested, saying="training"):
            named = f"{target.name}: " if several else ""
            result = _stage("train")(
                inputs["preprocess"]["x"],
                view["y"],
                inputs["split"]["train_idx"],
                inputs["split"]["val_idx"],
                len(target.classes),
                self.config.train,
                on_epoch=lambda label, logs, named=named: self._epoch(named + label, logs),
                on_batch=lambda task, *rest, named=named: self.report.progress(named + task, *rest),
                checkpoints=checkpoints / f"t{i}" if several else checkpoints,
                tensorboard=tensorboard / f"t{i}" if several and tensorboard else tensorboard,
                task=target.task,
                schema=Schema.from_arrays(ingested),
                folds=inputs["split"].get("folds"),
            )
            if "candidates" in result:
                scores = ", ".join(f"{name} {score:.4f}" for name, score in
                                   zip(result["candidates"], result["candidate_scores"]))
                kept = str(result["arch"])
                if "blend_parts" in result:
                    kept += " of " + ", ".join(f"{p} {w:.2f}" for p, w in zip(result["blend_parts"], result["blend_weights"]))
                self.report.info(f"{named}kept {kept} (validation {result['metric']}: {scores})")
            parts.append(result)
        result = targets.combine(parts, [str(n) for n in ingested.get("targets", [])])
        if images := sum(int(part["images_trained"]) for part in parts):
            rate = images / (time.perf_counter() - started)
            first = parts[0]
            what = "rows" if "spec_names" in first or "candidates" in first else "images"
            arithmetic = f" in {first['precision']}" if "precision" in first else ""
            replicas = int(first["replicas"]) if "replicas" in first else 1
            spread = f" on {replicas} replicas ({first['strategy']})" if replicas > 1 else ""
            self.report.info(f"trained on {images:,} {what} at {rate:,.0f} {what}/s{arithmetic}{spread}")
        return result

    def _tensorboard(self) -> Path | None:
        """With --tensorboard, a new folder for this run's logs under reports/tensorboard/."""
        if not self.tensorboard:
            return None
        folder = self.config.reports_dir / "tensorboard" / time.strftime("%Y%m%d-%H%M%S")
        self.report.info(f"TensorBoard logs: {folder} (view with: tensorboard --logdir {folder.parent})")
        return folder

    def _checkpoints(self) -> Path:
        """Where the train stage of this key keeps its checkpoints: resumed when a killed run
        left some (unless --no-resume); those of other keys are stale and removed."""
        root = self.config.processed_dir / CHECKPOINTS
        folder = root / self.key("train")
        for old in root.glob("*"):
            if old != folder or not self.resume:
                shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            self.report.info(f"resuming training from the checkpoints in {folder}")
        return folder

    def _epoch(self, label: str, logs: dict[str, float]) -> None:
        self.report.epoch(label, logs)
        faults.point("epoch")
        faults.point(f"epoch:{label.strip()}")

    def _run_validate(self, inputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        faults.point("validate")
        ingested = inputs["ingest"]
        parts = [_stage("validate")(
            inputs["preprocess"]["x"],
            view["y"],
            inputs["split"]["val_idx"],
            model,
            target.classes,
            self.config.predict.tta,
            self.predicting,
            target.task,
            ingested["feature_columns"],
        ) for _, target, view, (model,) in self._per_target(ingested, inputs["train"])]
        return targets.scored(parts, [str(n) for n in ingested.get("targets", [])])

    def _run_predict(self, inputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        predict = _stage("predict")
        parts = [predict(inputs["preprocess"]["x_test"], model, self.config.predict.tta, self.predicting)
                 for model in targets.views(inputs["train"])]
        return targets.combine(parts, [str(n) for n in inputs["train"].get("targets", [])])

    def predicting(self, done: int, total: int) -> None:
        self.report.progress("predicting", done, total)

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


def code_files(name: str) -> list[Path]:
    """The source files stage `name`'s key hashes: its module and what it imports within
    `pipeline`, found from the imports themselves (and those of READERS)."""
    here = Path(__file__).parent
    starts = [here / "stages" / f"{name}.py", *(here / f for f in READERS.get(name, ()))]
    return sorted({f for start in starts for f in cache.imported_sources(start, here)})


def summaries(found: list[Target]) -> list[str]:
    """The lines that say what ingest decided: the task, or each target's."""
    if len(found) == 1:
        return [found[0].task.summary]
    return [f"{len(found)} targets, each its own task, scored by the mean of their scores:",
            *(f"  target {t.name!r}: {t.task.description}" for t in found)]


def _stage(name: str) -> Callable[..., dict[str, np.ndarray]]:
    """The stage function, imported only when the stage runs (scikit-learn, pandas and
    TensorFlow stay off the cached path)."""
    return getattr(importlib.import_module(f"pipeline.stages.{name}"), name)


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
