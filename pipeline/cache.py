"""The stage cache: content keys, atomic `.npz` save/load, and memoised fingerprints of raw files.

Every output is one `.npz` whose `__meta__` member is a JSON record of the key, the stage's
parameters and its inputs' keys, so freshness is decided by reading a few hundred bytes, and
without numpy: a fully cached run never imports it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import faults

if TYPE_CHECKING:
    import numpy as np

META = "__meta__"
FINGERPRINTS = ".raw-fingerprints.json"


class CorruptCache(Exception):
    """A cache file exists but cannot be read; the runner treats it as missing."""


def digest(value: Any) -> str:
    """A stable hash of JSON-able data."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def source_digest(*paths: str) -> str:
    """Hash of source files: a stage's key changes when its code does."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:20]


def imported_sources(start: Path, root: Path) -> list[Path]:
    """`start` and the source file of every module of the package at `root` that it imports,
    directly or through another (and the packages' `__init__.py` on the way), sorted: what a
    stage's key hashes as its code. Imports under `if TYPE_CHECKING:` never run, so they do
    not count. Read as text, line by line (a cached run asks this of every stage, and parsing
    the modules as Python took 0.17 s)."""
    package = root.name
    found: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        if path not in _imports:
            _imports[path] = _runtime_imports(path.read_text(encoding="utf-8"))
        for name in _imports[path]:
            parts = name.split(".")
            if parts[0] != package:
                continue
            todo.append(root / "__init__.py")
            for depth in range(2, len(parts) + 1):  # pipeline.training, pipeline.training.plan
                folder = root.joinpath(*parts[1:depth])
                todo += [f for f in (folder / "__init__.py", folder.with_suffix(".py")) if f.is_file()]
    return sorted(p for p in found if p.is_file())


_imports: dict[Path, list[str]] = {}  # each source's, read once per process
_FROM = re.compile(r"from\s+([\w.]+)\s+import\s+(.*)")
_IMPORT = re.compile(r"import\s+(.*)")


def _runtime_imports(text: str) -> list[str]:
    """The module names a source imports (`from a import b, c` gives a, a.b and a.c), at any
    depth, skipping the block under `if TYPE_CHECKING:`."""
    names: list[str] = []
    lines = iter(text.splitlines())
    skipping = -1  # the indent of an `if TYPE_CHECKING:` whose block is being skipped
    for line in lines:
        code = line.lstrip()
        indent = len(line) - len(code)
        if skipping >= 0:
            if not code or indent > skipping:
                continue
            skipping = -1
        if code.startswith("if TYPE_CHECKING"):
            skipping = indent
        elif found := _FROM.match(code):
            imported = found.group(2)
            while imported.startswith("(") and ")" not in imported:
                imported += next(lines, ")")
            module = found.group(1)
            names += [module, *(f"{module}.{n.split()[0]}" for n in imported.strip("()").split(",") if n.strip())]
        elif found := _IMPORT.match(code):
            names += [n.split()[0] for n in found.group(1).split(",") if n.strip()]
    return names


def file_fingerprint(path: Path, memo_dir: Path) -> str:
    """Content hash of `path`, memoised on (size, mtime) so unchanged files are not re-read."""
    memo_file = memo_dir / FINGERPRINTS
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    stat = path.stat()
    name = str(path.resolve())
    entry = memo.get(name)
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return entry["sha256"]
    with open(path, "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()[:20]
    memo[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
    try:
        atomic_write_bytes(memo_file, json.dumps(memo, indent=1).encode())
    except OSError:
        pass  # the memo only saves time; a read-only cache folder is reported where it matters
    return sha


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and `os.replace`, so readers never see half."""
    with _atomic(path) as f:
        f.write(data)


def save(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Atomically write `arrays` plus the JSON `meta` record to one `.npz`."""
    import numpy as np

    if META in arrays:
        raise ValueError(f"{META} is reserved")
    with _atomic(path) as f:
        np.savez(f, **arrays, **{META: np.array(json.dumps(meta, default=str))})


_metas: dict[tuple[str, int, int, int], dict[str, Any]] = {}  # the records read, by file identity


def read_meta(path: Path) -> dict[str, Any] | None:
    """The meta record of a cache file (do not change it), None when it does not exist. Read
    once per version of the file: a cached run asks each stage's record several times."""
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    identity = (str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)  # os.replace changes these
    if identity not in _metas:
        try:
            with zipfile.ZipFile(path) as archive:
                _metas[identity] = json.loads(_npy_text(archive.read(f"{META}.npy")))
        except Exception as exc:  # any failure to read means "do not trust it"
            raise _unreadable(path, exc) from None
    return _metas[identity]


def _npy_text(data: bytes) -> str:
    """The text of a 0-d unicode array in .npy format (what np.savez writes for `__meta__`),
    read without numpy: magic, version, header length, a header dict, then UTF-32 code units."""
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not an .npy member")
    width = 2 if data[6] == 1 else 4  # bytes of the header length: format 1.0, else 2.0 and 3.0
    body = 8 + width + int.from_bytes(data[8:8 + width], "little")
    header = ast.literal_eval(data[8 + width:body].decode("latin1"))
    if header["shape"] != () or header["descr"][1:2] != "U":
        raise ValueError(f"__meta__ is {header['descr']} {header['shape']}, not a 0-d text")
    return data[body:].decode("utf-32-be" if header["descr"][0] == ">" else "utf-32-le").rstrip("\x00")


# A field of one of several targets (pipeline.targets): "t0/y", "t1/y", and the names of them
PER_TARGET = re.compile(r"t(\d+)/(.+)")
TARGETS = "targets"


def load(path: Path, names: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays `names` of a cache file that it holds (all but meta when empty), read now
    so a corrupt member shows here. A name also loads that field of every target, and the
    targets' names, where a stage stored several targets."""
    import numpy as np

    def wanted(member: str) -> bool:
        if not names or member in names or member == TARGETS:
            return member != META
        per_target = PER_TARGET.fullmatch(member)
        return bool(per_target and per_target.group(2) in names)

    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files if wanted(name)}
    except Exception as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> CorruptCache:
    try:
        with open(path, "rb") as f:
            archive = f.read(2) == b"PK"
    except OSError:
        archive = True
    reason = f"{type(exc).__name__}: {exc}" if archive else "not an .npz archive"
    return CorruptCache(f"{path}: unreadable cache file ({reason})")


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by processes that no longer run (a kill -9 mid-write)."""
    for tmp in folder.glob(".*.tmp*"):
        pid = re.search(r"\.(\d+)\.tmp(\.\w+)?$", tmp.name)
        if pid and not _alive(int(pid.group(1))):
            tmp.unlink(missing_ok=True)


class _atomic:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.tmp, "wb")
        return self.file

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if exc_type is None:
                faults.point(f"write:{self.path.name}")
                os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

