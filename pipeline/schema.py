"""The column schema of a table: what each feature column is, and how it becomes numbers.

Each column of train.csv is numeric, categorical (text values, booleans), datetime (parsed,
then expanded to numeric parts), text (mostly unique strings, such as a passenger's name:
encoded as 0/1 indicators of its most frequent words, such as "mr" or "ford") or an id
(unique per row and named like one: dropped with a note).
The schema is inferred from train.csv once, at ingest, stored in the cache as arrays, and
used to encode test.csv and any `predict --input` file the same way.

Encoded, a table is one float matrix: numeric values and date parts as they are, a
categorical cell as its code in the column's vocabulary (train's categories, most frequent
first), and a missing cell, or a category train never saw, as NaN. The models handle NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

NUMERIC, CATEGORICAL, DATETIME, TEXT = "numeric", "categorical", "datetime", "text"
ROW_NUMBERS = re.compile(r"(?i)id|imageid|Unnamed: \d+")  # never features, whatever they hold
ID_LIKE = re.compile(r"(?:.*[a-z0-9](Id|ID)|.*[_ .-][iI][dD]|[iI][dD][_ .-].*|[iI][dD])")  # PassengerId, customer_id
TEXT_LIKE_DISTINCT = 50  # a text column with more distinct values than this ...
TEXT_LIKE_SHARE = 0.5  # ... in over this share of its filled cells is free text, not categories
MAX_VOCABULARY = 1000  # rarer categories count as unknown
MAX_WORDS = 20  # a text column's most frequent words, each a 0/1 feature ...
MIN_WORD_SHARE = 0.01  # ... when it is in at least this share of the rows (and 5 of them)
WORD = r"[^\W_]+"
DATE = re.compile(r"\s*(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?|\d{1,2}/\d{1,2}/\d{4})\s*")
DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear")
MOSTLY_NUMBERS = 0.95  # a column this much numbers, with some text, holds typos: an error


@dataclass(frozen=True)
class Schema:
    """The kept feature columns of train.csv, in order, with their kinds and vocabularies."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    with_time: tuple[str, ...] = ()  # datetime columns whose cells carry a time of day

    @property
    def feature_names(self) -> list[str]:
        names = []
        for column, kind in zip(self.columns, self.kinds):
            if kind == DATETIME:
                parts = (*DATE_PARTS, *(("hour",) if column in self.with_time else ()), "days")
                names += [f"{column}_{part}" for part in parts]
            elif kind == TEXT:
                names += [f"{column}_{word}" for word in self.vocabularies[column]]
            else:
                names.append(column)
        return names

    def _width(self, column: str, kind: str) -> int:
        if kind == DATETIME:
            return len(DATE_PARTS) + 1 + (column in self.with_time)
        return len(self.vocabularies[column]) if kind == TEXT else 1

    @property
    def feature_columns(self) -> list[str]:
        """The original column of each feature (a date's parts share one)."""
        return [column for column, kind in zip(self.columns, self.kinds) for _ in range(self._width(column, kind))]

    @property
    def feature_kinds(self) -> list[str]:
        return [CATEGORICAL if kind == CATEGORICAL else NUMERIC
                for column, kind in zip(self.columns, self.kinds) for _ in range(self._width(column, kind))]

    @property
    def tabular(self) -> bool:
        """Whether anything but plain numbers is in it (then it is never an image)."""
        return any(kind != NUMERIC for kind in self.kinds)

    def vocabulary(self, feature: str) -> tuple[str, ...]:
        return self.vocabularies.get(feature, ())

    def to_arrays(self) -> dict[str, np.ndarray]:
        vocab = [v for c in self.columns for v in self.vocabularies.get(c, ())]
        return {
            "columns": np.array(self.columns, dtype=str),
            "column_kinds": np.array(self.kinds, dtype=str),
            "vocabulary": np.array(vocab, dtype=str),
            "vocabulary_sizes": np.array([len(self.vocabularies.get(c, ())) for c in self.columns], dtype=np.int64),
            "with_time": np.array(self.with_time, dtype=str),
            "feature_names": np.array(self.feature_names, dtype=str),
            "feature_kinds": np.array(self.feature_kinds, dtype=str),
            "feature_columns": np.array(self.feature_columns, dtype=str),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Schema:
        columns = tuple(str(c) for c in arrays["columns"])
        vocab, vocabularies, start = [str(v) for v in arrays["vocabulary"]], {}, 0
        for column, size in zip(columns, arrays["vocabulary_sizes"]):
            if size:
                vocabularies[column] = tuple(vocab[start:start + int(size)])
            start += int(size)
        return cls(columns, tuple(str(k) for k in arrays["column_kinds"]), vocabularies,
                   tuple(str(c) for c in arrays["with_time"]))


def is_row_number(column: object) -> bool:
    """`id`, `ImageId` or a saved DataFrame index (`Unnamed: 0`): never a feature."""
    return bool(ROW_NUMBERS.fullmatch(str(column)))


def looks_like_id(column: object, values: pd.Series) -> bool:
    """A row-number name, or an id-like name (PassengerId, customer_id) whose filled values are unique."""
    if is_row_number(column):
        return True
    return bool(ID_LIKE.fullmatch(str(column))) and values.notna().all() and values.is_unique


def infer(train: pd.DataFrame, columns: list[str], name: str, notes: list[str]) -> Schema:
    """The schema of `columns` of `train`; ids, and free text without frequent words, are left
    out, each with a note."""
    kept, kinds, vocabularies, with_time, ids, texts = [], [], {}, [], [], []
    for column in columns:
        series = train[column]
        if looks_like_id(column, series):
            ids.append(column)
            continue
        kind = _kind(series, column, name)
        if kind == TEXT:
            words = _frequent_words(series)
            if not words:
                texts.append(f"{column!r} ({series.nunique()} distinct values in {series.notna().sum()} filled cells)")
                continue
            vocabularies[column] = words
            notes.append(f"{name}: column {column!r} is free text ({series.nunique()} distinct values in "
                         f"{series.notna().sum()} filled cells): its {len(words)} most frequent words become "
                         f"features ({', '.join(words[:5])}, ...)")
        kept.append(column)
        kinds.append(kind)
        if kind == CATEGORICAL:
            counts = _as_text(series).value_counts(sort=False)
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # stable across pandas versions
            vocabularies[column] = tuple(str(v) for v, _ in ordered[:MAX_VOCABULARY])
        elif kind == DATETIME:
            stamps = _dates(series)
            if (stamps.dropna() != stamps.dropna().dt.normalize()).any():
                with_time.append(column)
    if ids:
        notes.append(f"{name}: column {ids[0]!r}{_more(ids)} looks like row ids; not used as a feature")
    if texts:
        notes.append(f"{name}: column {texts[0]}{_more(texts)} is free text without frequent words; "
                     f"not used as a feature")
    return Schema(tuple(kept), tuple(kinds), vocabularies, tuple(with_time))


def encode(frame: pd.DataFrame, schema: Schema, name: str, train_name: str = "train.csv",
           notes: list[str] | None = None) -> np.ndarray:
    """`frame`'s schema columns (it must have them) as one float64 matrix (see the module
    docstring), checked: a column numeric in train.csv must hold numbers here too."""
    parts, unknown = [], []
    for column, kind in zip(schema.columns, schema.kinds):
        series = frame[column]
        if kind == NUMERIC:
            parts.append(numbers(series, column, name, train_name)[:, None])
        elif kind == CATEGORICAL:
            codes = {v: i for i, v in enumerate(schema.vocabularies[column])}
            text = _as_text(series)
            coded = text.map(codes).to_numpy(dtype=np.float64, na_value=np.nan)
            if (unseen := int((text.notna() & np.isnan(coded)).sum())):
                unknown.append(f"{column!r} ({unseen})")
            parts.append(coded[:, None])
        elif kind == TEXT:
            parts.append(_word_indicators(series, schema.vocabularies[column]))
        else:
            parts.append(_date_parts(_dates(series), column in schema.with_time))
    if unknown and notes is not None:
        notes.append(f"{name}: column {unknown[0]}{_more(unknown)} holds categories {train_name} never has; "
                     f"treated as unknown")
    if not parts:
        return np.zeros((len(frame), 0))
    return np.hstack(parts)


def numbers(series: pd.Series, column: str, name: str, train_name: str = "train.csv") -> np.ndarray:
    """A numeric column as float64 (empty cells NaN), naming the first cell that is not a number."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(values) & series.notna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            where = "" if name == train_name else f"; it holds numbers in {train_name}"
            raise PipelineError(f"{name}: column {column!r}, line {row + 2} holds {series.iloc[row]!r}, not a "
                                f"number{where}; fix the cell or drop the column")
    if np.isinf(values).any():
        row = int(np.argmax(np.isinf(values)))
        raise PipelineError(f"{name}: infinite value in column {column!r} at line {row + 2}; fix it")
    return values


def _kind(series: pd.Series, column: str, name: str) -> str:
    if pd.api.types.is_bool_dtype(series):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(series):
        return NUMERIC
    filled = series.dropna()
    if filled.empty:
        return NUMERIC  # an empty column: nothing to learn, but nothing wrong either
    parsed = pd.to_numeric(filled, errors="coerce")
    share = parsed.notna().mean()
    if share == 1:
        return NUMERIC  # quoted numbers
    if share >= MOSTLY_NUMBERS and len(filled) >= 20:
        bad = series.notna() & pd.to_numeric(series, errors="coerce").isna()
        row = int(np.argmax(bad.to_numpy()))
        raise PipelineError(f"{name}: column {column!r}, line {row + 2} holds {series.iloc[row]!r}, not a number "
                            f"like the column's other cells; fix the cell or leave it empty")
    text = filled.astype(str)
    if text.str.fullmatch(DATE).mean() >= MOSTLY_NUMBERS and _dates(filled).notna().mean() >= MOSTLY_NUMBERS:
        return DATETIME
    distinct = text.nunique()
    if distinct > TEXT_LIKE_DISTINCT and distinct > TEXT_LIKE_SHARE * len(text):
        return TEXT
    return CATEGORICAL


def _as_text(series: pd.Series) -> pd.Series:
    """Category values as strings, missing kept missing; whole floats read as integers, so a
    test column read as 1.0 matches train's 1."""
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if (whole == whole.round()).all():
            series = series.astype("Int64")
    return series.astype("string").str.strip().astype(object).where(series.notna(), None)


def _words(series: pd.Series) -> pd.Series:
    return series.astype("string").str.lower().str.findall(WORD)


def _frequent_words(series: pd.Series) -> tuple[str, ...]:
    """The MAX_WORDS words in the most rows, each in at least MIN_WORD_SHARE of them (and 5)."""
    rows = _words(series.dropna()).map(lambda words: sorted(set(words))).explode().dropna()
    counts = rows.value_counts(sort=False)
    counts = counts[counts >= max(5, MIN_WORD_SHARE * len(series))]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(str(word) for word, _ in ordered[:MAX_WORDS])


def _word_indicators(series: pd.Series, words: tuple[str, ...]) -> np.ndarray:
    """1 where the cell holds the word, 0 where not, NaN where the cell is empty."""
    found = _words(series).map(lambda cell: set(cell) if isinstance(cell, list) else None)
    return np.column_stack([
        found.map(lambda cell, word=word: np.nan if cell is None else float(word in cell)).to_numpy(dtype=np.float64)
        for word in words
    ])


def _dates(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    iso = text.str.match(r"\d{4}-").fillna(False).mean() >= 0.5
    return pd.to_datetime(text, errors="coerce", format="ISO8601" if iso else "%m/%d/%Y")


def _date_parts(stamps: pd.Series, with_time: bool) -> np.ndarray:
    parts = [getattr(stamps.dt, part) for part in DATE_PARTS] + ([stamps.dt.hour] if with_time else [])
    days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return np.column_stack([p.to_numpy(dtype=np.float64, na_value=np.nan) for p in (*parts, days)])


def _more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""
