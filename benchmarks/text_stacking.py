"""Benchmark: two ways for boosting to see a text column, measured side by side on the fortunes
competitions of benchmarks/text.py: CatBoost on the table alone, on the table plus the text
model's out-of-fold score (stacking: what the pipeline does), and on the table plus 20 SVD
components of the text's word TF-IDF (fitted per fold); each alone and blended with the text
model by greedy ensemble selection, out of fold on train.csv and on the test rows.

    python benchmarks/text_stacking.py --fortunes /tmp/fortunes [--only NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine  # noqa: E402
from text import competitions  # noqa: E402

from pipeline.learners import stack  # noqa: E402
from pipeline.learners.blend import select  # noqa: E402
from pipeline.learners.text import vectorizer  # noqa: E402

FOLDS = 5
COMPONENTS = 20


def table(frame: pd.DataFrame) -> np.ndarray:
    """The numbers a table learner sees: the line count, and the post's hour, weekday, month and counts."""
    numbers = pd.DataFrame({"lines": frame["quote"].str.count("\n") + 1})
    if "posted_at" in frame:
        t = pd.to_datetime(frame["posted_at"])
        numbers = numbers.assign(hour=t.dt.hour, weekday=t.dt.dayofweek, month=t.dt.month, likes=frame["likes"],
                                 shares=frame["shares"])
    return numbers.to_numpy(float)


def main(argv: list[str] | None = None) -> int:
    from catboost import CatBoostClassifier
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fortunes", type=Path, required=True)
    parser.add_argument("--only", help="comma-separated competitions [default: all]")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(machine())
    for name, (frame, spec) in competitions(args.fortunes).items():
        if args.only and name not in args.only.split(","):
            continue
        y = pd.factorize(frame[spec["target"]], sort=True)[0]
        train, test = train_test_split(np.arange(len(frame)), test_size=0.25, random_state=0, stratify=y)
        x, text = table(frame), frame["quote"].fillna("").to_numpy(object)[:, None]
        k = int(y.max()) + 1

        def score(truth: np.ndarray, p: np.ndarray) -> float:
            if spec["metric"] == "auc":
                return roc_auc_score(truth, p[:, 1])
            return f1_score(truth, p.argmax(1)) if spec["metric"] == "f1" else accuracy_score(truth, p.argmax(1))

        def catboost(a: np.ndarray, b: np.ndarray, fit: np.ndarray, held: np.ndarray) -> CatBoostClassifier:
            model = CatBoostClassifier(iterations=2000, learning_rate=0.05, od_type="Iter", od_wait=50,
                                       use_best_model=True, verbose=False, thread_count=2, random_seed=0)
            return model.fit(a, y[fit], eval_set=(b, y[held]))

        folds = [(train[a], train[b]) for a, b in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(train, y[train])]
        oof = {v: np.zeros((len(frame), k)) for v in ("text", "cat", "cat + text score", "cat + SVD")}
        on_test = {v: np.zeros((len(test), k)) for v in oof}
        seconds = dict.fromkeys(oof, 0.0)
        started = time.perf_counter()
        for fit, held in folds:
            columns = vectorizer(1).fit(text[fit])
            model = LogisticRegression(C=4, max_iter=1000).fit(columns.transform(text[fit]), y[fit])
            oof["text"][held] = model.predict_proba(columns.transform(text[held]))
            on_test["text"] += model.predict_proba(columns.transform(text[test])) / FOLDS
        seconds["text"] = time.perf_counter() - started
        stacked = stack.widen(x, oof["text"])
        stacked_test = stack.widen(x[test], on_test["text"])
        for fit, held in folds:
            started = time.perf_counter()
            model = catboost(x[fit], x[held], fit, held)
            oof["cat"][held], on_test["cat"] = model.predict_proba(x[held]), on_test["cat"] + model.predict_proba(x[test]) / FOLDS
            seconds["cat"] += time.perf_counter() - started
            started = time.perf_counter()
            model = catboost(stacked[fit], stacked[held], fit, held)
            oof["cat + text score"][held] = model.predict_proba(stacked[held])
            on_test["cat + text score"] += model.predict_proba(stacked_test) / FOLDS
            seconds["cat + text score"] += time.perf_counter() - started
            started = time.perf_counter()
            words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=20_000)
            svd = TruncatedSVD(COMPONENTS, random_state=0).fit(words.fit_transform(text[fit, 0]))

            def with_svd(rows: np.ndarray, numbers: np.ndarray) -> np.ndarray:
                return np.hstack([numbers, svd.transform(words.transform(text[rows, 0]))])

            model = catboost(with_svd(fit, x[fit]), with_svd(held, x[held]), fit, held)
            oof["cat + SVD"][held] = model.predict_proba(with_svd(held, x[held]))
            on_test["cat + SVD"] += model.predict_proba(with_svd(test, x[test])) / FOLDS
            seconds["cat + SVD"] += time.perf_counter() - started
        print(f"\n{name} ({spec['metric']}, {len(train):,} train rows, {len(test):,} test rows)")
        print(f"  {'':34s}{'out of fold':>12s}{'test':>8s}{'seconds':>9s}")
        for variant in oof:
            print(f"  {variant:34s}{score(y[train], oof[variant][train]):12.4f}{score(y[test], on_test[variant]):8.4f}"
                  f"{seconds[variant]:9.1f}")
        for other in ("cat", "cat + text score", "cat + SVD"):
            weights, oof_score = select({v: oof[v][train] for v in ("text", other)}, lambda p: score(y[train], p),
                                        lambda a, b: a > b)
            blended = sum(w * on_test[v] for v, w in weights.items())
            shown = ", ".join(f"{v} {w:.2f}" for v, w in weights.items())
            print(f"  {'blend of text and ' + other:34s}{oof_score:12.4f}{score(y[test], blended):8.4f}   ({shown})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
