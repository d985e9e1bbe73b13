"""Paths and the typed, frozen parameters of each stage.

What a preset means lives in pipeline.presets and how a duration or an image shape is written
in pipeline.parse: stages import those, and only use these parameter classes as types, so
that editing this file (an error message, a help text) never makes a cached stage stale.

Defaults live here; an optional `pipeline.toml` in the working directory overrides them, the
settings commands kept for the folder (pipeline.sticky) override that, and this command's
options override everything. Each stage reads only its own section, so only a change to that
section (or upstream) makes it stale.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.parse import parse_duration, parse_image_shape
from pipeline.presets import PRESETS
from pipeline.task import METRICS, TASKS, known_metric

CONFIG_FILE = "pipeline.toml"
STATE_DIR = Path(".pipeline")  # what the pipeline keeps for the working folder: settings, the run log
MODELS = ("auto", "cnn", "cnn_large", "mlp", "hgb", "cat", "linear", "lgbm", "text")  # of pipeline.learners.REGISTRY
PRECISIONS = ("auto", "float32", "bfloat16")
STRATEGIES = ("auto", "one", "mirrored", "multi-worker")
KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a quoted string"}


@dataclass(frozen=True)
class IngestParams:
    label_column: str = ""  # empty: `label`, else the column(s) of train.csv that test.csv lacks; "a,b": two targets
    id_column: str = ""  # empty: detect `id` / `ImageId` in test.csv
    fill_missing: bool = False  # fill empty feature cells with train.csv's column medians
    task: str = "auto"  # auto | binary | multiclass | regression (auto: from the target column)
    metric: str = "auto"  # auto: from sample_submission.csv, else accuracy or RMSE/RMSLE (see task.py)
    positive_class: str = ""  # a binary target's positive class; empty: named like 1/true/yes, else the rarer


@dataclass(frozen=True)
class PreprocessParams:
    image_shape: str = ""  # "HxW" or "HxWxC"; empty: square feature counts become HxWx1


@dataclass(frozen=True)
class SplitParams:
    val_fraction: float = 0.1  # of one held-out split (images, and tables too large for folds)
    seed: int = 42
    folds: int = 0  # a table's folds; 0: 5 up to 20,000 rows, 3 up to 100,000, else one split; 1: one split


@dataclass(frozen=True)
class TrainParams:
    preset: str = "default"  # fast | default | best, see PRESETS
    model: str = "auto"  # auto: the preset's CNN for images; for tables every table learner, blended out of fold
    epochs: int = 0  # 0: the preset's choice for the training-set size
    ensemble: int = 0  # networks averaged; 0: the preset's choice
    refit: bool = False  # retrain on train + val with the epoch count validation chose
    time_budget: str = ""  # e.g. "10m": caps training time by choosing the number of epochs
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 42
    precision: str = "auto"  # auto: bfloat16 mixed precision on a CPU that computes it natively
    strategy: str = "auto"  # tf.distribute: auto (mirrored over 2+ GPUs, else one), one, mirrored, multi-worker


@dataclass(frozen=True)
class PredictParams:
    """Read by both validate and predict, so the validation score measures what predict does."""

    tta: bool = False  # also average TTA_VIEWS augmented copies of each image; on for the best preset


@dataclass(frozen=True)
class EngineParams:
    """Where the stages run; part of no stage's key (the same data gives the same entries)."""

    cluster: str = ""  # empty: this process; local: a Dask LocalCluster here; tcp://host:8786: a running scheduler


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")
    ingest: IngestParams = field(default_factory=IngestParams)
    preprocess: PreprocessParams = field(default_factory=PreprocessParams)
    split: SplitParams = field(default_factory=SplitParams)
    train: TrainParams = field(default_factory=TrainParams)
    predict: PredictParams = field(default_factory=PredictParams)
    engine: EngineParams = field(default_factory=EngineParams)
    # "section.key" (or "data_dir") -> where a value other than the default came from
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def models_dir(self) -> Path:
        return Path("models")

    @property
    def reports_dir(self) -> Path:
        return Path("reports")

    def params(self, name: str) -> Any:
        """One stage's parameters: its section (validate reads predict's), None without one."""
        return getattr(self, "predict" if name == "validate" else name, None)

    def section(self, name: str) -> dict[str, Any]:
        """The effective parameters of one stage (empty for stages without any)."""
        params = self.params(name)
        return dataclasses.asdict(params) if dataclasses.is_dataclass(params) else {}


SECTIONS = {
    "ingest": IngestParams,
    "preprocess": PreprocessParams,
    "split": SplitParams,
    "train": TrainParams,
    "predict": PredictParams,
    "engine": EngineParams,
}


