"""The edges: finding and reading the competition's CSVs with clear errors, writing CSVs atomically."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from pipeline import faults
from pipeline.cache import atomic_write_bytes
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 20_000  # per progress update, in files over CHUNKED_BYTES
CHUNKED_BYTES = 128 * 2**20
EDGE_BYTES = 2**16  # read from each end of a file to sample its first and last rows


def find_raw(raw_dir: Path, stem: str, required: bool = True) -> Path | None:
    """`raw_dir/stem.csv`, or its gzip-compressed twin `stem.csv.gz`."""
    for candidate in (raw_dir / f"{stem}.csv", raw_dir / f"{stem}.csv.gz"):
        if candidate.is_file():
            return candidate
    if required:
        raise PipelineError(
            f"{raw_dir / (stem + '.csv')} not found; put the competition's {stem}.csv in "
            f"{raw_dir}/ (or run `pipeline demo` for the demo competition)"
        )
    return None


def read_csv(path: Path, on_progress: Callable[[int, int, int], None] | None = None,
             uint8_columns: re.Pattern[str] | None = None) -> pd.DataFrame:
    """Read a CSV (or .csv.gz) into a DataFrame, reporting `on_progress(bytes_read, size, rows_read)`;
    every failure a user can cause becomes a PipelineError.

    Columns whose names match `uint8_columns` (image pixels) are parsed straight into uint8,
    and without pandas' slow `skipinitialspace`: a pixel file reads about 1.6x faster, into
    an eighth of the memory. When the other columns (a digit label) hold whole numbers in
    0..255 in the first and last rows, the whole file is asked for as uint8, so pandas
    builds one block rather than an array per column (about 8% off a Digit Recognizer
    ingest, in a fresh process). When a file does not fit a shortcut (a cell is empty, a
    fraction, 256 or text), it is read again without it, so the checks that follow can
    name the cell."""
    import numpy as np  # here, not at the top: the cached path never reads a CSV

    separator, names = _header(path)
    narrow = [name for name in names if uint8_columns and uint8_columns.fullmatch(name.strip())]
    shortcuts: list[Any] = []
    if narrow:
        if _small_ints(_edge_rows(path, separator), [i for i, n in enumerate(names) if n not in narrow]):
            shortcuts.append(np.uint8)
        shortcuts.append({name: np.uint8 for name in narrow})
    with problems(path):
        frame = None
        for dtype in shortcuts:
            try:
                with warnings.catch_warnings():  # pandas warns before it rejects a cell
                    warnings.simplefilter("ignore", RuntimeWarning)
                    frame = _read(path, separator, on_progress, dtype=dtype)
            except (ValueError, OverflowError):
                continue  # the next shortcut, or the plain read below, where a failure gets its message
            if frame is not None and not all(isinstance(t, np.dtype) and t.kind in "iuf" for t in frame.dtypes):
                frame = None  # text cells: read again, skipping the spaces after separators
            break
        if frame is None:
            frame = _read(path, separator, on_progress, skipinitialspace=True)
    if frame is None or len(frame) == 0:
        raise PipelineError(f"{path} has a header but no data rows; it needs at least one row")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.iloc[:, -1].isna().any():  # pandas reads a row with too few fields as empty cells, the last among them
        _check_short_rows(path, separator)
    # pandas renames a repeated name to "name.1"; padding makes "a" and "a " repeats too
    bases = [re.sub(r"\.\d+$", "", c) for c in frame.columns]
    names = [base if base in frame.columns else c for base, c in zip(bases, frame.columns)]
    repeated = [c for i, c in enumerate(names) if c in names[:i]]
    if repeated:
        raise PipelineError(f"{path}: column {repeated[0]!r} appears more than once; rename or drop the duplicate")
    frame.attrs["file"] = path.name  # what ingest's errors call this table
    return frame


@contextlib.contextmanager
def problems(path: Path) -> Iterator[None]:
    """Reading `path` (or a part of it) inside: what a user can cause becomes a PipelineError."""
    import pandas as pd

    try:
        yield
    except FileNotFoundError:
        raise PipelineError(f"{path} not found; check the path") from None
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path} is empty; it needs a header row and data rows") from None
    except pd.errors.ParserError as exc:
        raise PipelineError(f"{path}: {_parser_problem(str(exc))}") from None
    except UnicodeDecodeError:
        raise PipelineError(f"{path} is not UTF-8 text; re-save it as UTF-8 CSV") from None
    except (OSError, EOFError, ValueError) as exc:
        raise PipelineError(f"{path} cannot be read ({exc}); re-download or re-save it") from None


def read_part(source: Any, path: Path, **options: Any) -> pd.DataFrame:
    """Rows of `path` from `source` (the file, or some of its lines behind its header), as
    read_csv reads them (without its shortcuts for pixels and its progress); `options` go
    to pandas (nrows=)."""
    import pandas as pd

    separator, _ = _header(path)
    with problems(path):
        frame = pd.read_csv(source, sep=separator, skipinitialspace=True, encoding="utf-8-sig", **options)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["file"] = path.name
    return frame


def _read(path: Path, separator: str, on_progress: Callable[[int, int, int], None] | None,
          **options: Any) -> pd.DataFrame | None:
    """pandas' read of the whole file (None when it has no rows). A file over CHUNKED_BYTES is
    read in chunks, reporting progress after each; a smaller one in one go, which is faster."""
    import pandas as pd

    size = path.stat().st_size
    options.update(encoding="utf-8-sig", sep=separator, compression="gzip" if path.suffix == ".gz" else None)
    if size <= CHUNKED_BYTES:
        frame = pd.read_csv(path, **options)
        faults.point("read")
        if on_progress:
            on_progress(size, size, len(frame))
        return frame if len(frame) else None
    with open(path, "rb") as handle:
        chunks, rows = [], 0
        for chunk in pd.read_csv(handle, chunksize=CHUNK_ROWS, **options):
            chunks.append(chunk)
            rows += len(chunk)
            faults.point("read")
            if on_progress:
                on_progress(handle.tell(), size, rows)
    return pd.concat(chunks, ignore_index=True) if chunks else None


def _edge_rows(path: Path, separator: str) -> list[list[str]]:
    """The first and last data rows of an uncompressed CSV, split into cells ([] otherwise)."""
    if path.suffix == ".gz":
        return []
    try:
        with open(path, "rb") as handle:
            head = handle.read(EDGE_BYTES)
            handle.seek(max(0, path.stat().st_size - EDGE_BYTES))
            tail = handle.read()
    except OSError:
        return []
    head_lines, tail_lines = head.splitlines(), tail.splitlines()
    if len(head_lines) < 3 or len(tail_lines) < 2:  # a tiny file, or rows so long the sample cuts one
        return []
    lines = [head_lines[1], tail_lines[-1]]
    return [next(csv.reader([line.decode("utf-8", "replace")], delimiter=separator), []) for line in lines]


def _small_ints(rows: list[list[str]], columns: list[int]) -> bool:
    """Whether `rows` exist and hold a whole number in 0..255 in each of `columns`."""
    return bool(rows) and all(
        i < len(row) and re.fullmatch(r"\s*\d{1,3}\s*", row[i], re.ASCII) and int(row[i]) <= 255
        for row in rows for i in columns
    )


def _open_text(path: Path, **options: Any) -> Any:
    """A CSV (or .csv.gz) opened as UTF-8 text, a BOM skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    return opener(path, "rt", encoding="utf-8-sig", **options)


