"""The Keras environment: Keras 3 on TensorFlow, with oneDNN's kernels on every x86 CPU and
TensorFlow's start-up lines hidden, imported only when a model trains or predicts (importing
this module costs nothing); and the batch size every network predicts in."""

from __future__ import annotations

import os
import sys
from typing import Any

INFERENCE_BATCH = 1024


def load_keras() -> Any:
    """Import Keras on TensorFlow with oneDNN's kernels on every x86 CPU, hiding TensorFlow's
    C++ start-up log lines (they bypass TF_CPP_MIN_LOG_LEVEL); Python errors still raise as
    usual."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # TensorFlow turns oneDNN on by itself only on CPUs with VNNI, AVX512-BF16 or AMX. On an
    # AVX2-only CPU it falls back to Eigen's convolutions, which trained the default CNN at
    # 0.4x oneDNN's images/s on a 2-core Zen 3 (docs/avx2.md). A user's setting still wins.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow
        import keras

        tensorflow.get_logger().setLevel("ERROR")  # e.g. retracing notes when several nets predict
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)
    return keras
