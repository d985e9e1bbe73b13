"""Benchmark: the text model's one fold on 100,000 rows x 300 characters (words drawn from
Debian's fortunes), its seconds and peak memory: the time and memory a large text column costs.

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
t0 = time.perf_counter()
net, history, best = get("text").fit(np.zeros((n, 1), np.float32), y, fit_idx, stop_idx, job)
print(f"fit {time.perf_counter() - t0:.0f} s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
