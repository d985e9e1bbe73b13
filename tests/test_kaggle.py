"""`pipeline fetch` and `pipeline submit` against a fake of the Kaggle service (no network).

The fake writes real zip files where KaggleApi would; the files and folders are real, under
tmp_path. Passes with or without the optional `kaggle` package installed.
"""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from typer.testing import CliRunner

import pipeline.kaggle as kaggle
from pipeline.cli import app
from pipeline.errors import PipelineError

SLUG = "digit-recognizer"
FILES = {
    "train.csv": "label,pixel0,pixel1\n1,0,255\n0,255,0\n",
    "test.csv": "pixel0,pixel1\n0,255\n255,0\n3,4\n",
    "sample_submission.csv": "ImageId,Label\n1,0\n2,0\n3,0\n",
}
GOOD = "ImageId,Label\n1,7\n2,3\n3,0\n"


class FakeKaggle:
    """Records each call as KaggleApi receives it; downloads write `files` as one zip."""

    def __init__(self, files: dict[str, str | bytes] | None = None, error: BaseException | None = None,
                 answer: Any = None) -> None:
        self.files = FILES if files is None else files
        self.error = error
        self.answer = SimpleNamespace(message="Successfully submitted to Digit Recognizer") if answer is None else answer
        self.calls: list[tuple[Any, ...]] = []
        self.uploaded = ""
        self.listed: list[Any] = []  # what competition_submissions answers, newest first
        self.list_error: BaseException | None = None

    def competition_download_files(self, competition: str, path: str | None = None, force: bool = False,
                                   quiet: bool = True) -> None:
        self.calls.append(("download", competition, path, force, quiet))
        assert path is not None
        with zipfile.ZipFile(Path(path) / f"{competition}.zip", "w") as archive:
            for name, content in self.files.items():
                archive.writestr(name, content)
        if self.error is not None:
            raise self.error  # after writing: an interrupted download leaves a partial file

    def competition_submit(self, file_name: str, message: str, competition: str, quiet: bool = False) -> Any:
        self.calls.append(("submit", file_name, message, competition, quiet))
        if self.error is not None:
            raise self.error
        self.uploaded = Path(file_name).read_text()
        return self.answer

    def competition_submissions(self, competition: str) -> list[Any]:
        self.calls.append(("submissions", competition))
        if self.list_error is not None:
            raise self.list_error
        return self.listed


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})  # no table cell wraps


