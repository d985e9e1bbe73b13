"""Benchmark: the text model's one fold on 100,000 rows x 300 characters (words drawn from
Debian's fortunes), its seconds and peak memory: the time and memory a large text column costs,
beside the plain notebook's (TF-IDF of word 1-2-grams into one logistic regression) on the
same rows, run first.

    python benchmarks/text_scale.py /tmp/fortunes     # where fortunes*.deb were unpacked
"""
import pathlib
import re
import resource
import sys
import time

import numpy as np
from pipeline.learners import get, Job
from pipeline.config import TrainParams
from pipeline.training.plan import Plan
from pipeline.task import Task

root = pathlib.Path(sys.argv[1]) / "usr/share/games/fortunes"
words = sorted(set(re.findall(r"[A-Za-z']+", " ".join(p.read_text(errors="replace") for p in root.iterdir() if p.suffix == ""))))
rng = np.random.default_rng(0)
n = 100_000
vocab = np.array(words)
y = rng.integers(0, 2, n)
signal = vocab[:200]
text = np.empty((n, 1), dtype=object)
for i in range(n):
    chosen = rng.choice(vocab, 50).tolist() + rng.choice(signal[y[i] * 100:(y[i] + 1) * 100], 3).tolist()
    text[i, 0] = " ".join(chosen)[:300]
print(f"{n:,} rows, mean {np.mean([len(t) for t in text[:, 0]]):.0f} characters")
fit_idx, stop_idx = np.arange(0, 66_667), np.arange(66_667, n)
task = Task("binary", "auc", "label")
job = Job(2, TrainParams(), 0.0, 0, Plan(0, None, lambda l, logs: print(l, logs, f"{time.perf_counter() - t0:.0f}s", flush=True), None, task=task), "fold0", None, text)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

t0 = time.perf_counter()
make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
              LogisticRegression(max_iter=1000)).fit(text[fit_idx, 0], y[fit_idx])
print(f"plain notebook: fit {time.perf_counter() - t0:.0f} s; peak RSS "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
t0 = time.perf_counter()
net, history, best = get("text").fit(np.zeros((n, 1), np.float32), y, fit_idx, stop_idx, job)
print(f"text model: fit {time.perf_counter() - t0:.0f} s (4 strengths); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
