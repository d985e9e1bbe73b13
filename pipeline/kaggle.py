"""Fetch a Kaggle competition's files into data/raw/ and submit a checked submission.

Needs the optional `kaggle` package (`pip install '.[kaggle]'`). `connect()` is the only
function that imports it; `fetch` and `submit` take the API object as an argument, so tests
drive them with a fake of the Kaggle service. Every failure a user can meet (the package
missing, no credentials, rules not accepted, an unknown competition, no network) becomes a
one-line PipelineError that says what to do.

Works with kaggle 1.6 (urllib3 client: errors carry `.status`) and 1.7+ (kagglesdk on
requests: errors carry `.response.status_code`).
"""

from __future__ import annotations

import contextlib
import csv
import filecmp
import gzip
import io
import logging
import os
import re
import shutil
import socket
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from pipeline.cache import atomic_write_bytes
from pipeline.errors import PipelineError

SLUG_FILE = "kaggle-competition.txt"  # in the data folder, beside raw/: the last fetched slug
TOKEN_HELP = (
    "create an API token at https://www.kaggle.com/settings/api and save it as "
    "~/.kaggle/kaggle.json (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY"
)
# What kaggle's competition_submit returns (1.6: the string; 1.7+: as `.message`) when the
# upload failed; it prints the cause instead of raising.
UPLOAD_FAILED = "Could not submit to competition"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


def competition_slug(text: str) -> str:
    """The slug of a competition given as `digit-recognizer` or as its kaggle.com URL."""
    slug = text.strip().rstrip("/")
    match = re.search(r"kaggle\.com/(?:c|competitions)/([^/?#]+)", slug)
    if match:
        slug = match.group(1)
    if not _SLUG.fullmatch(slug):
        raise PipelineError(
            f"{text!r} is not a competition slug; use the name from its URL, "
            f"kaggle.com/competitions/SLUG (for example digit-recognizer)"
        )
    return slug


def connect() -> Any:
    """An authenticated `kaggle.api.KaggleApi`."""
    try:
        # kaggle prints a multi-line help (and kaggle>=1.7 calls exit(1)) when credentials
        # are missing; kaggle<1.7 raises OSError from `import kaggle` itself.
        with contextlib.redirect_stdout(io.StringIO()):
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
    except ImportError:
        raise PipelineError(
            "fetch and submit need the optional kaggle package: pip install kaggle (or this "
            "project's extra: pip install -e '.[kaggle]')"
        ) from None
    except (Exception, SystemExit) as exc:
        if _is_network(exc):
            raise _offline(exc) from None
        raise PipelineError(f"no usable Kaggle credentials: {TOKEN_HELP}") from None
    # kaggle 1.6 logs every connection retry to stderr; a failure is reported as one line
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    return api