def one_line_error(result: Any, *fragments: str) -> None:
    """Exit code 2, a single `error:` line on stderr naming `fragments`, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = result.stderr.strip()
    assert line.startswith("error:") and "\n" not in line, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in line, line


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKaggle:
    api = FakeKaggle()
    monkeypatch.setattr(kaggle, "connect", lambda: api)
    return api


def write(path: str, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def http_error(status: int) -> Exception:
    requests = pytest.importorskip("requests")
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Client Error", response=response)


# -- fetch ------------------------------------------------------------------------------


def test_fetch_unzips_into_raw_and_remembers_the_competition(workdir: Path, fake: FakeKaggle) -> None:
    result = invoke("fetch", SLUG)
    assert result.exit_code == 0, result.output
    [(call, competition, path, force, quiet)] = fake.calls
    assert (call, competition, force, quiet) == ("download", SLUG, True, True)
    # downloaded into a temporary folder beside data/raw, which is gone afterwards
    assert Path(path).name == "download" and Path(path).parent.parent == Path("data")
    assert Path(path).parent.name.startswith(".kaggle-fetch-") and not Path(path).parent.exists()
    for name, content in FILES.items():
        assert Path("data/raw", name).read_text() == content
        assert f"wrote data/raw/{name}" in result.stdout
    assert sorted(p.name for p in Path("data/raw").iterdir()) == sorted(FILES)
    assert kaggle.remembered(Path("data")) == SLUG
    assert sorted(p.name for p in Path("data").iterdir()) == ["kaggle-competition.txt", "raw"]


def test_fetch_never_overwrites_a_different_file_unless_forced(workdir: Path, fake: FakeKaggle) -> None:
    write("data/raw/train.csv", "label,a\n1,2\n")
    refused = invoke("fetch", SLUG)
    one_line_error(refused, "data/raw/train.csv already exists", "--force")
    # nothing moved in: not even the files that did not clash
    assert sorted(p.name for p in Path("data/raw").iterdir()) == ["train.csv"]
    assert Path("data/raw/train.csv").read_text() == "label,a\n1,2\n"
    assert [p.name for p in Path("data").iterdir() if p.name.startswith(".")] == []

    assert invoke("fetch", SLUG, "--force").exit_code == 0
    assert Path("data/raw/train.csv").read_text() == FILES["train.csv"]
    again = invoke("fetch", SLUG)  # the same files again: nothing to protect
    assert again.exit_code == 0, again.output


def test_interrupted_fetch_leaves_raw_as_it_was(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeKaggle(error=KeyboardInterrupt())
    monkeypatch.setattr(kaggle, "connect", lambda: api)
    write("data/raw/train.csv", "label,a\n1,2\n")
    result = invoke("fetch", SLUG, "--force")
    assert result.exit_code == 130
    assert sorted(p.name for p in Path("data/raw").iterdir()) == ["train.csv"]
    assert Path("data/raw/train.csv").read_text() == "label,a\n1,2\n"
    assert sorted(p.name for p in Path("data").iterdir()) == ["raw"]


def test_fetch_unzips_zipped_files_inside_the_archive_and_takes_a_url(tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("train.csv", FILES["train.csv"])
    api = FakeKaggle(files={"train.csv.zip": inner.read_bytes(), "test.csv": FILES["test.csv"]})
    slug = kaggle.competition_slug("https://www.kaggle.com/competitions/digit-recognizer/data")
    written = kaggle.fetch(api, slug, tmp_path / "data" / "raw")
    assert sorted(p.name for p in written) == ["test.csv", "train.csv"]
    assert (tmp_path / "data/raw/train.csv").read_text() == FILES["train.csv"]
    assert api.calls[0][1] == SLUG


@pytest.mark.parametrize("bad", ["../etc", "Digit Recognizer", "a/b", ""])
def test_fetch_refuses_a_name_that_is_not_a_slug(workdir: Path, fake: FakeKaggle, bad: str) -> None:
    one_line_error(invoke("fetch", bad), "not a competition slug")
    assert fake.calls == []


# -- submit -----------------------------------------------------------------------------


@pytest.fixture
def fetched(workdir: Path, fake: FakeKaggle) -> FakeKaggle:
    assert invoke("fetch", SLUG).exit_code == 0
    fake.calls.clear()
    return fake


def test_submit_uploads_the_checked_file_to_the_fetched_competition(fetched: FakeKaggle) -> None:
    write("submissions/submission.csv", GOOD)
    result = invoke("submit", "--message", "first try")
    assert result.exit_code == 0, result.output
    assert fetched.calls == [("submit", "submissions/submission.csv", "first try", SLUG, True)]
    assert fetched.uploaded == GOOD
    assert "Successfully submitted" in result.stdout and f"competitions/{SLUG}/submissions" in result.stdout


def test_submit_takes_file_and_competition_options(fetched: FakeKaggle) -> None:
    write("submissions/other.csv", GOOD)
    result = invoke("submit", "-m", "second", "--file", "submissions/other.csv", "--competition", "other-comp")
    assert result.exit_code == 0, result.output
    assert fetched.calls == [("submit", "submissions/other.csv", "second", "other-comp", True)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Id,Label\n1,7\n2,3\n3,0\n", "header Id,Label but sample_submission.csv has ImageId,Label"),
        ("ImageId,Label\n1,7\n2,3\n", "2 rows but sample_submission.csv has 3"),
        ("ImageId,Label\n1,7\n3,3\n2,0\n", "line 3: id '3' where sample_submission.csv has '2'"),
        ("ImageId,Label\n1,7\n2,\n3,0\n", "line 3: Label is empty"),
        ("ImageId,Label\n1,7,9\n2,3\n3,0\n", "not a readable CSV"),
        ("", "not a readable CSV"),
    ],
)
def test_submit_refuses_a_file_that_does_not_match_the_sample(fetched: FakeKaggle, text: str, fragment: str) -> None:
    write("submissions/submission.csv", text)
    one_line_error(invoke("submit", "-m", "x"), "submissions/submission.csv", fragment)
    assert fetched.calls == []


def test_submit_without_a_file_message_sample_or_competition(workdir: Path, fake: FakeKaggle) -> None:
    one_line_error(invoke("submit"), "--message")
    one_line_error(invoke("submit", "-m", "x"), "pass --competition")
    one_line_error(invoke("submit", "-m", "x", "--competition", SLUG), "sample_submission.csv not found",
                   f"pipeline fetch {SLUG}")
    write("data/raw/sample_submission.csv", FILES["sample_submission.csv"])
    one_line_error(invoke("submit", "-m", "x", "--competition", SLUG), "submissions/submission.csv not found")
    assert fake.calls == []


def test_submit_reports_a_failed_upload(fetched: FakeKaggle) -> None:
    write("submissions/submission.csv", GOOD)
    fetched.answer = kaggle.UPLOAD_FAILED  # kaggle 1.6 answers with the bare string
    one_line_error(invoke("submit", "-m", "x"), "did not accept the upload")


# -- Kaggle scores in the run log -------------------------------------------------------


def kept_run(text: str) -> None:
    """A predict on record (as `pipeline predict` logs it) that wrote `text` to submissions/submission.csv."""
    from pipeline import runlog

    run = runlog.Run("predict", 1)
    run.keep(write("submissions/submission.csv", text))
    runlog.append({"kind": "run", "number": 1, "when": "2026-12-01 10:00:00", "command": "predict",
                   "status": "ok", "seconds": 1.0, "metric": "accuracy", "score": 0.9, **run.wrote})


def test_runs_kaggle_shows_the_public_score_of_each_submission(fetched: FakeKaggle) -> None:
    kept_run(GOOD)
    fetched.answer = SimpleNamespace(message="Successfully submitted", ref=123)  # kaggle 1.7+
    assert invoke("submit", "-m", "first").exit_code == 0
    fetched.listed = [SimpleNamespace(ref=124, file_name="submission.csv", description="first",
                                      public_score="0.5", status="COMPLETE"),
                      SimpleNamespace(ref=123, file_name="submission.csv", description="first",
                                      public_score="0.98765", status="COMPLETE")]
    plain = invoke("runs")
    assert "submitted" in plain.stdout and ("submissions", SLUG) not in fetched.calls
    result = invoke("runs", "--kaggle")
    assert result.exit_code == 0, result.output
    assert fetched.calls[-1] == ("submissions", SLUG)
    assert "0.98765" in result.stdout and "0.5 " not in result.stdout


def test_runs_kaggle_matches_kaggle_1_6_by_file_and_message(fetched: FakeKaggle) -> None:
    kept_run(GOOD)
    fetched.answer = "Successfully submitted to Digit Recognizer"  # kaggle 1.6: a string, no reference
    assert invoke("submit", "-m", "first").exit_code == 0
    fetched.listed = [SimpleNamespace(ref=7, fileName="submission.csv", description="other", publicScore="0.1",
                                      status="complete"),
                      SimpleNamespace(ref=6, fileName="submission.csv", description="first", publicScore=None,
                                      status="SubmissionStatus.PENDING")]
    result = invoke("runs", "--kaggle")
    assert result.exit_code == 0 and "pending" in result.stdout and "0.1" not in result.stdout, result.output


def test_runs_kaggle_offline_says_so_in_one_line(fetched: FakeKaggle) -> None:
    kept_run(GOOD)
    assert invoke("submit", "-m", "first").exit_code == 0
    fetched.list_error = ConnectionError("network is unreachable")
    result = invoke("runs", "--kaggle")
    assert result.exit_code == 0 and "predict" in result.stdout  # the table, without scores
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("warning: no Kaggle scores: cannot reach kaggle.com"), line


# -- what the service answers -----------------------------------------------------------


class ApiException(Exception):
    """Like kaggle<1.7's kaggle.rest.ApiException: the status is an attribute."""

    def __init__(self, status: int) -> None:
        super().__init__(f"({status})\nReason: Forbidden\nHTTP response body: ...")
        self.status = status