def _header(path: Path) -> tuple[str, list[str]]:
    """The separator (',' unless the header has none but has semicolons or tabs, as in
    spreadsheet exports) and the header's column names, spaces kept."""
    try:
        with _open_text(path, errors="replace") as handle:
            line = handle.readline()
    except (OSError, EOFError):
        return ",", []  # pandas reports the problem
    separator = ","
    if "," not in line:
        separator = next((s for s in (";", "\t") if s in line), ",")
    return separator, next(csv.reader([line.rstrip("\r\n")], delimiter=separator), [])


def _check_short_rows(path: Path, separator: str) -> None:
    with _open_text(path, newline="") as handle:
        reader = csv.reader(handle, delimiter=separator, skipinitialspace=True)
        header = next(reader, [])
        for row in reader:
            if row and len(row) < len(header):
                raise PipelineError(f"{path}: {_ragged(len(header), reader.line_num, len(row))}")


def _ragged(want: int, line: int, saw: int) -> str:
    return (f"line {line} has {saw} fields but the header has {want}; "
            f"fix that row (a stray comma or a missing value)")


def _parser_problem(message: str) -> str:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        want, line, saw = match.groups()
        return _ragged(int(want), int(line), int(saw))
    match = re.search(r"EOF inside string starting at row (\d+)", message)
    if match:
        return f"the quote opened on line {int(match.group(1)) + 1} is never closed; close or remove it"
    return f"not a valid CSV ({message.strip()}); fix the file"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically, so an interrupted write never leaves half a submission."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    try:
        atomic_write_bytes(path, buffer.getvalue().encode())
    except OSError as exc:
        raise PipelineError(f"cannot write {path} ({exc.strerror}); choose a writable --out") from None
