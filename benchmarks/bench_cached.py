"""Benchmark: a fully cached `pipeline run-all` as a whole process, against bare Python start-ups.

It prepares a competition whose train.csv is 1.3 GB (720,000 generated Digit
Recognizer-layout rows; `--rows` to change), runs every stage once (a one-epoch MLP, set in the
work folder's pipeline.toml, so the preparation takes minutes, not hours), then times, alternating:

- `python -c pass`: the interpreter's own start-up;
- `python -c "import pipeline"` and `"import pipeline.cli"`: the package, then its CLI's
  imports (typer, rich, numpy);
- `pipeline run-all` with every stage fresh: keys, the size-and-mtime memo of the raw CSVs,
  each cache entry's small header, and the metrics table; TensorFlow is never imported
  (tests/test_cli.py asserts it);
- once, for contrast: the same no-op after the fingerprint memo was deleted, which re-hashes the
  raw CSVs (what every no-op would cost without the memo).

    .venv/bin/python benchmarks/bench_cached.py [--rows 720000]

Each figure is the best of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import enter, machine, pixel_competition, seconds

SETTINGS = '[train]\npreset = "fast"\nmodel = "mlp"\nepochs = 1\n'



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=720_000, help="train.csv rows (about 1.8 kB each)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pipeline-bench")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    work = args.workdir / f"cached-{args.rows}"
    raw = pixel_competition(work / "data", args.rows, 1000)
    enter(work)
    Path("pipeline.toml").write_text(SETTINGS)
    run_all = [sys.executable, "-m", "pipeline", "run-all"]
    print("running every stage once (cached in the work folder)", flush=True)
    subprocess.run([*run_all, "--quiet"], check=True, stdout=subprocess.DEVNULL)

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import pipeline"': [sys.executable, "-c", "import pipeline"],
        'python -c "import pipeline.cli"': [sys.executable, "-c", "import pipeline.cli"],
        "pipeline run-all, every stage fresh": run_all,
    }
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(args.repeats):
        for name, command in commands.items():
            best[name] = min(best[name], seconds(command))
    Path("data/processed/.raw-fingerprints.json").unlink()
    unmemoised = seconds(run_all)

    size = (raw / "train.csv").stat().st_size / 1e9
    print(machine())
    print(f"train.csv: {args.rows} rows, {size:.2f} GB; best of {args.repeats}")
    base = best["python -c pass"]
    for name, value in best.items():
        print(f"{name:48s} {value:6.2f} s  {value / base:5.2f}x")
    print(f"{'the same no-op with the memo deleted (re-hash)':48s} {unmemoised:6.2f} s  {unmemoised / base:5.2f}x")


if __name__ == "__main__":
    main()
