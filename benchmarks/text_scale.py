"""Benchmark: a text competition of 100,000 training rows x about 300 characters (words drawn
from Debian's fortunes), run to a submission by `pipeline run-all` + `predict` with default
settings, beside the plain notebook (TF-IDF of word 1-2-grams into one logistic regression)
on the same files, run first: seconds, peak memory (the largest process's RSS) and test AUC.

Each row is `id, review, stars, target`: 40 words at random and two from one class's list of
100 (from the other class's list one time in four), shuffled and cut at 300 characters;
`stars` decides one row in ten. test.csv holds a quarter of the rows.

    apt-get download fortunes fortunes-min && for f in fortunes*.deb; do dpkg -x "$f" /tmp/fortunes; done
    python benchmarks/text_scale.py /tmp/fortunes [--rows 133334] [--pipeline-args "..."]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from tabular import score_submission  # noqa: E402
from tabular_data import write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def competition(fortunes: Path, rows: int) -> pd.DataFrame:
    root = fortunes / "usr/share/games/fortunes"
    words = sorted(set(re.findall(r"[A-Za-z']+", " ".join(
        p.read_text(errors="replace") for p in root.iterdir() if p.is_file() and not p.suffix))))
    rng = np.random.default_rng(0)
    vocab = np.array(words)
    signal = rng.choice(vocab, 200, replace=False).reshape(2, 100)
    y = rng.integers(0, 2, rows)
    stars = rng.integers(1, 6, rows)
    noisy = rng.random(rows) < 0.25
    reviews = []
    for i in range(rows):
        side = y[i] ^ noisy[i]
        chosen = [*rng.choice(vocab, 40), *rng.choice(signal[side], 2)]
        rng.shuffle(chosen)
        reviews.append(" ".join(chosen)[:300])
    target = np.where(rng.random(rows) < 0.1, (stars >= 4).astype(int), y)  # the stars decide one row in ten
    return pd.DataFrame({"review": reviews, "stars": stars, "target": target})


def plain(folder: Path, spec: dict) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    train = pd.read_csv(folder / "data/raw/train.csv")
    test = pd.read_csv(folder / "data/raw/test.csv")
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                          LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train["review"].fillna(""), train["target"])
    test[[spec["id"]]].assign(target=model.predict_proba(test["review"].fillna(""))[:, 1]).to_csv(
        folder / "plain_sub.csv", index=False)
    seconds = time.perf_counter() - started
    score = next(iter(score_submission(folder / "plain_sub.csv", spec, pd.read_csv(folder / "test_labels.csv")).values()))
    return {"seconds": seconds, "score": score, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def pipeline(folder: Path, spec: dict, extra: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    for args in (["run-all", *extra], ["predict", "--out", "submissions/sub.csv", "--quiet", *extra]):
        done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=folder, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode:
            raise SystemExit(f"pipeline {args[0]} failed:\n{done.stdout[-3000:]}")
        if args[0] == "run-all":
            lines = [line for line in done.stdout.splitlines() if line.strip()]
            print("\n".join(f"  | {line}" for line in lines[-25:]))
    seconds = time.perf_counter() - started
    score = next(iter(score_submission(folder / "submissions/sub.csv", spec,
                                       pd.read_csv(folder / "test_labels.csv")).values()))
    metrics = json.loads((folder / "reports/metrics.json").read_text())
    return {"seconds": seconds, "score": score, "peak_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6,
            "leaderboard": metrics.get("leaderboard")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fortunes", type=Path, help="where fortunes*.deb were unpacked (dpkg -x)")
    parser.add_argument("--rows", type=int, default=133_334, help="rows in all (train.csv gets 75%%)")
    parser.add_argument("--pipeline-args", default="")
    args = parser.parse_args(argv)
    print(machine())
    frame = competition(args.fortunes, args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = write(frame, dict(metric="auc", id="id", target="target", kind="binary", sample=0.5), folder)
        size = (folder / "data/raw/train.csv").stat().st_size / 1e6
        print(f"train.csv {size:.0f} MB, mean review {frame['review'].str.len().mean():.0f} characters")
        notebook = plain(folder, spec)
        ours = pipeline(folder, spec, shlex.split(args.pipeline_args))
    print(f"{'':22s}{'seconds':>9s}{'peak GB':>9s}{'test AUC':>10s}")
    for name, result in (("plain notebook", notebook), ("pipeline (defaults)", ours)):
        print(f"{name:22s}{result['seconds']:9.0f}{result['peak_gb']:9.2f}{result['score']:10.4f}")
    if ours.get("leaderboard"):
        print("leaderboard:", ours["leaderboard"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
