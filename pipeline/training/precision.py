"""The training arithmetic for this machine: bfloat16 mixed precision where it was measured (or
is built) to train the CNN faster than float32, float32 elsewhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.keras_env import load_keras


def training_precision(requested: str, arch: str) -> str:
    """`requested`, or for `auto`: bfloat16 for a CNN on a CPU where it trains faster than
    float32 (see `_fast_bfloat16`), with no GPU visible and oneDNN not held below it
    (ONEDNN_MAX_CPU_ISA); float32 elsewhere and for vectors, whose standardised values
    bfloat16's 8-bit mantissa would blur."""
    if requested != "auto":
        return requested
    if not arch.startswith("cnn"):
        return "float32"
    load_keras()  # TensorFlow's start-up lines stay hidden
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU") or not _onednn_allows_bfloat16():
        return "float32"
    try:
        cpu = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "float32"
    return "bfloat16" if _fast_bfloat16(cpu) else "float32"


def _fast_bfloat16(cpuinfo: str) -> bool:
    """Whether the CPU of `cpuinfo` (/proc/cpuinfo's text) trains the default CNN faster in
    bfloat16: with AMX (the matrix units it is for), and on an AMD CPU with AVX512-BF16 (1.34x
    float32's images per CPU-second on a 2-core EPYC). An Intel CPU with AVX512-BF16 but no AMX
    (a cloud VM that hides it) trained 1.37x faster in float32 (docs/avx2.md)."""
    if re.search(r"\bamx_bf16\b", cpuinfo):
        return True
    return "AuthenticAMD" in cpuinfo and re.search(r"\bavx512_bf16\b", cpuinfo) is not None


def _onednn_allows_bfloat16() -> bool:
    """Whether ONEDNN_MAX_CPU_ISA, when set, still lets oneDNN use bfloat16 instructions: held to
    AVX2 (as to check a laptop's speed on a bigger CPU) it has no bfloat16 convolution and
    TensorFlow aborts on the first one."""
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    return limit in ("ALL", "DEFAULT") or any(isa in limit for isa in ("BF16", "FP16", "AMX", "AVX10"))
