"""Kaggle competition layouts that must work with no configuration, end to end through the CLI.

Each case writes a tiny generated competition in that layout, runs `run-all` and `predict`,
and checks the submission's header, ids and labels.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from conftest import digit_frames
from test_cli import FAST, invoke

Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]


def digit_recognizer() -> Frames:
    train, test = digit_frames(side=28)
    return train, test, None


def fashion_mnist() -> Frames:
    train, test = digit_frames(side=28, first_pixel=1)
    return train, test, None


def kannada() -> Frames:
    train, test = digit_frames(side=28)
    test.insert(0, "id", range(len(test)))
    return train, test, None


def sign_language() -> Frames:
    train, test = digit_frames(side=28)
    train["label"] = train["label"].map({0: 3, 1: 10, 2: 24})  # no 9, as in 0..24 without J
    return train, test, None


def string_labels() -> Frames:
    train, test = digit_frames()
    train["label"] = train["label"].map({0: "cat", 1: "dog", 2: "bird"})
    return train, test, None


def digits_8x8() -> Frames:
    train, test = digit_frames()
    columns = {f"pixel{i}": f"f{i}" for i in range(64)}
    train = train.rename(columns=columns).rename(columns={"label": "target"})
    train = train[[*columns.values(), "target"]]  # the label last
    test = test.rename(columns=columns)
    test.insert(0, "id", range(1000, 1000 + len(test)))
    sample = pd.DataFrame({"id": test["id"], "target": 0})
    return train, test, sample


def tabular_30_columns() -> Frames:
    rng = np.random.default_rng(0)
    scales = np.logspace(-2, 3, 30)
    x = rng.normal(size=(150, 30)) * scales
    train = pd.DataFrame(x[:120], columns=[f"x{i}" for i in range(30)])
    train.insert(0, "label", (x[:120, 0] > 0).astype(int) + (x[:120, 1] > 0).astype(int))
    test = pd.DataFrame(x[120:], columns=train.columns[1:])
    return train, test, None


def extra_and_reordered_test_columns() -> Frames:
    train, test = digit_frames()
    test = test[test.columns[::-1]]
    test.insert(3, "photographer", "anon")
    return train, test, None


LAYOUTS: dict[str, tuple[Callable[[], Frames], list[str], Callable[[pd.DataFrame], object]]] = {
    "digit recognizer": (digit_recognizer, ["ImageId", "Label"], lambda s: s["ImageId"].tolist() == list(range(1, 31))),
    "fashion-mnist": (fashion_mnist, ["ImageId", "Label"], lambda s: set(s["Label"]) <= {0, 1, 2}),
    "kannada": (kannada, ["id", "label"], lambda s: s["id"].tolist() == list(range(30))),
    "sign language": (sign_language, ["ImageId", "Label"], lambda s: set(s["Label"]) <= {3, 10, 24}),
    "string labels": (string_labels, ["ImageId", "Label"], lambda s: set(s["Label"]) <= {"cat", "dog", "bird"}),
    "8x8 digits": (digits_8x8, ["id", "target"], lambda s: s["id"].tolist() == list(range(1000, 1030))),
    "30 numeric columns": (tabular_30_columns, ["ImageId", "Label"], lambda s: set(s["Label"]) <= {0, 1, 2}),
    "extra test columns": (extra_and_reordered_test_columns, ["ImageId", "Label"], lambda s: len(s) == 30),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_works_with_no_configuration(workdir: Path, layout: str) -> None:
    make, header, check = LAYOUTS[layout]
    train, test, sample = make()
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    if sample is not None:
        sample.to_csv(raw / "sample_submission.csv", index=False)
    result = invoke("predict", *FAST, "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    submission = pd.read_csv("submissions/sub.csv")
    assert submission.columns.tolist() == header
    assert len(submission) == len(test) and check(submission), submission.head()
    if layout == "extra test columns":
        assert "test.csv: column 'photographer' is not in train.csv; ignored" in result.output
    if layout == "30 numeric columns":
        assert "kept" in result.output  # the tabular models, not a CNN
        assert invoke("report", *FAST).code == 0
        reports = {p.name for p in Path("reports").iterdir()}
        assert "feature_importance.png" in reports and "mistakes.png" not in reports


def test_gzip_bom_crlf_quoted_numbers_and_float_labels(workdir: Path) -> None:
    train, test = digit_frames()
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    text = train.assign(label=train["label"].astype(float)).to_csv(index=False, lineterminator="\r\n")
    lines = text.split("\r\n")
    lines[1] = ",".join(f'"{v}"' for v in lines[1].split(","))  # a row of quoted numbers
    (raw / "train.csv.gz").write_bytes(gzip.compress(("\ufeff" + "\r\n".join(lines)).encode()))
    (raw / "test.csv").write_bytes(("\ufeff" + test.to_csv(index=False, lineterminator="\r\n")).encode())
    result = invoke("predict", *FAST, "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    submission = pd.read_csv("submissions/sub.csv")
    assert submission.columns.tolist() == ["ImageId", "Label"]
    assert submission["Label"].dtype.kind == "i" and set(submission["Label"]) <= {0, 1, 2}


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolon_and_tab_separated_files_with_padded_headers(workdir: Path, separator: str) -> None:
    train, test = digit_frames()
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    train.rename(columns={"label": " label "}).to_csv(raw / "train.csv", index=False, sep=separator)
    test.to_csv(raw / "test.csv", index=False, sep=separator)
    result = invoke("predict", *FAST, "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    assert len(pd.read_csv("submissions/sub.csv")) == len(test)


def test_overrides_name_the_label_id_and_image_shape(workdir: Path) -> None:
    train, test = digit_frames(side=4, n_classes=2)  # 16 columns: too small to guess an image
    train = train.rename(columns={"label": "kind"})
    train.insert(0, "ref", range(len(train)))  # in both tables, so not the label by elimination
    test.insert(0, "ref", range(500, 500 + len(test)))
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    options = [*FAST, "--label-column", "kind", "--id-column", "ref", "--image-shape", "4x4"]
    result = invoke("predict", *options, "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    submission = pd.read_csv("submissions/sub.csv")
    assert submission.columns.tolist() == ["ref", "kind"]
    assert submission["ref"].tolist() == list(range(500, 500 + len(test)))
    with np.load("data/processed/train.npz") as npz:
        assert str(npz["arch"]) == "cnn" and npz["input_shape"].tolist() == [4, 4, 1]
