"""The embedded demo competition: scikit-learn's bundled 8x8 digits in Kaggle CSV layout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError


def demo_frames(test_rows: int = 297, seed: int = 0) -> dict[str, pd.DataFrame]:
    """train.csv (`label,pixel0..pixel63`), test.csv (`pixel0..`) and sample_submission.csv
    (`ImageId,Label`, ids from 1), like Kaggle's Digit Recognizer but 8x8."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = pd.DataFrame(digits.data.astype(int), columns=[f"pixel{i}" for i in range(64)])
    train_rows, test_rows_idx = train_test_split(
        range(len(pixels)), test_size=test_rows, stratify=digits.target, random_state=seed
    )
    train = pixels.iloc[train_rows].reset_index(drop=True)
    train.insert(0, "label", digits.target[train_rows])
    test = pixels.iloc[test_rows_idx].reset_index(drop=True)
    sample = pd.DataFrame({"ImageId": range(1, len(test) + 1), "Label": 0})
    return {"train.csv": train, "test.csv": test, "sample_submission.csv": sample}


def write_demo(raw_dir: Path, overwrite: bool = False) -> list[Path]:
    """Write the demo CSVs into `raw_dir`; never replace a user's different file unasked."""
    from pipeline.io import write_csv

    written = []
    for name, frame in demo_frames().items():
        path = raw_dir / name
        text = frame.to_csv(index=False)
        if path.exists() and not overwrite and path.read_text(errors="replace") != text:
            raise PipelineError(
                f"{path} already exists and is not the demo's; use another --data-dir, "
                f"or pass --force to overwrite it"
            )
        write_csv(frame, path)
        written.append(path)
    return written
