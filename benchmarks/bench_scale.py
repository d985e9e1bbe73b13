"""Benchmark: each stage's time and peak memory as the data grows (42k, 126k, 420k rows).

For each size it writes a generated Digit Recognizer-layout competition (train.csv of N rows,
test.csv of N * 2/3 rows, as Kaggle's 42k/28k), then runs the stages one by one as
`pipeline <stage>` processes, with one training epoch (set in the work folder's
pipeline.toml: the cost of an epoch, not of a whole schedule, is what must grow linearly).
For each stage it prints the stage's own seconds (from its cache record), the seconds per
1,000 train rows, and the process's peak resident memory (its VmHWM, imports included).
The last column compares each stage's time per row with the smallest size's: 1.00 is linear.

    .venv/bin/python benchmarks/bench_scale.py [--rows 42000,126000,420000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import enter, machine, pixel_competition

STAGES = ("ingest", "preprocess", "split", "train", "validate", "predict")
SETTINGS = "[train]\nepochs = 1\n"


def run_stage(stage: str) -> tuple[float, float]:
    """The stage's seconds (from its cache record) and its process's peak RSS in GB.

    The peak is the process's VmHWM, polled while it runs: the rusage of a child on Linux
    would also count this benchmark's own memory, which it inherits through fork and exec."""
    command = [sys.executable, "-m", "pipeline", stage, "--quiet"]
    if stage == "predict":
        command += ["--out", "submissions/sub.csv"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak_kb = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass  # between fork and exec, or exiting
        time.sleep(0.05)
    if process.returncode != 0:
        raise SystemExit(f"pipeline {stage} failed")
    with np.load(Path("data/processed") / f"{stage}.npz") as stored:
        seconds = json.loads(str(stored["__meta__"]))["seconds"]
    return seconds, peak_kb / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="42000,126000,420000", help="train.csv sizes, comma-separated")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pipeline-bench")
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]

    per_row: dict[str, float] = {}
    print(machine())
    print(f"{'rows':>8s} {'stage':10s} {'seconds':>8s} {'s/1k rows':>9s} {'peak RSS':>9s} {'vs linear':>9s}")
    for rows in sizes:
        work = args.workdir / f"scale-{rows}"
        pixel_competition(work / "data", rows, rows * 2 // 3)
        enter(work)
        Path("pipeline.toml").write_text(SETTINGS)
        subprocess.run([sys.executable, "-m", "pipeline", "clean"], check=True, stdout=subprocess.DEVNULL)
        for stage in STAGES:
            seconds, peak = run_stage(stage)
            rate = seconds / rows * 1000
            per_row.setdefault(stage, rate)
            print(f"{rows:8d} {stage:10s} {seconds:8.1f} {rate:9.3f} {peak:7.2f}GB {rate / per_row[stage]:9.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
