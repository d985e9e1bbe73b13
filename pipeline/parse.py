"""The written forms of settings that stages read: a duration such as "10m" and an image shape
such as "28x28". Checked when the configuration is loaded, and parsed by the stage that uses
them."""

from __future__ import annotations

import re

from pipeline.errors import PipelineError


def parse_image_shape(text: str) -> tuple[int, ...] | None:
    """'28x28' -> (28, 28, 1); '32x32x3' -> (32, 32, 3); '' -> None."""
    if not text:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) not in (2, 3) or min(dims) < 1:
        raise PipelineError(f"--image-shape {text!r} is not HxW or HxWxC; give e.g. 28x28")
    return dims if len(dims) == 3 else (*dims, 1)


def parse_duration(text: str) -> float | None:
    """'10m' -> 600.0, '1h30m' -> 5400.0, '90s' or '90' -> 90.0, '' -> None."""
    if not text:
        return None
    number = r"(\d+(?:\.\d+)?)"
    parts = re.fullmatch(f"(?:{number}h)?(?:{number}m)?(?:{number}s?)?", text.replace(" ", "").lower())
    seconds = sum(float(v) * unit for v, unit in zip(parts.groups(), (3600, 60, 1)) if v) if parts else 0
    if seconds <= 0:
        raise PipelineError(f"--time-budget {text!r} is not a duration; give e.g. 90s, 10m or 1h30m")
    return seconds
