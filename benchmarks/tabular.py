"""Benchmark: the pipeline's MLP against HistGradientBoostingClassifier on tabular data.

For scikit-learn's bundled tables (and two generated ones), it holds out a stratified 25% as
the test set, then runs the pipeline's own stages on the rest: preprocess (standardised with
train statistics), split (10% validation), and train with `--model mlp`, `--model hgb` and
`--model auto` (which trains both and keeps the better on validation). It prints the test
accuracy and training seconds of each, over three seeds, side by side.

    .venv/bin/python benchmarks/tabular.py
"""

from __future__ import annotations

import time

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from pipeline.config import PreprocessParams, SplitParams, TrainParams
from pipeline.stages.preprocess import preprocess
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.models import predict_proba

TABLES = {
    "breast_cancer": lambda: datasets.load_breast_cancer(return_X_y=True),
    "wine": lambda: datasets.load_wine(return_X_y=True),
    "iris": lambda: datasets.load_iris(return_X_y=True),
    "digits (64 cols)": lambda: datasets.load_digits(return_X_y=True),
    "generated 30 cols": lambda: datasets.make_classification(
        2000, 30, n_informative=12, n_classes=4, random_state=0),
    "generated xor": lambda: _xor(),
}
MODELS = ("mlp", "hgb", "auto")


def _xor() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 10)) * np.logspace(-2, 3, 10)
    return x, ((x[:, 0] > 0) ^ (x[:, 5] > 0)).astype(int)


def main() -> None:
    print(f"{'table':18s} {'rows':>6s} " + " ".join(f"{m + ' acc':>9s} {m + ' s':>6s}" for m in MODELS))
    for name, load in TABLES.items():
        x, y = load()
        scores = {m: [] for m in MODELS}
        seconds = {m: [] for m in MODELS}
        for seed in range(3):
            x_fit, x_test, y_fit, y_test = train_test_split(
                x.astype(np.float32), y, test_size=0.25, stratify=y, random_state=seed)
            # The image test needs whole numbers 0..255; floats make these tables, as in the pipeline.
            pre = preprocess(x_fit, x_test, PreprocessParams())
            classes = np.unique(y_fit)
            idx = split(y_fit, classes, SplitParams(seed=seed))
            for model in MODELS:
                started = time.perf_counter()
                result = train(pre["x"], y_fit, idx["train_idx"], idx["val_idx"], len(classes),
                               TrainParams(model=model, seed=seed))
                seconds[model].append(time.perf_counter() - started)
                probs = predict_proba(result, pre["x_test"])
                scores[model].append(float((probs.argmax(axis=1) == y_test).mean()))
        print(f"{name:18s} {len(y):6d} " + " ".join(
            f"{np.mean(scores[m]):9.4f} {np.mean(seconds[m]):6.1f}" for m in MODELS), flush=True)


if __name__ == "__main__":
    main()
