"""Benchmark: a table larger than the workers' memory, run to a submission on a local Dask
cluster (`pipeline run-all --cluster ADDRESS`, then `predict`, as a user runs them) beside the
plain notebook (pandas + HistGradientBoosting) under the same memory: the workers' limits
added up. Prints each one's seconds, rows per second, peak memory (the pipeline's own
process, and each worker's, polled) and test AUC, or the memory the notebook ran out of.
With --single, also the pipeline in one process (for a table that fits in memory).

The table is table_scale.py's shape (10 numbers, 5 categories of 5 to 10,000 values, a date,
a binary target), written in chunks of a million rows with the same effects throughout:
train.csv holds N rows (60,000,000: about 8 GB), test.csv N/10.

    .venv/bin/python benchmarks/cluster_scale.py [--rows 60000000] [--workers 2] [--memory 2GB]
        [--folder /tmp/cluster_scale] [--single]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import held, machine  # noqa: E402
from table_scale import LEVELS, PLAIN, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1_000_000
PIPELINE = [sys.executable, "-m", "pipeline"]


def chunk(n: int, first_id: int, seed: int, effects: list[np.ndarray]) -> pd.DataFrame:
    """`n` rows from ids `first_id`, drawn with `seed`, the categories' effects fixed."""
    frame = table(n, seed, effects)
    frame.insert(0, "id", np.arange(first_id, first_id + n))
    return frame


