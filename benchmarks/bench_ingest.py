"""Benchmark: the ingest stage against a bare pandas read of the same CSVs, side by side.

On a Digit Recognizer-sized competition (42,000 x 785 train.csv and 28,000 x 784 test.csv,
generated, or Fashion-MNIST's rows with `--source`), it times in one process, alternating:

- bare: `pd.read_csv(path, dtype=np.uint8).to_numpy()` for train.csv and test.csv;
- pipeline: the ingest stage as `pipeline ingest --force` runs it (reading both files with
  its checks, label and id detection, validation, and writing `ingest.npz` to the cache).

    .venv/bin/python benchmarks/bench_ingest.py [--rows 42000] [--source /work/data/fmnist]

Each figure is the best of `--repeats` runs (the machine is shared, so the least disturbed
run is the truest); the ratio is pipeline / bare.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import enter, machine, pixel_competition


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=42_000, help="train.csv rows (test.csv gets 2/3 as many)")
    parser.add_argument("--source", type=Path, help="a Kaggle-layout Fashion-MNIST folder to take rows from")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pipeline-bench")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from pipeline.config import load_config
    from pipeline.runner import Runner

    work = args.workdir / f"ingest-{args.rows}{'-' + args.source.name if args.source else ''}"
    raw = pixel_competition(work / "data", args.rows, args.rows * 2 // 3, args.source)
    enter(work)
    runner_config = load_config(data_dir=Path("data"))

    def bare() -> None:
        for name in ("train.csv", "test.csv"):
            pd.read_csv(raw / name, dtype=np.uint8).to_numpy()

    def pipeline() -> None:
        Runner(runner_config, force=True).run("ingest")

    best = {"bare pd.read_csv(dtype=uint8).to_numpy()": float("inf"), "pipeline ingest stage": float("inf")}
    for _ in range(args.repeats):
        for name, fn in zip(best, (bare, pipeline)):
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    size = sum((raw / name).stat().st_size for name in ("train.csv", "test.csv")) / 1e6
    print(machine())
    print(f"train.csv {args.rows} rows + test.csv {args.rows * 2 // 3} rows ({size:.0f} MB), best of {args.repeats}")
    base = next(iter(best.values()))
    for name, seconds in best.items():
        print(f"{name:42s} {seconds:6.2f} s  {seconds / base:5.2f}x")


if __name__ == "__main__":
    main()
