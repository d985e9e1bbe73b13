"""The column schema of a table: what each feature column is, and how it becomes numbers.

Each column of train.csv is numeric, categorical (text values, booleans), datetime (parsed in
the format pandas infers for the column once, at ingest, and kept for test.csv; then expanded
to numeric parts), text (mostly unique strings, such as a passenger's name:
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
DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear")
DATE_SAMPLE = 1000  # distinct values of a text column a date format is judged on
DATE_GUESSES = 20  # of which the first this many propose formats (pandas' guess, month or day first)
ISO = "ISO8601"  # pandas' parser for every ISO 8601 form: T or space, Z or offsets, fractions of a second
MOSTLY_NUMBERS = 0.95  # a column this much numbers, with some text, holds typos: an error


@dataclass(frozen=True)
class Schema:
    """The kept feature columns of train.csv, in order, with their kinds and vocabularies."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    with_time: tuple[str, ...] = ()  # datetime columns whose cells carry a time of day (an hour feature)
    with_minute: tuple[str, ...] = ()  # ... whose minutes vary too (a minute feature)
    date_formats: dict[str, str] = field(default_factory=dict)  # each datetime column's format

    def time_parts(self, column: str) -> tuple[str, ...]:
        return (*(("hour",) if column in self.with_time else ()), *(("minute",) if column in self.with_minute else ()))

    @property
    def feature_names(self) -> list[str]:
        names = []
        for column, kind in zip(self.columns, self.kinds):
            if kind == DATETIME:
                parts = (*DATE_PARTS, *self.time_parts(column), "days")
                names += [f"{column}_{part}" for part in parts]
            elif kind == TEXT:
                names += [f"{column}_{word}" for word in self.vocabularies[column]]
            else:
                names.append(column)
        return names

    def _width(self, column: str, kind: str) -> int:
        if kind == DATETIME:
            return len(DATE_PARTS) + 1 + len(self.time_parts(column))
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
            "with_minute": np.array(self.with_minute, dtype=str),
            "date_formats": np.array([self.date_formats.get(c, "") for c in self.columns], dtype=str),
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
        formats = {c: str(f) for c, f in zip(columns, arrays["date_formats"]) if str(f)}
        return cls(columns, tuple(str(k) for k in arrays["column_kinds"]), vocabularies,
                   tuple(str(c) for c in arrays["with_time"]), tuple(str(c) for c in arrays["with_minute"]), formats)


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
    kept, kinds, vocabularies, with_time, with_minute, formats, ids, texts = [], [], {}, [], [], {}, [], []
    for column in columns:
        series = train[column]
        if looks_like_id(column, series):
            ids.append(column)
            continue
        kind, date_format = _kind(series, column, name)
        if kind == TEXT:
            words = _frequent_words(series)
            if not words:
                texts.append(f"{column!r} ({series.nunique()} distinct values in {series.notna().sum()} filled cells)")
                continue
            vocabularies[column] = words
            notes.append(f"{name}: column {column!r} is free text ({series.nunique()} distinct values in "
                         f"{series.notna().sum()} filled cells): its {len(words)} most frequent words become "
                         f"features ({', '.join(words[:5])}, ...), and the text model reads the whole text "
                         f"(--model to train one learner alone)")
        kept.append(column)
        kinds.append(kind)
        if kind == CATEGORICAL:
            counts = _as_text(series).value_counts(sort=False)
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # stable across pandas versions
            vocabularies[column] = tuple(str(v) for v, _ in ordered[:MAX_VOCABULARY])
        elif kind == DATETIME:
            formats[column] = date_format
            stamps = _dates(series, date_format).dropna()
            if (stamps != stamps.dt.normalize()).any():
                with_time.append(column)
                if stamps.dt.minute.nunique() > 1:
                    with_minute.append(column)
            _note_non_dates(series, stamps.index, column, name, notes, date_format)
            parts = ["year, month, day, day of week, day of year", *(("hour",) if column in with_time else ()),
                     *(("minute",) if column in with_minute else ()), "days since 1970"]
            swapped = _day_first_swapped(series.dropna().astype(str), date_format)
            utc = column in with_time and (date_format == ISO or "%z" in date_format)
            notes.append(f"{name}: column {column!r} holds dates ({'ISO 8601' if date_format == ISO else date_format}"
                         f"{', times in UTC' if utc else ''}); its {', '.join(parts)} become features"
                         + (f"; read as {date_format}, though {swapped} fits them too: write the dates as "
                            f"YYYY-MM-DD to be sure" if swapped else ""))
    if ids:
        notes.append(f"{name}: column {ids[0]!r}{_more(ids)} looks like row ids; not used as a feature")
    if texts:
        notes.append(f"{name}: column {texts[0]}{_more(texts)} is free text without frequent words; "
                     f"not used as a feature")
    return Schema(tuple(kept), tuple(kinds), vocabularies, tuple(with_time), tuple(with_minute), formats)


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
            stamps = _dates(series, schema.date_formats[column])
            if notes is not None and name != train_name:
                _note_non_dates(series, stamps.dropna().index, column, name, notes, schema.date_formats[column])
            parts.append(_date_parts(stamps, schema.time_parts(column)))
    if unknown and notes is not None and name == train_name:
        notes.append(f"{name}: column {unknown[0]}{_more(unknown)} has categories beyond those kept (its "
                     f"{MAX_VOCABULARY:,} most frequent, at most); the cells of the others count as one unknown category")
    elif unknown and notes is not None:
        notes.append(f"{name}: column {unknown[0]}{_more(unknown)} holds categories {train_name} never has, or "
                     f"too rarely to keep; treated as unknown")
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
            if name == train_name:  # as _kind says it (where the cell is in the rows the kinds are judged on)
                raise PipelineError(f"{name}: column {column!r}, line {row + 2} holds {series.iloc[row]!r}, not a "
                                    f"number like the column's other cells; fix the cell or leave it empty")
            raise PipelineError(f"{name}: column {column!r}, line {row + 2} holds {series.iloc[row]!r}, not a "
                                f"number; it holds numbers in {train_name}; fix the cell or drop the column")
    if np.isinf(values).any():
        row = int(np.argmax(np.isinf(values)))
        raise PipelineError(f"{name}: infinite value in column {column!r} at line {row + 2}; fix it")
    return values


