"""Tiny generated Kaggle-style competitions, written into a temporary working directory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# pytest-xdist sets COLUMNS (and LINES) in its workers to the controller's terminal size, and
# rich fixes a console's width from COLUMNS when the console is made, at import: without this
# the CLI's tables would wrap at 80 columns there, whatever width a test gives CliRunner
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


def digit_frames(
    n_train: int = 120, n_test: int = 30, side: int = 8, n_classes: int = 3, seed: int = 0,
    first_pixel: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Learnable images: class k lights up horizontal band k, plus noise."""
    rng = np.random.default_rng(seed)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % n_classes
        rng.shuffle(labels)
        pixels = rng.integers(0, 60, size=(n, side, side))
        band = side // n_classes
        for i, label in enumerate(labels):
            pixels[i, label * band:(label + 1) * band, :] += 180
        return pixels.reshape(n, -1).clip(0, 255), labels

    columns = [f"pixel{i + first_pixel}" for i in range(side * side)]
    x, y = images(n_train)
    train = pd.DataFrame(x, columns=columns)
    train.insert(0, "label", y)
    x_test, _ = images(n_test)
    return train, pd.DataFrame(x_test, columns=columns)


def write_competition(
    root: Path, train: pd.DataFrame, test: pd.DataFrame, sample: pd.DataFrame | None = None
) -> Path:
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    if sample is not None:
        sample.to_csv(raw / "sample_submission.csv", index=False)
    return raw


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory the CLI runs in (models/ and reports/ land here)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def competition(workdir: Path) -> Path:
    """A Digit-Recognizer-like competition (8x8, 3 classes) with a sample submission."""
    train, test = digit_frames()
    sample = pd.DataFrame({"ImageId": range(1, len(test) + 1), "Label": 0})
    return write_competition(workdir, train, test, sample)