def fetch(api: Any, competition: str, raw_dir: Path, force: bool = False, quiet: bool = True) -> list[Path]:
    """Download `competition`'s files and unzip them into `raw_dir`; returns the paths there.

    Everything is downloaded and unzipped in a temporary folder beside `raw_dir` first, and
    nothing is moved in until all of it is there, so an interrupted fetch leaves `raw_dir`
    as it was. A file already in `raw_dir` with different content is kept unless `force`."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kaggle-fetch-", dir=raw_dir.parent))
    try:
        download = staging / "download"
        files = staging / "files"
        download.mkdir()
        files.mkdir()
        try:
            api.competition_download_files(competition, path=str(download), force=True, quiet=quiet)
        except Exception as exc:
            raise _api_error(exc, competition, "download") from None
        try:
            for path in sorted(download.iterdir()):
                if not path.name.startswith(".") and not path.name.endswith(".kaggle-partial"):
                    _unpack(path, files)
            # Some competitions zip each file inside the archive (train.csv.zip): one more level.
            for path in sorted(files.glob("*.zip")):
                _unpack(path, files)
                path.unlink()
        except zipfile.BadZipFile as exc:
            raise PipelineError(
                f"the download of {competition} is not a valid zip ({exc}); run the fetch again"
            ) from None
        entries = sorted(files.iterdir())
        if not entries:
            raise PipelineError(f"Kaggle sent no files for {competition}; check the competition's Data tab")
        _check_overwrites(entries, raw_dir, competition, force)
        for entry in entries:
            target = raw_dir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # only reached with force: _check_overwrites refused otherwise
            os.replace(entry, target)
        return [raw_dir / entry.name for entry in entries]
    except OSError as exc:
        raise PipelineError(
            f"cannot write {exc.filename or raw_dir} ({exc.strerror or exc}); free space or make "
            f"{raw_dir.parent} writable"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(path: Path, into: Path) -> None:
    if zipfile.is_zipfile(path) or path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            archive.extractall(into)  # extractall drops absolute paths and `..` from names
    else:
        os.replace(path, into / path.name)


def _check_overwrites(entries: list[Path], raw_dir: Path, competition: str, force: bool) -> None:
    if force:
        return
    for entry in entries:
        target = raw_dir / entry.name
        if not target.exists():
            continue
        if entry.is_file() and target.is_file() and filecmp.cmp(entry, target, shallow=False):
            continue  # the same file again: nothing to protect
        raise PipelineError(
            f"{target} already exists and differs from {competition}'s; use another --data-dir, "
            f"or pass --force to overwrite it"
        )


def remember(data_dir: Path, competition: str) -> None:
    """Keep the slug of the last fetch, for `submit` without --competition."""
    try:
        atomic_write_bytes(data_dir / SLUG_FILE, (competition + "\n").encode())
    except OSError:
        pass  # only a convenience: submit then asks for --competition


def remembered(data_dir: Path) -> str | None:
    """The slug of the last fetch into `data_dir`, None when there was none."""
    try:
        text = (data_dir / SLUG_FILE).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _SLUG.fullmatch(text) else None


def check_submission_file(path: Path, sample: Path) -> None:
    """`path` has `sample`'s header, row count and ids in the same order, and no empty label."""
    (header, rows), (want_header, want_rows) = _read_rows(path), _read_rows(sample)
    if header != want_header:
        raise PipelineError(
            f"{path} has header {','.join(header)} but {sample.name} has {','.join(want_header)}; "
            f"write it with `pipeline predict`"
        )
    if len(rows) != len(want_rows):
        raise PipelineError(
            f"{path} has {len(rows)} rows but {sample.name} has {len(want_rows)}; "
            f"predict the same competition's test.csv"
        )
    for line, (row, want) in enumerate(zip(rows, want_rows), start=2):
        if row[0].strip() != want[0].strip():
            raise PipelineError(
                f"{path} line {line}: id {row[0]!r} where {sample.name} has {want[0]!r}; "
                f"ids must follow {sample.name} in the same order"
            )
        for column, cell in zip(header[1:], row[1:]):
            if not cell.strip():
                raise PipelineError(f"{path} line {line}: {column} is empty; every row needs a label")


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """A CSV's header and rows as text cells exactly as written; ragged rows are an error."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as f:  # type: ignore[operator]
            rows = [row for row in csv.reader(f) if row]
    except FileNotFoundError:
        raise PipelineError(f"{path} not found; write it with `pipeline predict` or pass --file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PipelineError(f"{path} is not a readable CSV ({exc}); fix or rewrite it") from None
    if not rows:
        raise PipelineError(f"{path} is not a readable CSV (it is empty); fix or rewrite it")
    header, body = rows[0], rows[1:]
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise PipelineError(
                f"{path} is not a readable CSV (line {line} has {len(row)} fields, the header "
                f"{len(header)}); fix or rewrite it"
            )
    return header, body


def submit(api: Any, competition: str, file: Path, message: str, sample: Path) -> tuple[str, Any]:
    """Check `file` against `sample`, then upload it to `competition`; returns Kaggle's answer
    and the submission's reference (None where the kaggle package does not return one)."""
    check_submission_file(file, sample)
    try:
        result = api.competition_submit(str(file), message, competition, quiet=True)
    except Exception as exc:
        raise _api_error(exc, competition, "submission") from None
    answer = result if isinstance(result, str) else str(getattr(result, "message", "") or "")
    if answer == UPLOAD_FAILED:
        raise PipelineError(f"Kaggle did not accept the upload of {file} to {competition}; run submit again")
    return answer or "submitted", getattr(result, "ref", None) or None


