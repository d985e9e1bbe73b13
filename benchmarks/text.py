"""Benchmark: this project against the plain text notebook (and AutoGluon) on Kaggle-style text
competitions made from real text.

The text is Debian's `fortunes` package: each file under usr/share/games/fortunes/ is a
category, its quotes separated by lines holding `%`. Get it without root:

    apt-get download fortunes fortunes-min && for f in fortunes*.deb; do dpkg -x "$f" /tmp/fortunes; done

Competitions (75% train.csv, 25% test.csv with hidden answers, a sample submission):

- fortunes_topics: `id, quote, lines, topic`, six categories (people, computers,
  songs-poems, politics, science, work), scored by accuracy;
- fortunes_tech_f1: `id, quote, lines, target`, whether a quote comes from the computing
  files (computers, linux, perl, debian, linuxcookie) or from ten others, scored by the
  positive class's F1, as Disaster Tweets is (the pipeline is given `--metric f1`, as a
  user would: a sample submission of 0s does not say F1);
- fortunes_posts_auc: the same quotes as posts, `id, quote, posted_at, likes, shares, target`,
  where whether a post "took off" depends on its topic (computing), the hour it was posted
  and its likes, each adding to the odds, scored by AUC: text beside a timestamp and counts.

`lines` is the quote's line count (a number beside the text). The plain way is the notebook a
Kaggle user writes first: TF-IDF of word 1-2-grams (sublinear, min_df 2) into scikit-learn's
LogisticRegressionCV (10 strengths, 5-fold), labels at its default threshold (its probability
of the positive class for AUC); it reads the text alone.

    python benchmarks/text.py --fortunes /tmp/fortunes [--autogluon-python PY] [--only NAME]
"""

from __future__ import annotations

import argparse
import platform
import re
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from tabular import _fmt, _metric_label, _secs, run_autogluon, run_pipeline, score_submission  # noqa: E402
from tabular_data import write  # noqa: E402

TOPICS = ("people", "computers", "songs-poems", "politics", "science", "work")
TECH = ("computers", "linux", "perl", "debian", "linuxcookie")
OTHERS = ("people", "songs-poems", "politics", "science", "work", "men-women", "platitudes", "wisdom", "law",
          "food")


def quotes(root: Path, category: str) -> list[str]:
    text = (root / "usr/share/games/fortunes" / category).read_text(encoding="utf-8", errors="replace")
    return [q.strip("\n") for q in re.split(r"^%$", text, flags=re.MULTILINE) if q.strip()]


def _frame(rows: list[tuple[str, object]], label: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["quote", label]).drop_duplicates("quote")
    frame.insert(1, "lines", frame["quote"].str.count("\n") + 1)
    return frame


def _posts(tech: pd.DataFrame) -> pd.DataFrame:
    """The quotes as posts: a time and counts beside the text, the target drawn from all three."""
    rng = np.random.default_rng(0)
    posts = tech[["quote"]].copy()
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366 * 24 * 60, len(posts)), unit="min")
    posts["posted_at"] = stamps.strftime("%Y-%m-%d %H:%M")
    posts["likes"] = rng.poisson(3 + 2 * tech["lines"].to_numpy())
    posts["shares"] = rng.poisson(1, len(posts))
    evening = (stamps.hour >= 18).astype(float)
    odds = 1.6 * tech["target"].to_numpy() + 1.5 * evening + 0.5 * np.log1p(posts["likes"].to_numpy()) - 2.5
    posts["target"] = (rng.random(len(posts)) < 1 / (1 + np.exp(-odds))).astype(int)
    return posts


def competitions(root: Path) -> dict[str, tuple[pd.DataFrame, dict]]:
    topics = _frame([(q, c) for c in TOPICS for q in quotes(root, c)], "topic")
    tech = _frame([(q, int(c in TECH)) for c in (*TECH, *OTHERS) for q in quotes(root, c)], "target")
    posts = _posts(tech)
    return {
        "fortunes_topics": (topics, dict(metric="accuracy", id="id", target="topic", kind="multiclass",
                                         sample=TOPICS[0])),
        "fortunes_tech_f1": (tech, dict(metric="f1", id="id", target="target", kind="binary", sample=0,
                                        positive=1)),
        "fortunes_posts_auc": (posts, dict(metric="auc", id="id", target="target", kind="binary", sample=0.5)),
    }


