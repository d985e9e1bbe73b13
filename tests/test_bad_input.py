"""Every bad input a user can cause, through the CLI: exit code 2, one line naming the file, the
row or column and the fix, no traceback, nothing written to data/raw/, and no cache entry for
the stage that failed (so a later run cannot trust it)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from test_cli import FAST, invoke

HEADER = "label," + ",".join(f"pixel{i}" for i in range(4))
GOOD_TRAIN = HEADER + "\n" + "\n".join(f"{i % 2},{i},{i + 1},{i + 2},{i + 3}" for i in range(12)) + "\n"
GOOD_TEST = HEADER.split(",", 1)[1] + "\n1,2,3,4\n5,6,7,8\n"


def rows(*lines: str) -> str:
    return HEADER + "\n" + "\n".join(lines) + "\n"


# case -> (files in data/raw, command, message, the stage that must have no cache entry)
CASES: dict[str, tuple[dict[str, str | None], list[str], str, str]] = {
    "train.csv missing": ({"train.csv": None}, ["run-all"], "data/raw/train.csv not found; put the", "ingest"),
    "test.csv missing": ({"test.csv": None}, ["run-all"], "data/raw/test.csv not found", "ingest"),
    "empty file": ({"train.csv": ""}, ["run-all"], "train.csv is empty; it needs a header row", "ingest"),
    "header only": ({"test.csv": "pixel0,pixel1,pixel2,pixel3\n"}, ["run-all"],
                    "test.csv has a header but no data rows", "ingest"),
    "no label column": ({"train.csv": GOOD_TRAIN.replace("label,", "labl,")}, ["run-all", "--label-column", "label"],
                        "train.csv: no label column 'label'; did you mean --label-column labl?", "ingest"),
    "label not found by elimination": ({"train.csv": GOOD_TRAIN.replace("label,", "kind,"),
                                        "test.csv": "pixel0,pixel1,pixel2\n1,2,3\n"}, ["run-all"],
                                       "train.csv: no label column found; 2 columns are missing from test.csv "
                                       "('kind', 'pixel3'); pass --label-column", "ingest"),
    "row with too many fields": ({"train.csv": rows("0,1,2,3,4", "1,1,2,3,4,5")}, ["run-all"],
                                 "train.csv: line 3 has 6 fields but the header has 5; fix that row", "ingest"),
    "row with too few fields": ({"train.csv": rows("0,1,2,3,4", "1,1,2,3", "0,1,2,3,4")}, ["run-all"],
                                "train.csv: line 3 has 4 fields but the header has 5; fix that row", "ingest"),
    "non-numeric cell": ({"train.csv": rows("0,1,2,3,4", "1,1,two,3,4")}, ["run-all"],
                         "train.csv: column 'pixel1', line 3 holds 'two', not a number", "ingest"),
    "empty cells": ({"test.csv": "pixel0,pixel1,pixel2,pixel3\n1,,3,4\n5,6,,8\n"}, ["run-all"],
                    "test.csv: 2 empty or NaN cells, the first in column 'pixel1' at line 2; fill them, "
                    "or pass --fill-missing", "ingest"),
    "pixel out of range": ({"train.csv": rows("0,1,2,3,4", "1,1,2,300,4")}, ["run-all"],
                           "train.csv: column 'pixel2', line 3 holds 300, outside 0..255", "ingest"),
    "test lacks a feature": ({"test.csv": "pixel0,pixel1,pixel3\n1,2,4\n"}, ["run-all"],
                             "test.csv: feature column 'pixel2' of train.csv is missing", "ingest"),
    "duplicate column names": ({"train.csv": GOOD_TRAIN.replace("pixel3", "pixel1")}, ["run-all"],
                               "train.csv: column 'pixel1' appears more than once", "ingest"),
    "unclosed quote": ({"train.csv": rows("0,1,2,3,4", '1,"1,2,3,4', "0,1,2,3,4")}, ["run-all"],
                       "train.csv: the quote opened on line 3 is never closed", "ingest"),
    "not gzip": ({"train.csv": None, "train.csv.gz": GOOD_TRAIN}, ["run-all"], "train.csv.gz cannot be read", "ingest"),
    "one class": ({"train.csv": GOOD_TRAIN.replace("\n1,", "\n0,")}, ["run-all"],
                  "train.csv: column 'label' holds a single class (0)", "ingest"),
    "a class with one row": ({"train.csv": GOOD_TRAIN + "7,1,2,3,4\n"}, ["run-all"],
                             "class 7 has a single row", "split"),
    "sample_submission rows": ({"sample_submission.csv": "ImageId,Label\n1,0\n"},
                               ["predict", *FAST, "--out", "submissions/sub.csv"],
                               "sample_submission.csv has 1 rows but test.csv has 2", "submission"),
    "text in test where train has numbers": ({"test.csv": "pixel0,pixel1,pixel2,pixel3\n1,x,3,4\n5,6,7,8\n"},
                                             ["run-all"], "test.csv: column 'pixel1', line 2 holds 'x', not a "
                                             "number; it holds numbers in train.csv", "ingest"),
    "sample ids not test's, before training": ({"sample_submission.csv": "ImageId,Label\n1,0\n7,0\n"}, ["run-all"],
                                               "sample_submission.csv: id '7' at line 3 is not a test.csv id",
                                               "ingest"),
    "a metric that does not fit": ({}, ["run-all", "--metric", "rmse"],
                                   "--metric rmse does not fit a binary task; use one of accuracy", "ingest"),
    "a task that does not fit": ({"train.csv": GOOD_TRAIN.replace("\n1,", "\nb,").replace("\n0,", "\na,")},
                                 ["run-all", "--task", "regression"],
                                 "train.csv: column 'label' holds text, so --task regression cannot learn it", "ingest"),
    "--out not writable": ({}, ["predict", "--out", "notes.txt/sub.csv"], "--out notes.txt/sub.csv: cannot write",
                           "ingest"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_with_exit_2(workdir: Path, case: str) -> None:
    files, command, message, stage = CASES[case]
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    for name, text in {"train.csv": GOOD_TRAIN, "test.csv": GOOD_TEST, **files}.items():
        if text is not None:
            (raw / name).write_text(text)  # train.csv.gz too: a .gz that is not gzip
    Path("notes.txt").write_text("a file, not a folder\n")
    before = {p.name: p.read_bytes() for p in raw.iterdir()}

    result = invoke(*command)
    assert result.code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == before
    assert not (workdir / "data" / "processed" / f"{stage}.npz").exists()
    assert not Path("submissions/sub.csv").exists()


def test_a_fixed_input_runs_after_an_error(workdir: Path) -> None:
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "train.csv").write_text(rows("0,1,2,3,4", "1,1,two,3,4"))
    (raw / "test.csv").write_text(GOOD_TEST)
    assert invoke("run-all", *FAST).code == 2
    (raw / "train.csv").write_text(GOOD_TRAIN)
    fixed = invoke("run-all", *FAST)
    assert fixed.code == 0, fixed.output
    assert fixed.ran == ["ingest", "preprocess", "split", "train", "validate"]


def test_gzip_of_a_bad_file_names_the_line(workdir: Path) -> None:
    raw = workdir / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "train.csv.gz").write_bytes(gzip.compress(rows("0,1,2,3,4", "1,1,2,3").encode()))
    (raw / "test.csv").write_text(GOOD_TEST)
    result = invoke("run-all")
    assert result.code == 2 and "train.csv.gz: line 3 has 4 fields but the header has 5" in result.stderr