def load_config(
    overrides: dict[str, dict[str, Any]] | None = None,
    data_dir: Path | None = None,
    config_file: Path = Path(CONFIG_FILE),
    kept: dict[str, tuple[Any, str]] | None = None,
) -> Config:
    """Defaults, then `pipeline.toml` (if present), then `kept` ({"section.key" or "data_dir":
    (value, where it was set)}), then `overrides` ({section: {key: value}})."""
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    sources: dict[str, str] = {}
    base_data_dir = None
    if config_file.exists():
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PipelineError(f"{config_file}: not valid TOML ({exc}); fix or delete it") from None
        base_data_dir = raw.pop("data_dir", None)
        for section, values in raw.items():
            if section not in merged or not isinstance(values, dict):
                raise PipelineError(
                    f"{config_file}: unknown section [{section}]; use one of {', '.join(SECTIONS)}"
                )
            merged[section].update(values)
            sources.update({f"{section}.{key}": str(config_file) for key in values})
        if base_data_dir is not None:
            sources["data_dir"] = str(config_file)
    for name, (value, source) in (kept or {}).items():
        if name == "data_dir":
            base_data_dir = value
        else:
            section, _, key = name.partition(".")
            if section not in SECTIONS or key not in {f.name for f in dataclasses.fields(SECTIONS[section])}:
                continue  # a setting an older version kept, gone since
            merged[section][key] = value
        sources[name] = source
    for section, values in (overrides or {}).items():
        given = {k: v for k, v in values.items() if v is not None}
        merged[section].update(given)
        sources.update({f"{section}.{key}": "option" for key in given})
    if data_dir:
        sources["data_dir"] = "option"

    preset = merged["train"].get("preset", TrainParams.preset)
    if isinstance(preset, str) and preset in PRESETS and PRESETS[preset].tta and "tta" not in merged["predict"]:
        merged["predict"]["tta"] = True
        sources["predict.tta"] = "preset"
    sections = {name: _build(name, SECTIONS[name](), values) for name, values in merged.items()}
    config = Config(data_dir=data_dir or Path(base_data_dir or "data"), **sections, sources=sources)
    _check(config)
    return config


def settings(config: Config) -> list[tuple[str, Any, str]]:
    """Every setting as (name, effective value, where it came from: the default, the config
    file, or an option)."""
    rows: list[tuple[str, Any, str]] = [
        ("data_dir", str(config.data_dir), config.sources.get("data_dir", "default"))]
    for section in SECTIONS:
        for key, value in dataclasses.asdict(getattr(config, section)).items():
            name = f"{section}.{key}"
            rows.append((name, value, config.sources.get(name, "default")))
    return rows


def _build(section: str, default: Any, values: dict[str, Any]) -> Any:
    known = [f.name for f in dataclasses.fields(default)]
    typed = {}
    for key, value in values.items():
        if key not in known:
            raise PipelineError(
                f"unknown setting {section}.{key}; known settings of [{section}]: {', '.join(known)}"
            )
        wanted = type(getattr(default, key))
        try:
            typed[key] = _coerce(value, wanted)
        except (TypeError, ValueError):
            raise PipelineError(
                f"setting {section}.{key} = {value!r} has the wrong type; give {KINDS[wanted]}"
            ) from None
    return dataclasses.replace(default, **typed)


def _coerce(value: Any, wanted: type) -> Any:
    if (wanted is bool) != isinstance(value, bool):
        raise TypeError
    if wanted is int and isinstance(value, float) and not value.is_integer():
        raise ValueError
    return wanted(value)


def _check(config: Config) -> None:
    """Reject impossible settings."""
    t, s = config.train, config.split
    if t.batch_size < 1:
        raise PipelineError(f"--batch-size {t.batch_size} must be at least 1")
    for name in ("epochs", "ensemble"):
        if getattr(t, name) < 0:
            raise PipelineError(f"--{name} {getattr(t, name)} must be at least 1 (or 0: the preset's choice)")
    if t.preset not in PRESETS:
        raise PipelineError(f"--preset {t.preset!r} is unknown; use {', '.join(PRESETS)}")
    parse_duration(t.time_budget)
    if not t.learning_rate > 0:
        raise PipelineError(f"train.learning_rate {t.learning_rate} must be positive")
    if t.model not in MODELS:
        raise PipelineError(f"--model {t.model!r} is unknown; use {', '.join(MODELS)}")
    if t.precision not in PRECISIONS:
        raise PipelineError(f"--precision {t.precision!r} is unknown; use {', '.join(PRECISIONS)}")
    if t.strategy not in STRATEGIES:
        raise PipelineError(f"--strategy {t.strategy!r} is unknown; use {', '.join(STRATEGIES)}")
    if s.folds < 0 or s.folds > 20:
        raise PipelineError(f"--folds {s.folds} must be 0 (by the table's rows), 1 (one held-out split) or 2 to 20")
    if not 0 < s.val_fraction < 1:
        raise PipelineError(f"--val-fraction {s.val_fraction} must be between 0 and 1, e.g. 0.1")
    cluster = config.engine.cluster
    if cluster and cluster != "local" and not re.fullmatch(r"(tcp|tls|inproc|ucx)://\S+|[\w.-]+:\d+", cluster):
        raise PipelineError(f"--cluster {cluster!r} is neither local nor a scheduler address such as "
                            f"tcp://host:8786; give one, or --cluster '' for this process alone")
    parse_image_shape(config.preprocess.image_shape)
    if config.ingest.task not in TASKS:
        raise PipelineError(f"--task {config.ingest.task!r} is unknown; use {', '.join(TASKS)}")
    if not known_metric(config.ingest.metric):
        raise PipelineError(f"--metric {config.ingest.metric!r} is unknown; use {', '.join(METRICS)} "
                            f"(map@K for any K from 2)")
