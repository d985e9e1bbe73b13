"""The run log: every `run-all`, `train` and `predict` appends one JSON line to
.pipeline/runs.jsonl (when, the command, the settings that differ from the defaults, the
data's content hash, the stage keys, the validation score (and each target's, and a binary
task's positive class), seconds, the model and the submission it wrote); `pipeline submit` appends what it uploaded. `pipeline runs` reads it.

Each submission is also kept as submissions/run-NNN.csv, so writing --out again never loses
an older, better one; a file at --out that no kept file holds is copied aside before it is
overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import cache
from pipeline.config import STATE_DIR, Config, settings
from pipeline.errors import PipelineError
from pipeline.runner import Runner
from pipeline.task import LOWER_IS_BETTER

LOG = STATE_DIR / "runs.jsonl"
SUBMISSIONS = Path("submissions")


@dataclass
class Run:
    """One logged command while it runs; `wrote` gathers what it wrote for its record."""

    command: str
    number: int
    started: float = field(default_factory=time.time)
    wrote: dict[str, Any] = field(default_factory=dict)

    def protect(self, out: Path) -> None:
        """Before `out` is overwritten: keep a copy of it when it holds a submission that no
        file in the log holds (one written before the log, or by hand)."""
        if not out.is_file():
            return
        digest = _sha256(out)
        if any(Path(path).is_file() for path in _kept_with(digest)):
            return
        aside = _free(SUBMISSIONS / f"{out.stem}-before-run-{self.number:03d}.csv")
        _copy(out, aside)
        self.wrote["kept_aside"] = str(aside)

    def keep(self, out: Path) -> None:
        """Record the submission written to `out`, kept as submissions/run-NNN.csv (or the
        kept file that already holds the same bytes)."""
        digest = _sha256(out)
        kept = next((path for path in _kept_with(digest) if Path(path).is_file()), None)
        if kept is None:
            kept = str(_free(SUBMISSIONS / f"run-{self.number:03d}.csv"))
            _copy(out, Path(kept))
        self.wrote["submission"] = {"path": str(out), "kept": kept, "sha256": digest}


def start(command: str) -> Run:
    return Run(command, 1 + sum(entry.get("kind") == "run" for entry in read()))


def finish(run: Run, runner: Runner, status: str) -> dict[str, Any]:
    """Append the record of `run`, which ended with `status` ("ok", "error: ..." or
    "interrupted"), and return it."""
    config = runner.config
    record: dict[str, Any] = {
        "kind": "run",
        "number": run.number,
        "when": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started)),
        "command": run.command,
        "status": status,
        "seconds": round(time.time() - run.started, 2),
        "settings": changed_settings(config),
        "data_dir": str(config.data_dir),
        "ran": [name for name in runner.graph.stages if name in runner.ran],
    }
    try:
        record["data"] = cache.digest(runner.record("ingest")["raw"])[:12]
        fresh = [name for name in runner.graph.stages if runner.state(name).state == "fresh"]
        record["stages"] = {name: runner.key(name)[:12] for name in fresh}
    except PipelineError:  # the raw files are missing or unreadable: the run stopped at that
        fresh = []
    if "train" in fresh and (model := runner.exported("train")):
        record["model"] = str(model)
    if "validate" in fresh:
        metrics = runner.validation()
        record.update(metric=metrics["metric"], score=metrics["score"])
        record.update({key: metrics[key] for key in ("positive", "targets") if key in metrics})
    record.update(run.wrote)
    append(record)
    return record


def record_submit(file: Path, competition: str, message: str, answer: str, ref: Any) -> None:
    """`pipeline submit` uploaded `file`: on record, so `pipeline runs` can show its score."""
    append({"kind": "submit", "when": time.strftime("%Y-%m-%d %H:%M:%S"), "file": str(file),
            "sha256": _sha256(file), "competition": competition, "message": message, "answer": answer,
            "ref": ref})


def changed_settings(config: Config) -> dict[str, Any]:
    """The effective settings that differ from the defaults, by name ("train.epochs": 3)."""
    defaults = {name: value for name, value, _ in settings(Config())}
    return {name: value for name, value, _ in settings(config) if value != defaults[name]}


def read(log: Path = LOG) -> list[dict[str, Any]]:
    """The log's records, oldest first; a damaged line (a crash mid-append) is skipped."""
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{log} is unreadable ({exc}); move it aside to start a new log") from None
    records = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            records.append(entry)
    return records


def append(record: dict[str, Any], log: Path = LOG) -> None:
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:  # one write of one line: appends never interleave
            f.write(json.dumps(record, default=str) + "\n")
    except OSError as exc:
        raise PipelineError(f"cannot write {log} ({exc.strerror}); make {log.parent} writable") from None


def best(runs: list[dict[str, Any]]) -> dict[str, int]:
    """{metric: the number of the run with the best validation score by it}."""
    found: dict[str, tuple[float, int]] = {}
    for entry in runs:
        if "score" not in entry or entry.get("status") != "ok":
            continue
        sign = 1 if entry["metric"] in LOWER_IS_BETTER else -1
        score = sign * float(entry["score"])
        if entry["metric"] not in found or score < found[entry["metric"]][0]:
            found[entry["metric"]] = (score, entry["number"])
    return {metric: number for metric, (_, number) in found.items()}


def _kept_with(digest: str) -> list[str]:
    return [entry["submission"]["kept"] for entry in read()
            if entry.get("submission", {}).get("sha256") == digest]


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:20]


def _free(path: Path) -> Path:
    """`path`, or the same name with a suffix when a file already has it: nothing is overwritten."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _copy(source: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise PipelineError(f"cannot write {target} ({exc.strerror}); make {target.parent} writable") from None


def public_scores(submits: list[dict[str, Any]], listed: list[dict[str, Any]]) -> dict[str, str]:
    """{sha256 of a submitted file: its public score on Kaggle, or its status while scoring},
    matching each `pipeline submit` on record to Kaggle's list (`listed`, newest first) by
    reference, or by file name and message where the upload returned no reference."""
    scores = {}
    for entry in submits:
        for item in listed:
            if entry.get("ref"):
                same = str(item["ref"]) == str(entry["ref"])
            else:
                same = item["file_name"] == Path(entry["file"]).name and item["description"] == entry["message"]
            if same:
                score = item["public_score"]
                status = str(item["status"] or "pending").rsplit(".", 1)[-1].lower()
                scores[entry["sha256"]] = str(score) if score not in (None, "") else status
                break
    return scores
