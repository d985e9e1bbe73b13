"""Benchmark: `pipeline predict` against a bare Keras predict and pandas to_csv, side by side.

On a Digit Recognizer-sized competition (42,000 train rows, 28,000 test rows, generated, or
Fashion-MNIST's rows with `--source`), it first trains the default CNN for one epoch (set in
the work folder's pipeline.toml: the network's size, not its accuracy, sets the cost of
predicting). Then it times, alternating, with the predict stage's cache entry removed each time:

- in this process, the bare pair: `keras.models.load_model("models/model.keras")`,
  `model.predict` on test.csv's pixels / 255, and `DataFrame.to_csv` of `ImageId,Label`;
- in this process, the pipeline: the predict stage (rebuilding the network from the cache and
  reading the cached test arrays) and the checked submission CSV, as `pipeline predict` runs them;
- as new processes, end to end: the bare way as a script (imports, pd.read_csv of test.csv,
  load_model, predict, to_csv) against the whole `pipeline predict --out ...` command.

    .venv/bin/python benchmarks/bench_predict.py [--test-rows 28000] [--source /work/data/fmnist]

Each figure is the best of `--repeats` runs; each pipeline row's ratio is to the bare row above it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import enter, machine, pixel_competition, seconds

PIPELINE = [sys.executable, "-m", "pipeline"]
SETTINGS = "[train]\nepochs = 1\n"
BARE_SCRIPT = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, numpy as np, pandas as pd
x = (pd.read_csv(sys.argv[1], dtype=np.uint8).to_numpy(np.float32) / 255).reshape(-1, 28, 28, 1)
labels = keras.models.load_model("models/model.keras").predict(x, batch_size=1024, verbose=0).argmax(axis=1)
pd.DataFrame({"ImageId": np.arange(1, len(x) + 1), "Label": labels}).to_csv("bare.csv", index=False)
"""



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-rows", type=int, default=28_000)
    parser.add_argument("--source", type=Path, help="a Kaggle-layout Fashion-MNIST folder to take rows from")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pipeline-bench")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = args.workdir / f"predict-{args.test_rows}{'-' + args.source.name if args.source else ''}"
    raw = pixel_competition(work / "data", 42_000, args.test_rows, args.source)
    enter(work)
    Path("pipeline.toml").write_text(SETTINGS)
    print("training the default CNN for one epoch (once; cached in the work folder)", flush=True)
    subprocess.run([*PIPELINE, "run-all", "--quiet"], check=True, stdout=subprocess.DEVNULL)

    from pipeline.keras_env import INFERENCE_BATCH, load_keras
    from pipeline.config import load_config
    from pipeline.runner import Runner
    from pipeline.outputs import write_submission

    keras = load_keras()
    config = load_config()
    cached = config.processed_dir / "predict.npz"

    def bare() -> float:
        x = (pd.read_csv(raw / "test.csv", dtype=np.uint8).to_numpy(np.float32) / 255).reshape(-1, 28, 28, 1)
        started = time.perf_counter()  # reading the CSV is ingest's work, not predict's
        model = keras.models.load_model("models/model.keras")
        labels = model.predict(x, batch_size=INFERENCE_BATCH, verbose=0).argmax(axis=1)
        pd.DataFrame({"ImageId": np.arange(1, len(x) + 1), "Label": labels}).to_csv("bare.csv", index=False)
        return time.perf_counter() - started

    def in_process() -> float:
        cached.unlink(missing_ok=True)
        started = time.perf_counter()
        write_submission(Runner(config), Path("submissions/pipeline.csv"))
        return time.perf_counter() - started

    def bare_script() -> float:
        return seconds([sys.executable, "-c", BARE_SCRIPT, str(raw / "test.csv")])

    def whole_command() -> float:
        cached.unlink(missing_ok=True)
        return seconds([*PIPELINE, "predict", "--out", "submissions/command.csv", "--quiet"])

    rows = {
        "bare load_model + predict + to_csv, in process": bare,
        "pipeline predict stage + submission, in process": in_process,
        "bare script, new process (imports, read_csv too)": bare_script,
        "pipeline predict, whole command, new process": whole_command,
    }
    best = dict.fromkeys(rows, float("inf"))
    for _ in range(args.repeats):
        for name, fn in rows.items():
            best[name] = min(best[name], fn())
    print(machine())
    print(f"{args.test_rows} test rows, 28x28, default CNN; best of {args.repeats}")
    names = list(best)
    for i, name in enumerate(names):
        ratio = f"{best[name] / best[names[i - 1]]:5.2f}x" if i % 2 else ""
        print(f"{name:50s} {best[name]:6.2f} s  {ratio}")


if __name__ == "__main__":
    main()