def _kind(series: pd.Series, column: str, name: str) -> tuple[str, str]:
    """The column's kind, and for a datetime column the format its cells are parsed in."""
    if pd.api.types.is_bool_dtype(series):
        return CATEGORICAL, ""
    if pd.api.types.is_numeric_dtype(series):
        return NUMERIC, ""
    filled = series.dropna()
    if filled.empty:
        return NUMERIC, ""  # an empty column: nothing to learn, but nothing wrong either
    counts = filled.value_counts(sort=False)  # each distinct value parsed once
    share = counts[pd.to_numeric(counts.index.to_series(), errors="coerce").notna().to_numpy()].sum() / len(filled)
    if share == 1:
        return NUMERIC, ""  # quoted numbers
    if share >= MOSTLY_NUMBERS and len(filled) >= 20:
        bad = series.notna() & pd.to_numeric(series, errors="coerce").isna()
        row = int(np.argmax(bad.to_numpy()))
        raise PipelineError(f"{name}: column {column!r}, line {row + 2} holds {series.iloc[row]!r}, not a number "
                            f"like the column's other cells; fix the cell or leave it empty")
    text = filled.astype(str)
    if date_format := _date_format(text):
        return DATETIME, date_format
    distinct = text.nunique()
    if distinct > TEXT_LIKE_DISTINCT and distinct > TEXT_LIKE_SHARE * len(text):
        return TEXT, ""
    return CATEGORICAL, ""


def _date_format(text: pd.Series) -> str:
    """The format in which the column's cells are dates ("" when they are not): of the formats
    pandas guesses from its first values (month or day first; ISO8601 for every ISO 8601 form),
    the one that parses the most of its first DATE_SAMPLE distinct values, when that is at
    least MOSTLY_NUMBERS of them. A format must name a year and a month: "2020" is a number."""
    import warnings

    from pandas.tseries.api import guess_datetime_format

    values = text.drop_duplicates().str.strip().drop_duplicates().head(DATE_SAMPLE)
    guesses: list[str] = []
    with warnings.catch_warnings():  # pandas warns when a guess does not follow `dayfirst`
        warnings.simplefilter("ignore")
        for value in values.head(DATE_GUESSES):
            for dayfirst in (False, True):
                guess = guess_datetime_format(value, dayfirst=dayfirst)
                if not guess or not re.search(r"%[Yy]", guess) or not re.search(r"%[mbB]", guess):
                    continue
                for found in ((ISO, guess) if guess.startswith("%Y-%m-%d") else (guess,)):
                    if found not in guesses:
                        guesses.append(found)
    best, share = "", 0.0
    for guess in guesses:
        parsed = float(_dates(values, guess).notna().mean())
        if parsed > share:
            best, share = guess, parsed
    return best if share >= MOSTLY_NUMBERS else ""


def _day_first_swapped(text: pd.Series, date_format: str) -> str:
    """`date_format` with day and month the other way round, when that reads as many of the
    column's first values as dates (01/02/2013: January 2 or February 1); else ""."""
    if "%d" not in date_format or "%m" not in date_format:
        return ""
    swapped = date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    values = text.drop_duplicates().str.strip().drop_duplicates().head(DATE_SAMPLE)
    fits = _dates(values, swapped).notna().mean() >= _dates(values, date_format).notna().mean()
    return swapped if fits else ""


def _as_text(series: pd.Series) -> pd.Series:
    """Category values as strings, missing kept missing; whole floats read as integers, so a
    test column read as 1.0 matches train's 1."""
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if (whole == whole.round()).all():
            series = series.astype("Int64")
    codes, distinct = pd.factorize(series)  # each distinct value cleaned once; a missing cell is -1
    words = np.append(pd.Series(distinct).astype("string").str.strip().astype(object).to_numpy(), None)
    return pd.Series(words[codes], index=series.index, dtype=object)


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


def _dates(series: pd.Series, date_format: str) -> pd.Series:
    """The cells as timestamps in UTC (offsets such as Z or +02:00 applied), without a time
    zone; NaT where a cell is empty or not a date in `date_format`."""
    text = series.astype("string").str.strip()
    stamps = pd.to_datetime(text, format=date_format, errors="coerce", utc=True)
    return stamps.dt.tz_convert(None)


def _note_non_dates(series: pd.Series, parsed: pd.Index, column: str, name: str, notes: list[str],
                    date_format: str) -> None:
    """A note naming the filled cells that are not dates in the column's format (they count as missing)."""
    bad = series.notna() & ~series.index.isin(parsed)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        cell = series.iloc[row]
        cell = cell.item() if isinstance(cell, np.generic) else cell  # 0, not np.uint8(0): as the file says
        notes.append(f"{name}: column {column!r} has {int(bad.sum())} cells that are not dates in its format "
                     f"({date_format}; the first at line {row + 2}: {cell!r}); treated as missing")


def _date_parts(stamps: pd.Series, time_parts: tuple[str, ...]) -> np.ndarray:
    parts = [getattr(stamps.dt, part) for part in (*DATE_PARTS, *time_parts)]
    days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return np.column_stack([p.to_numpy(dtype=np.float64, na_value=np.nan) for p in (*parts, days)])


def _more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""
