"""Benchmark: a large generated table, run to a submission by the pipeline (`run-all`, then
`predict`, as a user runs them; under each preset asked for) beside the plain notebook (pandas +
HistGradientBoosting, native categories), in the same run: each one's seconds, peak memory
(the process's VmHWM, or what it and the processes it starts held together, polled) and test AUC.

The table (issue #41's shape): 10 numbers (some missing), 5 categories of 5, 20, 100, 1,000
and 10,000 values, a date; a binary target drawn from all of them, scored by AUC. train.csv
holds N rows, test.csv N/4.

    .venv/bin/python benchmarks/table_scale.py [--rows 100000,1000000] [--presets default,fast]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import held, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (5, 20, 100, 1000, 10000)

PLAIN = """
import sys, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
train, test = pd.read_csv("data/raw/train.csv"), pd.read_csv("data/raw/test.csv")
def columns(frame):
    out = frame.drop(columns=["id", "target", "day"], errors="ignore")
    day = pd.to_datetime(frame["day"])
    out["year"], out["month"], out["weekday"] = day.dt.year, day.dt.month, day.dt.weekday
    for c in [c for c in out if c.startswith("cat_")]:
        out[c] = out[c].astype("category")
    return out
x, x_test = columns(train), columns(test)
for c in x.select_dtypes("category"):
    x_test[c] = pd.Categorical(x_test[c], categories=x[c].cat.categories)
    if len(x[c].cat.categories) > 255:  # past HistGradientBoosting's native categories: their codes as numbers
        x[c], x_test[c] = x[c].cat.codes, x_test[c].cat.codes
model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(x, train["target"])
test[["id"]].assign(target=model.predict_proba(x_test)[:, 1]).to_csv("plain_sub.csv", index=False)
"""


def table(n: int, seed: int = 0, effects: list[np.ndarray] | None = None) -> pd.DataFrame:
    """`n` rows drawn with `seed`; the categories' `effects` on the target (one array per
    category column), else drawn with the rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10)).astype(np.float32)
    logit = x[:, :6] @ np.array([0.6, -0.4, 0.3, 0.2, -0.2, 0.1], np.float32) + 0.3 * x[:, 6] * x[:, 7]
    frame = pd.DataFrame({f"num_{j}": np.where(rng.random(n) < 0.03, np.nan, np.round(x[:, j], 4)) for j in range(10)})
    for j, levels in enumerate(LEVELS):
        codes = np.minimum(rng.zipf(1.3, n) - 1, levels - 1) if levels > 100 else rng.integers(0, levels, n)
        logit += (rng.normal(0, 0.4, levels) if effects is None else effects[j])[codes]
        frame[f"cat_{j}"] = np.char.add(f"c{j}_", codes.astype(str))
    day = np.datetime64("2020-01-01") + rng.integers(0, 4 * 365, n).astype("timedelta64[D]")
    logit += 0.3 * np.cos(2 * np.pi * (day.astype("datetime64[D]").astype(int) % 365) / 365)
    frame["day"] = day.astype(str)
    frame["target"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return frame


def _hwm_kb(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "status").read_text().split("VmHWM:")[1].split()[0])
    except (OSError, IndexError):
        return 0


def watched(command: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak RSS (GB) of one process and the processes it starts: the larger of its
    own VmHWM and the most that it and its descendants held together at one poll."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    peak_kb = 0
    while process.poll() is None:
        peak_kb = max(peak_kb, _hwm_kb(process.pid), held(process.pid) // 1024)
        time.sleep(0.05)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read()[-2000:]}")
    return time.perf_counter() - started, peak_kb / 1e6


def main(argv: list[str] | None = None) -> int:
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="100000,1000000", help="train.csv sizes, comma-separated")
    parser.add_argument("--presets", default="default,fast", help="the pipeline's presets to run, comma-separated")
    parser.add_argument("--pipeline-args", default="", help="more options for run-all")
    args = parser.parse_args(argv)
    extra = shlex.split(args.pipeline_args)
    print(machine())
    print(f"{'rows':>9s} {'who':10s} {'seconds':>8s} {'peak GB':>8s} {'AUC':>7s}")
    for n in (int(r) for r in args.rows.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "data/raw").mkdir(parents=True)
            frame = table(n + n // 4)
            frame.insert(0, "id", np.arange(len(frame)))
            frame.iloc[:n].to_csv(folder / "data/raw/train.csv", index=False)
            frame.iloc[n:].drop(columns="target").to_csv(folder / "data/raw/test.csv", index=False)
            frame.iloc[n:][["id"]].assign(target=0.5).to_csv(folder / "data/raw/sample_submission.csv", index=False)
            truth = frame.iloc[n:]["target"].to_numpy()
            del frame
            seconds, peak = watched([sys.executable, "-c", PLAIN], folder)
            auc = roc_auc_score(truth, pd.read_csv(folder / "plain_sub.csv")["target"])
            print(f"{n:9,d} {'notebook':10s} {seconds:8.1f} {peak:8.2f} {auc:7.4f}", flush=True)
            for preset in args.presets.split(","):
                run = [sys.executable, "-m", "pipeline", "run-all", "--quiet", "--force", "--preset", preset, *extra]
                seconds, peak = watched(run, folder)
                more, top = watched([sys.executable, "-m", "pipeline", "predict", "--quiet",
                                     "--out", "submissions/sub.csv"], folder)
                auc = roc_auc_score(truth, pd.read_csv(folder / "submissions/sub.csv")["target"])
                print(f"{n:9,d} {preset:10s} {seconds + more:8.1f} {max(peak, top):8.2f} {auc:7.4f}"
                      f"   (run-all {seconds:.1f} s, predict {more:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
