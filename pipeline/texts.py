"""The text columns' own strings, beside the numbers the schema encodes them into: read from
a frame (an empty or missing cell is an empty string), packed into the cache as one byte
array (UTF-8, cells joined by NUL, so one long review does not widen every cell as a fixed-width
string array would) and unpacked into an (n, columns) array of Python strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.errors import PipelineError
from pipeline.schema import TEXT

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.schema import Schema

SEPARATOR = "\0"


def columns(schema: Schema) -> list[str]:
    """The schema's text columns, in order."""
    return [column for column, kind in zip(schema.columns, schema.kinds) if kind == TEXT]


def of(frame: pd.DataFrame, schema: Schema, name: str = "test.csv", train_name: str = "train.csv") -> np.ndarray:
    """`frame`'s text columns as an (n, columns) object array of strings; a text column of
    `frame` (named `name`) that holds nothing but numbers is an error."""
    import pandas as pd

    names = columns(schema)
    text = np.empty((len(frame), len(names)), dtype=object)
    for j, column in enumerate(names):
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) and series.notna().any():
            raise PipelineError(f"{name}: column {column!r} holds only numbers, where {train_name} holds text; "
                                f"check that the two files' columns line up")
        cells = series.astype("string").fillna("").str.replace(SEPARATOR, " ", regex=False)
        text[:, j] = cells.to_numpy(dtype=object)
    return text


def pack(text: np.ndarray) -> np.ndarray:
    """The strings as one uint8 array (empty when there are none)."""
    if not text.size:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(SEPARATOR.join(text.ravel().tolist()).encode("utf-8"), dtype=np.uint8)


def unpack(packed: np.ndarray | None, n_columns: int) -> np.ndarray | None:
    """`pack`'s strings back as (n, n_columns); None when there are no text columns."""
    if packed is None or not n_columns:
        return None
    cells = packed.tobytes().decode("utf-8").split(SEPARATOR)
    return np.array(cells, dtype=object).reshape(-1, n_columns)


def train_of(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """train.csv's text, from ingest's arrays `text` and `text_columns` (None without any)."""
    return unpack(arrays.get("text"), len(arrays.get("text_columns", ())))


def test_of(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """test.csv's text, from ingest's arrays `text_test` and `text_columns`."""
    return unpack(arrays.get("text_test"), len(arrays.get("text_columns", ())))