# What a user tells the pipeline that the files cannot: a sample of 0s does not say F1.
ARGS = {"fortunes_tech_f1": ["--metric", "f1"]}


def plain(folder: Path, spec: dict) -> dict:
    """TF-IDF of word 1-2-grams into a cross-validated logistic regression, on the text alone."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    train = pd.read_csv(folder / "data/raw/train.csv")
    test = pd.read_csv(folder / "data/raw/test.csv")
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                          LogisticRegressionCV(Cs=10, cv=5, max_iter=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train["quote"].fillna(""), train[spec["target"]])
    quotes_ = test["quote"].fillna("")
    answer = model.predict_proba(quotes_)[:, 1] if spec["metric"] == "auc" else model.predict(quotes_)
    sub = test[[spec["id"]]].assign(**{spec["target"]: answer})
    sub.to_csv(folder / "plain_sub.csv", index=False)
    scores = score_submission(folder / "plain_sub.csv", spec, pd.read_csv(folder / "test_labels.csv"))
    return {"score": next(iter(scores.values())), "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fortunes", type=Path, required=True, help="where fortunes*.deb were unpacked (dpkg -x)")
    parser.add_argument("--only", help="comma-separated competitions [default: all]")
    parser.add_argument("--pipeline-args", default="", help='extra options for run-all and predict')
    parser.add_argument("--pipeline-timeout", type=float, default=1800)
    parser.add_argument("--autogluon-python", help="python of a venv with autogluon.tabular")
    parser.add_argument("--autogluon-time-limit", type=int, default=120)
    parser.add_argument("--autogluon-presets", default="medium_quality")
    parser.add_argument("--keep", type=Path, help="write the competitions under this folder and keep them")
    args = parser.parse_args(argv)

    found = competitions(args.fortunes)
    names = list(found) if not args.only else [n.strip() for n in args.only.split(",")]
    extra = shlex.split(args.pipeline_args)
    print(machine())
    print(f"python {platform.python_version()}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
    print("plain: TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2) + LogisticRegressionCV(Cs=10, cv=5)")
    print(f"pipeline: python -m pipeline run-all / predict --quiet {' '.join(extra)}".rstrip())
    print(f"autogluon: {args.autogluon_python or 'skipped (no --autogluon-python)'}"
          + (f", presets={args.autogluon_presets}, time_limit={args.autogluon_time_limit}s"
             if args.autogluon_python else ""))
    print()
    header = (f"{'competition':18s} {'rows':>11s} {'metric':10s} {'plain':>7s} {'s':>6s} {'pipeline':>8s} "
              f"{'s':>6s} {'val':>7s}" + (f" {'autogluon':>9s} {'s':>6s}" if args.autogluon_python else "")
              + "  notes")
    print(header)
    print("-" * len(header), flush=True)
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"text_{name}_") as tmp:
            folder = (args.keep / name) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            spec = write(*found[name], folder)
            base = plain(folder, spec)
            ours = run_pipeline(folder, spec, [*ARGS.get(name, []), *extra], args.pipeline_timeout)
            notes = [ours["error"]] if "error" in ours else []
            if ours.get("leaderboard"):
                notes.append(ours["leaderboard"])
            row = (f"{name:18s} {spec['train_rows']:>5d}+{spec['test_rows']:<5d} {_metric_label(spec):10s} "
                   f"{_fmt(base['score']):>7s} {_secs(base['seconds']):>6s} {_fmt(ours.get('score')):>8s} "
                   f"{_secs(ours['seconds']):>6s} {_fmt(ours.get('val')):>7s}")
            if args.autogluon_python:
                ag = run_autogluon(folder, spec, args.autogluon_python, args.autogluon_time_limit,
                                   args.autogluon_presets, 0)
                notes.append(ag.get("error") or f"ag best {ag.get('best')}")
                row += f" {_fmt(ag.get('score')):>9s} {_secs(ag['seconds']):>6s}"
            print(row + "  " + "; ".join(notes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