def requests_connection_error() -> Exception:
    return pytest.importorskip("requests").ConnectionError("Max retries exceeded with url: /api/v1/...")


@pytest.mark.parametrize(
    ("make_error", "fragments"),
    [
        (lambda: http_error(403), ["HTTP 403", f"https://www.kaggle.com/competitions/{SLUG}/rules"]),
        (lambda: ApiException(403), ["HTTP 403", "accept the competition's rules"]),
        (lambda: http_error(404), ["not found on Kaggle", "kaggle.com/competitions/SLUG"]),
        (lambda: http_error(401), ["HTTP 401", "kaggle.json"]),
        (lambda: http_error(500), ["HTTP 500"]),
        (lambda: ConnectionError("network is unreachable"), ["cannot reach kaggle.com"]),
        (requests_connection_error, ["cannot reach kaggle.com (ConnectionError)"]),
    ],
    ids=["403", "403-kaggle1.6", "404", "401", "500", "offline", "offline-requests"],
)
@pytest.mark.parametrize("command", ["fetch", "submit"])
def test_service_failures_are_one_line(
    fetched: FakeKaggle, command: str, make_error: Any, fragments: list[str]
) -> None:
    write("submissions/submission.csv", GOOD)
    fetched.error = make_error()
    result = invoke("fetch", SLUG, "--force") if command == "fetch" else invoke("submit", "-m", "x")
    one_line_error(result, *fragments)
    assert len(fetched.calls) == 1
    assert sorted(p.name for p in Path("data/raw").iterdir()) == sorted(FILES)
    assert not [p for p in Path("data").iterdir() if p.name.startswith(".")]


