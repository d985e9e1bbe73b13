"""The files a stage writes for users beside its cache entry: the train stage's models
(`models/model.keras` and `model.pkl`, or a folder per target) and the validate stage's
`reports/metrics.json`; and whether such a file is still whole, so that a deleted or damaged
one is written again from the fresh cache entry."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pipeline import targets
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import numpy as np

    from pipeline.config import Config


def models(result: dict[str, np.ndarray], config: Config) -> Path:
    """The trained model(s) into models/: one target's directly, several targets' each in a
    folder named after it. Returns the (first) model's file."""
    from pipeline.models import export

    if targets.TARGETS not in result:
        return export(result, config.models_dir)
    folders = [config.models_dir / folder_name(str(n)) for n in result[targets.TARGETS]]
    paths = [export(view, folder) for view, folder in zip(targets.views(result), folders)]
    for single in ("model.keras", "model.pkl"):  # a one-target model of before, not these targets'
        (config.models_dir / single).unlink(missing_ok=True)
    return paths[0]


def metrics(result: dict[str, np.ndarray], config: Config) -> Path:
    from pipeline import reports

    path = config.reports_dir / "metrics.json"
    reports.write_metrics(result, path)
    return path


EXPORTS: dict[str, Callable[[dict[str, np.ndarray], Config], Path]] = {"train": models, "validate": metrics}


def export(name: str, result: dict[str, np.ndarray], config: Config) -> str | None:
    """Write stage `name`'s file for users, if it has one; returns its path."""
    if name not in EXPORTS:
        return None
    try:
        return str(EXPORTS[name](result, config))
    except OSError as exc:
        raise PipelineError(f"cannot write {exc.filename} ({exc.strerror}); make its folder writable") from None


def readable(path: Path) -> bool:
    """Whether an exported file is whole: a .keras model is a zip, metrics a JSON object."""
    try:
        if path.suffix == ".keras":
            return zipfile.is_zipfile(path) and zipfile.ZipFile(path).testzip() is None
        if path.suffix == ".json":
            return isinstance(json.loads(path.read_text()), dict)
        return path.stat().st_size > 0
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def folder_name(target: str) -> str:
    """A target's folder under models/: its name, with what a file name cannot hold as `_`."""
    return re.sub(r"[^\w.-]", "_", target) or "target"
