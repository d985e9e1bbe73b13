"""Paths and the typed, frozen parameters of each stage.

Defaults live here; an optional `pipeline.toml` in the working directory overrides them and
CLI options override both. Each stage reads only its own section, so only a change to that
section (or upstream) makes it stale.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

CONFIG_FILE = "pipeline.toml"


@dataclass(frozen=True)
class IngestParams:
    label_column: str = "label"
    id_column: str = ""  # empty: detect `id` / `ImageId` in test.csv


@dataclass(frozen=True)
class PreprocessParams:
    image_shape: str = ""  # "HxW" or "HxWxC"; empty: square feature counts become HxWx1


@dataclass(frozen=True)
class SplitParams:
    val_fraction: float = 0.1
    seed: int = 42


@dataclass(frozen=True)
class TrainParams:
    model: str = "auto"  # auto: cnn for images, mlp for vectors
    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 2e-3
    patience: int = 4
    seed: int = 42


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")
    ingest: IngestParams = field(default_factory=IngestParams)
    preprocess: PreprocessParams = field(default_factory=PreprocessParams)
    split: SplitParams = field(default_factory=SplitParams)
    train: TrainParams = field(default_factory=TrainParams)

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

    def section(self, name: str) -> dict[str, Any]:
        """The effective parameters of one stage (empty for stages without any)."""
        params = getattr(self, name, None)
        return dataclasses.asdict(params) if dataclasses.is_dataclass(params) else {}


SECTIONS = {
    "ingest": IngestParams,
    "preprocess": PreprocessParams,
    "split": SplitParams,
    "train": TrainParams,
}


def load_config(
    overrides: dict[str, dict[str, Any]] | None = None,
    data_dir: Path | None = None,
    config_file: Path = Path(CONFIG_FILE),
) -> Config:
    """Defaults, then `pipeline.toml` (if present), then `overrides` ({section: {key: value}})."""
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    toml_data_dir = None
    if config_file.exists():
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PipelineError(f"{config_file}: not valid TOML ({exc}); fix or delete it") from None
        toml_data_dir = raw.pop("data_dir", None)
        for section, values in raw.items():
            if section not in merged or not isinstance(values, dict):
                raise PipelineError(
                    f"{config_file}: unknown section [{section}]; use one of {', '.join(SECTIONS)}"
                )
            merged[section].update(values)
    for section, values in (overrides or {}).items():
        merged[section].update({k: v for k, v in values.items() if v is not None})

    sections = {name: _build(name, SECTIONS[name](), values) for name, values in merged.items()}
    config = Config(data_dir=data_dir or Path(toml_data_dir or "data"), **sections)
    _check(config)
    return config


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
                f"setting {section}.{key} = {value!r} is not a {wanted.__name__}; give a {wanted.__name__}"
            ) from None
    return dataclasses.replace(default, **typed)


def _coerce(value: Any, wanted: type) -> Any:
    if wanted is bool or isinstance(value, bool):
        raise TypeError
    if wanted is int and isinstance(value, float) and not value.is_integer():
        raise ValueError
    return wanted(value)


def parse_image_shape(text: str) -> tuple[int, ...] | None:
    """'28x28' -> (28, 28, 1); '32x32x3' -> (32, 32, 3); '' -> None."""
    if not text:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) not in (2, 3) or min(dims) < 1:
        raise PipelineError(f"--image-shape {text!r} is not HxW or HxWxC; give e.g. 28x28")
    return dims if len(dims) == 3 else (*dims, 1)


def _check(config: Config) -> None:
    t, s = config.train, config.split
    if t.epochs < 1:
        raise PipelineError(f"--epochs {t.epochs} must be at least 1")
    if t.batch_size < 1:
        raise PipelineError(f"--batch-size {t.batch_size} must be at least 1")
    if t.patience < 1:
        raise PipelineError(f"train.patience {t.patience} must be at least 1")
    if not t.learning_rate > 0:
        raise PipelineError(f"train.learning_rate {t.learning_rate} must be positive")
    if t.model not in ("auto", "cnn", "mlp"):
        raise PipelineError(f"--model {t.model!r} is unknown; use auto, cnn or mlp")
    if not 0 < s.val_fraction < 1:
        raise PipelineError(f"--val-fraction {s.val_fraction} must be between 0 and 1, e.g. 0.1")
    parse_image_shape(config.preprocess.image_shape)
