"""A table in partitions: a CSV read block by block on the cluster's workers, each block's
rows encoded into arrays and kept as one `.npz` of its own (written atomically, so a killed
run resumes with the blocks it finished), and the arrays of those files brought back as
Dask arrays. Also the hash draws that split the rows, the same for a row wherever it falls.

A block is the file's bytes between two line ends (dask.bytes.read_bytes, which
dask.dataframe.read_csv reads with too); it is parsed behind the file's header line, so
the errors of pipeline.io and pipeline.schema name lines as in the block, and `located`
turns them into the file's lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from pipeline import cache, faults
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    import pandas as pd

BLOCK_BYTES = 64 * 2**20  # of a CSV per partition: about 500,000 rows of 20 columns
HASH = "hash"  # each train row's hash, of its cells: what splits and samples it
LINE = re.compile(r"\bline (\d+)")
Encode = Callable[["pd.DataFrame"], tuple[dict[str, "np.ndarray"], list[str]]]  # a block's rows -> arrays, notes


@dataclass(frozen=True)
class Part:
    """One partition's file, its rows, the CSV lines its block holds and what its encoding
    noted (pipeline.schema's notes)."""

    path: str
    rows: int
    lines: int
    notes: tuple[str, ...] = ()


def blocks(path: Path) -> tuple[bytes, list[Any]]:
    """The CSV's header line and its blocks of BLOCK_BYTES, as Dask's delayed bytes (the
    first holding the header). A compressed file is one block: it cannot be cut."""
    from dask.bytes import read_bytes

    with open(path, "rb") as handle:
        header = handle.readline()
    compressed = "gzip" if path.suffix == ".gz" else None
    _, found = read_bytes(str(path), delimiter=b"\n", blocksize=None if compressed else BLOCK_BYTES,
                          sample=False, compression=compressed)
    return header, found[0]


def encode_all(client: Any, path: Path, folder: Path, stem: str, encode: Encode,
               progress: Callable[[str, int, int, str], None]) -> list[Part]:
    """Every block of the CSV at `path`, read on the cluster behind its header and turned
    into arrays and notes by `encode(frame)` (a PipelineError it raises names a line of the block),
    kept as `folder/{stem}-00000.npz` and on. A file already there is kept (a killed run's).
    The first block (in the file's order) that fails raises its error, naming the file's line."""
    import time

    from distributed import as_completed

    folder.mkdir(parents=True, exist_ok=True)
    header, found = blocks(path)
    from dask import delayed

    futures = client.compute([delayed(_encode_block, pure=False)(block, header, path,
                                                                 str(folder / f"{stem}-{i:05d}.npz"), i == 0, encode)
                              for i, block in enumerate(found)])
    done, rows, started, results = 0, 0, time.perf_counter(), {}
    for future in as_completed(futures):
        result = future.result()
        results[futures.index(future)] = result
        done += 1
        if isinstance(result, Part):
            rows += result.rows
        rate = rows / max(time.perf_counter() - started, 1e-6)
        progress(f"reading {path.name} in {len(futures)} partitions", done, len(futures),
                 f"{rows:,} rows, {rate:,.0f} rows/s")
    ordered = [results[i] for i in range(len(futures))]
    failed = next((i for i, r in enumerate(ordered) if not isinstance(r, Part)), None)
    if failed is not None:
        raise PipelineError(located(str(ordered[failed]), sum(part.lines for part in ordered[:failed]) - 1
                                    if failed else 0))
    if not sum(part.rows for part in ordered):
        raise PipelineError(f"{path} has a header but no data rows; it needs at least one row")
    return [part for part in ordered if part.rows]


def located(message: str, offset: int) -> str:
    """An error naming a line of a block (as read behind the header) naming the file's line:
    `offset` is the data lines of the blocks before it."""
    return LINE.sub(lambda m: f"line {int(m.group(1)) + offset}", message, count=1)


def _encode_block(block: Any, header: bytes, path: Path, out: str, first: bool,
                  encode: Encode) -> Part | str:
    """On a worker: one block's arrays, saved to `out` (kept when already there), or the
    message of the PipelineError that stops it."""
    import io as bytes_io

    from pipeline import io

    if Path(out).exists():
        try:
            meta = cache.read_meta(Path(out)) or {}
            return Part(out, int(meta["rows"]), int(meta["lines"]), tuple(meta["notes"]))
        except (cache.CorruptCache, KeyError, ValueError):
            pass  # written by another version, or damaged: encode it again
    data = block if first else header + block
    lines = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
    try:
        frame = io.read_part(bytes_io.BytesIO(data), path)
        arrays, notes = encode(frame) if len(frame) else ({}, [])
    except PipelineError as exc:
        return str(exc)
    rows = len(next(iter(arrays.values()))) if arrays else 0
    faults.point("partition")
    cache.save(Path(out), arrays, {"rows": rows, "lines": lines - (not first), "notes": notes})
    return Part(out, rows, lines - (not first), tuple(notes))


def load(part: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays `names` of one partition's file; a missing file is an error that says how
    to make it again."""
    try:
        return cache.load(Path(part), names)
    except cache.CorruptCache as exc:
        raise PipelineError(f"{exc}; read the CSVs again with pipeline ingest --force") from None


def draw(hashes: np.ndarray, seed: int, purpose: int) -> np.ndarray:
    """A number in [0, 1) for each row, from its hash, the seed and what it is drawn for
    (`purpose`): the same row draws the same wherever it is."""
    import pandas as pd

    salt = np.uint64((seed * 0x9E3779B97F4A7C15 + purpose * 0xBF58476D1CE4E5B9) % 2**64)
    mixed = pd.util.hash_array(hashes ^ salt)
    return (mixed >> np.uint64(11)).astype(np.float64) / 2.0**53


def held_out(hashes: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Which of these rows the split holds out."""
    return draw(hashes, seed, 0) < val_fraction


def sampled(hashes: np.ndarray, share: float, seed: int, purpose: int = 1) -> np.ndarray:
    """Which of these rows a sample of `share` of them takes (purpose 1: training's rows;
    2: the rows training stops on)."""
    return draw(hashes, seed, purpose) < share


def gather(client: Any, parts: list[str], function: Callable[..., Any], *args: Any,
           progress: Callable[[str, int, int, str], None] | None = None, task: str = "") -> list[Any]:
    """`function(part, *args)` of every partition on the cluster, in the partitions' order;
    `progress` hears of each one done."""
    from distributed import as_completed

    futures = [client.submit(function, part, *args, pure=False) for part in parts]
    if progress:
        for done, _ in enumerate(as_completed(futures), 1):
            progress(task, done, len(futures), "")
    return client.gather(futures)