# -- connect: the optional package and the credentials ----------------------------------


@pytest.fixture
def no_kaggle_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hide any imported kaggle package for the test and restore it afterwards."""
    saved = {name: module for name, module in sys.modules.items() if name == "kaggle" or name.startswith("kaggle.")}
    for name in saved:
        del sys.modules[name]
    yield
    for name in [n for n in sys.modules if n == "kaggle" or n.startswith("kaggle.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def fake_package(root: Path, init: str, extended: str) -> None:
    package = root / "kaggle"
    (package / "api").mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(init))
    (package / "api" / "__init__.py").write_text("")
    (package / "api" / "kaggle_api_extended.py").write_text(textwrap.dedent(extended))


NO_CREDENTIALS_2X = """
    import sys

    class KaggleApi:
        def authenticate(self):
            print("Authentication required to call the Kaggle API.\\n\\nFirst, ...")
            sys.exit(1)
"""
# kaggle>=1.7 swallows the failure at import; kaggle 1.6 raised OSError from `import kaggle`
INIT_2X = """
    from kaggle.api.kaggle_api_extended import KaggleApi
    api = KaggleApi()
    try:
        api.authenticate()
    except (Exception, SystemExit):
        pass
"""
INIT_16 = """
    raise OSError("Could not find kaggle.json. Make sure it's located in /root/.kaggle.")
"""


def test_missing_extra_is_one_line(workdir: Path, monkeypatch: pytest.MonkeyPatch, no_kaggle_modules: None) -> None:
    monkeypatch.setitem(sys.modules, "kaggle", None)  # import kaggle -> ImportError
    one_line_error(invoke("fetch", SLUG), "pip install kaggle (or this project's extra: pip install -e '.[kaggle]')")
    write("data/raw/sample_submission.csv", FILES["sample_submission.csv"])
    write("submissions/submission.csv", GOOD)
    one_line_error(invoke("submit", "-m", "x", "--competition", SLUG), "pip install kaggle")


@pytest.mark.parametrize("init", [INIT_2X, INIT_16], ids=["kaggle2", "kaggle1.6"])
def test_missing_credentials_are_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, no_kaggle_modules: None, init: str
) -> None:
    fake_package(workdir / "fakes", init, NO_CREDENTIALS_2X)
    monkeypatch.syspath_prepend(str(workdir / "fakes"))
    result = invoke("fetch", SLUG)
    one_line_error(result, "no usable Kaggle credentials", "~/.kaggle/kaggle.json", "KAGGLE_USERNAME")
    assert "Authentication required" not in result.output
    assert not Path("data/raw").exists() or not any(Path("data/raw").iterdir())


def test_offline_authentication_is_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, no_kaggle_modules: None
) -> None:
    fake_package(workdir / "fakes", "", """
        class KaggleApi:
            def authenticate(self):
                raise ConnectionError("Temporary failure in name resolution")
    """)
    monkeypatch.syspath_prepend(str(workdir / "fakes"))
    one_line_error(invoke("fetch", SLUG), "cannot reach kaggle.com")


def test_the_real_package_without_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("kaggle.api.kaggle_api_extended")
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / ".kaggle"))
    with pytest.raises(PipelineError, match="no usable Kaggle credentials"):
        kaggle.connect()


def test_the_real_package_takes_credentials_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("kaggle.api.kaggle_api_extended")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / ".kaggle"))
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0" * 32)
    api = kaggle.connect()
    assert callable(api.competition_download_files) and callable(api.competition_submit)
