"""What the benchmarks share: the machine's description printed with every figure, pixel
competitions of any size, and running the pipeline as a process.

`pixel_competition(folder, n_train, n_test)` writes `train.csv` (`label,pixel0..pixel783`) and
`test.csv` (`pixel0..pixel783`) into `folder/raw/` unless they are already there. The rows are
Fashion-MNIST's (repeated as needed) when `source` names a folder holding its Kaggle-layout
train.csv, else generated: about 19% of pixels lit, as in MNIST, so the files have the size
and texture of the real ones.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PIXELS = [f"pixel{i}" for i in range(784)]
# the vector extensions that decide a CNN's speed on a CPU (AMX and AVX-512 against AVX2: 4-5x)
EXTENSIONS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def machine() -> str:
    """One line naming the CPU the figures come from: its model (with family and model number,
    since a VM may call Zen 3 and Zen 4 alike "AMD EPYC"), cores, vector extensions, and
    whether oneDNN is held below them (ONEDNN_MAX_CPU_ISA)."""
    import platform

    model, flags, numbers = platform.processor() or platform.machine(), set(), {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() in ("cpu family", "model"):
                numbers.setdefault(key.strip().removeprefix("cpu "), value.strip())
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    except OSError:
        pass  # not Linux: the model from platform only
    if numbers:
        model += " (" + ", ".join(f"{k} {v}" for k, v in numbers.items()) + ")"
    shown = " ".join(f for f in EXTENSIONS if f in flags) or "none of " + ", ".join(EXTENSIONS[:3])
    held = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"machine: {model}, {os.cpu_count()} cores; {shown}" + (f"; oneDNN held to {held}" if held else "")


def held(pid: int) -> int:
    """The bytes a process and all its descendants hold in RAM together (their VmRSS): a
    pipeline that fits a learner in a process of its own is measured with it."""
    total = 0
    try:
        total = int((Path("/proc") / str(pid) / "status").read_text().split("VmRSS:")[1].split()[0]) * 1024
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            total += sum(held(int(child)) for child in children.read_text().split())
    except (OSError, IndexError):
        pass
    return total


def tf_kernels() -> str:
    """The convolution kernels TensorFlow runs in this process (once imported): oneDNN's, or
    Eigen's, TensorFlow's own choice on a CPU without VNNI, AVX512-BF16 or AMX unless
    TF_ENABLE_ONEDNN_OPTS=1. The pipeline sets it (pipeline.keras_env.load_keras); a notebook
    does not."""
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow exposes no public check

    return "oneDNN" if _pywrap_util_port.IsMklEnabled() else "Eigen"


def recipe_model(keras: Any, n_classes: int, augment: bool) -> Any:
    """The well-known Digit Recognizer notebook's network ("25 million images"): seven conv
    layers with batch norm, dropout 0.4, Adam 1e-3; with `augment`, its ImageDataGenerator
    augmentation (rotation 10, zoom 0.1, shift 0.1) as Keras layers."""
    layers = keras.layers
    stack = [keras.Input((28, 28, 1))]
    if augment:
        stack += [layers.RandomRotation(10 / 360, fill_mode="constant"),
                  layers.RandomZoom(0.1, fill_mode="constant"),
                  layers.RandomTranslation(0.1, 0.1, fill_mode="constant")]
    for filters in (32, 64):
        stack += [layers.Conv2D(filters, 3, activation="relu"), layers.BatchNormalization(),
                  layers.Conv2D(filters, 3, activation="relu"), layers.BatchNormalization(),
                  layers.Conv2D(filters, 5, strides=2, padding="same", activation="relu"),
                  layers.BatchNormalization(), layers.Dropout(0.4)]
    stack += [layers.Conv2D(128, 4, activation="relu"), layers.BatchNormalization(), layers.Flatten(),
              layers.Dropout(0.4), layers.Dense(n_classes, activation="softmax")]
    model = keras.Sequential(stack)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def pixel_rows(n: int, source: Path | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` labels and `n` x 784 uint8 pixel rows."""
    if source is not None:
        frame = pd.read_csv(source / "train.csv", dtype=np.uint8)
        labels, pixels = frame.pop("label").to_numpy(), frame.to_numpy()
        take = np.arange(n) % len(frame)
        return labels[take], pixels[take]
    rng = np.random.default_rng(seed)
    lit = rng.random((n, 784)) < 0.19
    pixels = np.where(lit, rng.integers(1, 256, (n, 784)), 0).astype(np.uint8)
    return rng.integers(0, 10, n), pixels


def pixel_competition(folder: Path, n_train: int, n_test: int, source: Path | None = None) -> Path:
    """`folder/raw/{train,test}.csv` of the given sizes (kept if present); returns `folder/raw`."""
    raw = folder / "raw"
    if (raw / "train.csv").exists() and (raw / "test.csv").exists():
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    labels, pixels = pixel_rows(n_train + n_test, source)
    train = pd.DataFrame(pixels[:n_train], columns=PIXELS)
    train.insert(0, "label", labels[:n_train])
    train.to_csv(raw / "train.csv", index=False)
    pd.DataFrame(pixels[n_train:], columns=PIXELS).to_csv(raw / "test.csv", index=False)
    print(f"wrote {n_train} + {n_test} rows to {raw} in {time.perf_counter() - started:.0f}s", flush=True)
    return raw


def enter(work: Path) -> None:
    """Work in `work` from now on, with `python -m pipeline` running this checkout's code."""
    root = str(Path(__file__).resolve().parents[1])
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])
    os.chdir(work)


def seconds(command: list[str]) -> float:
    """Wall time of running `command` to completion (its output discarded)."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started