def write(folder: Path, rows: int) -> None:
    """train.csv, test.csv, sample_submission.csv and truth.csv (the test answers), once."""
    raw = folder / "data" / "raw"
    done = folder / f"written-{rows}"
    if done.exists():
        return
    raw.mkdir(parents=True, exist_ok=True)
    effects = [np.random.default_rng(100 + j).normal(0, 0.4, levels) for j, levels in enumerate(LEVELS)]
    started = time.perf_counter()
    for name, count, first in (("train", rows, 0), ("test", rows // 10, rows)):
        with open(raw / f"{name}.csv", "w") as out, open(folder / "truth.csv" if name == "test" else os.devnull,
                                                         "w") as truth:
            for i, start in enumerate(range(0, count, CHUNK)):
                frame = chunk(min(CHUNK, count - start), first + start, (name == "test") * 10**6 + i, effects)
                if name == "test":
                    frame[["id", "target"]].to_csv(truth, index=False, header=i == 0)
                    frame[["id"]].assign(target=0.5).to_csv(raw / "sample_submission.csv", index=False,
                                                            header=i == 0, mode="w" if i == 0 else "a")
                    frame = frame.drop(columns="target")
                frame.to_csv(out, index=False, header=i == 0)
                print(f"  wrote {start + len(frame):,} rows of {name}.csv ({time.perf_counter() - started:.0f} s)",
                      flush=True)
    done.touch()


def rss(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "status").read_text().split("VmRSS:")[1].split()[0]) * 1024
    except (OSError, IndexError):
        return 0


class Workers(threading.Thread):
    """Polls each worker's RSS (by the process ids the cluster reports, which change when a
    worker is restarted) until stopped."""

    def __init__(self, client: object) -> None:
        super().__init__(daemon=True)
        self.client, self.peaks, self.stop, self.pids = client, {}, threading.Event(), set()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                pids = self.client.run(os.getpid)  # type: ignore[attr-defined]
            except Exception:  # a worker going away mid-call
                pids = {}
            self.pids |= set(pids.values())
            for address, pid in pids.items():
                self.peaks[address] = max(self.peaks.get(address, 0), rss(pid))
            self.stop.wait(0.5)


def watched(command: list[str], cwd: Path, limit: float = 0) -> tuple[float, float, int, str]:
    """Seconds, peak RSS (bytes; with the processes it starts) and exit code of one process,
    stopped (SIGKILL) when that passes `limit` bytes; and the end of what it wrote (all of it goes to cwd/benchmark.log)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    peak = 0
    while process.poll() is None:
        peak = max(peak, held(process.pid))
        if limit and peak > limit:
            process.kill()
        time.sleep(0.1)
    reader.join(5)
    with open(cwd / "benchmark.log", "a") as log:
        log.write(f"$ {' '.join(command[-4:])}\n{''.join(lines)}\n")
    return time.perf_counter() - started, peak, process.returncode, "".join(lines[-12:])


def auc(submission: Path, truth: Path) -> float:
    from sklearn.metrics import roc_auc_score

    merged = pd.read_csv(truth).merge(pd.read_csv(submission), on="id", suffixes=("", "_predicted"))
    return float(roc_auc_score(merged["target"], merged["target_predicted"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory", default="2GB", help="each worker's memory limit")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/cluster_scale"))
    parser.add_argument("--single", action="store_true", help="also run the pipeline in one process")
    args = parser.parse_args()
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    print(machine())
    folder = args.folder / f"{args.rows}"
    write(folder, args.rows)
    size = sum(p.stat().st_size for p in (folder / "data" / "raw").glob("*.csv"))
    limit = parse_bytes(args.memory)
    print(f"{args.rows:,} train rows, {size / 1e9:.2f} GB of CSV; {args.workers} workers of {args.memory}", flush=True)
    results = []
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, memory_limit=limit,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        workers = Workers(client)
        workers.start()
        seconds = peak = 0.0
        shutil.rmtree(folder / "data" / "processed", ignore_errors=True)  # a run from the CSVs
        for command in (["run-all", "--cluster", cluster.scheduler_address], ["predict", "--out", "sub.csv"]):
            spent, top, code, tail = watched(PIPELINE + command, folder)
            print(tail, flush=True)
            if code:
                raise SystemExit(f"pipeline {command[0]} failed ({code})")
            seconds, peak = seconds + spent, max(peak, top)
        workers.stop.set()
        workers.join()
        each = ", ".join(f"{p / 1e9:.2f}" for p in workers.peaks.values())
        restarted = len(workers.pids) - args.workers
        print("stages: " + ", ".join(f"{name} {stage_seconds(folder, 'cluster', name):.1f} s"
                                     for name in ("ingest", "split", "train", "validate", "predict")))
        results.append(("pipeline --cluster", seconds, f"{peak / 1e9:.2f} GB; workers {each} GB"
                        + (f" ({restarted} restarted)" if restarted else ""), auc(folder / "sub.csv", folder / "truth.csv")))
    if args.single:
        seconds = peak = 0.0
        for command in (["run-all", "--cluster", "", "--force"], ["predict", "--out", "single_sub.csv"]):
            spent, top, code, tail = watched(PIPELINE + command, folder)
            if code:
                raise SystemExit(f"pipeline {command[0]} failed ({code}): {tail}")
            seconds, peak = seconds + spent, max(peak, top)
        results.append(("pipeline, one process", seconds, f"{peak / 1e9:.2f} GB",
                        auc(folder / "single_sub.csv", folder / "truth.csv")))
    budget = limit * args.workers
    spent, top, code, _ = watched([sys.executable, "-c", PLAIN], folder, budget)
    if code == 0:
        results.append(("notebook (pandas + HGB)", spent, f"{top / 1e9:.2f} GB", auc(folder / "plain_sub.csv",
                                                                                   folder / "truth.csv")))
    else:
        results.append((f"notebook, stopped past {budget / 1e9:.0f} GB", spent, f"{top / 1e9:.2f} GB", float("nan")))
    print(f"\n{'who':<36} {'seconds':>8} {'rows/s':>10}  {'test AUC':>8}  peak memory")
    for who, seconds, memory, score in results:
        rate = f"{args.rows / seconds:10,.0f}" if score == score else f"{'-':>10}"  # none for a stopped run
        print(f"{who:<36} {seconds:8.1f} {rate}  {score:8.4f}  {memory}")


def stage_seconds(folder: Path, graph: str, name: str) -> float:
    """How long a stage took, as its cache entry records it."""
    from pipeline import cache

    return float((cache.read_meta(folder / "data" / "processed" / graph / f"{name}.npz") or {}).get("seconds", 0))


if __name__ == "__main__":
    main()