def submissions(api: Any, competition: str) -> list[dict[str, Any]]:
    """Your submissions to `competition`, newest first, as {ref, file_name, description,
    public_score, status} (kaggle 1.6 spells the fields in camelCase, 1.7+ in snake_case)."""
    try:
        listed = api.competition_submissions(competition) or []
    except Exception as exc:
        raise _api_error(exc, competition, "list of submissions") from None

    def field(item: Any, name: str) -> Any:
        camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
        value = getattr(item, name, None)
        return getattr(item, camel, None) if value is None else value

    return [{name: field(item, name) for name in ("ref", "file_name", "description", "public_score", "status")}
            for item in listed if item is not None]


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a kaggle API error, None when it is not an HTTP answer."""
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None) if response is not None else None
    if code is None:
        code = getattr(exc, "status", None)  # kaggle<1.7: kaggle.rest.ApiException
    return code if isinstance(code, int) else None


def _is_network(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    # requests' and urllib3's connection errors, without importing either
    return type(exc).__module__.split(".")[0] in ("requests", "urllib3") and _status(exc) is None


def _offline(exc: BaseException) -> PipelineError:
    return PipelineError(
        f"cannot reach kaggle.com ({type(exc).__name__}); check the internet connection "
        f"(or HTTPS_PROXY), then run this again"
    )


def _api_error(exc: Exception, competition: str, action: str) -> PipelineError:
    status = _status(exc)
    if status == 401:
        return PipelineError(f"Kaggle rejected the credentials (HTTP 401): {TOKEN_HELP}")
    if status == 403:
        return PipelineError(
            f"Kaggle refused the {action} for {competition} (HTTP 403): accept the competition's rules "
            f"at https://www.kaggle.com/competitions/{competition}/rules with the account of your API "
            f"token, then run this again"
        )
    if status == 404:
        return PipelineError(
            f"competition {competition!r} not found on Kaggle (HTTP 404); use the slug from its URL, "
            f"kaggle.com/competitions/SLUG"
        )
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    if status is not None:
        return PipelineError(f"Kaggle refused the {action} for {competition} (HTTP {status}): {detail}")
    if _is_network(exc):
        return _offline(exc)
    if isinstance(exc, OSError) and exc.filename:
        return PipelineError(f"cannot write {exc.filename} ({exc.strerror or exc}); free space or choose another --data-dir")
    return PipelineError(f"the Kaggle {action} for {competition} failed ({type(exc).__name__}: {detail})")


def competition_for(given: str | None, data_dir: Path) -> str:
    """`given` (a slug or URL), else the slug of the last fetch into `data_dir`."""
    if given:
        return competition_slug(given)
    slug = remembered(data_dir)
    if slug is None:
        raise PipelineError(
            f"which competition? pass --competition SLUG (nothing was fetched into {data_dir} "
            f"with `pipeline fetch`)"
        )
    return slug


def sample_submission(raw_dir: Path, competition: str) -> Path:
    """The sample_submission.csv a submission is checked against before upload."""
    from pipeline.io import find_raw

    sample = find_raw(raw_dir, "sample_submission", required=False)
    if sample is None:
        raise PipelineError(
            f"{raw_dir / 'sample_submission.csv'} not found, so the submission cannot be checked "
            f"before upload; run `pipeline fetch {competition}` or put the competition's "
            f"sample_submission.csv there"
        )
    return sample
