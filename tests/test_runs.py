"""Settings that stick to the folder, the run log, and submissions kept per run."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from test_cli import Result
from typer.testing import CliRunner

from pipeline import runlog
from pipeline.cli import app

FAST = ["--epochs", "1", "--batch-size", "32"]
SETTINGS = Path(".pipeline/settings.json")


def invoke(*args: str) -> Result:
    """The CLI in a terminal wide enough that no table cell wraps."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    return Result(result.exit_code, result.output, result.stdout, result.stderr)


def rows(output: str) -> dict[str, list[str]]:
    """The cells of a rich table, keyed by the first."""
    return {cells[0]: cells[1:] for line in output.splitlines() if line.count("│") >= 3
            for cells in [[c.strip() for c in line.split("│")[1:-1]]]}


def test_options_stick_so_a_bare_predict_trains_nothing(competition: Path) -> None:
    first = invoke("run-all", *FAST)
    assert first.code == 0, first.output
    assert "setting for this folder: train.batch_size 128 -> 32; train.epochs 0 -> 1" in first.stdout
    pred = invoke("predict", "--out", "submissions/sub.csv")
    assert pred.code == 0, pred.output
    assert pred.ran == ["predict"] and "setting for this folder" not in pred.stdout
    record = runlog.read()[-1]
    assert (record["command"], record["ran"], record["status"]) == ("predict", ["predict"], "ok")
    assert record["settings"] == {"train.epochs": 1, "train.batch_size": 32}


def test_a_changed_setting_is_reported_before_work_and_reset_returns_to_defaults(competition: Path) -> None:
    assert invoke("train", *FAST).code == 0
    changed = invoke("train", "--epochs", "2")
    assert changed.code == 0 and changed.ran == ["train"], changed.output
    lines = changed.stdout.splitlines()
    told = next(i for i, line in enumerate(lines) if "train.epochs 1 -> 2" in line)
    planned = next(i for i, line in enumerate(lines) if line.startswith("will run train (epochs 1 -> 2)"))
    assert told < planned < next(i for i, line in enumerate(lines) if "▶ train" in line)

    shown = rows(invoke("config").stdout)
    assert shown["train.epochs"] == ["2", "set by `train --epochs 2`"]
    assert shown["train.batch_size"] == ["32", "set by `train --epochs 1 --batch-size 32`"]
    reset = invoke("config", "--reset")
    assert reset.code == 0 and "train.epochs 2 -> 0 (unset)" in reset.stdout
    shown = rows(reset.stdout)
    assert shown["train.epochs"] == ["0", "default"] and shown["train.batch_size"] == ["128", "default"]
    assert not SETTINGS.exists()
    assert re.search(r"train\s+│ stale\s+│ epochs 2 -> 0, batch_size 32 -> 128", invoke("status").output)


def test_runs_lists_every_run_in_order_and_every_submission_stays(competition: Path) -> None:
    assert invoke("run-all", *FAST).code == 0
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    assert invoke("run-all", "--seed", "7").code == 0
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    records = [r for r in runlog.read() if r["kind"] == "run"]
    assert [r["command"] for r in records] == ["run-all --epochs 1 --batch-size 32", "predict", "run-all --seed 7",
                                               "predict"]
    assert [r["number"] for r in records] == [1, 2, 3, 4]
    assert records[3]["settings"] == {"split.seed": 7, "train.epochs": 1, "train.batch_size": 32, "train.seed": 7}
    assert records[0]["metric"] == "accuracy" and records[1]["score"] == records[0]["score"]
    assert records[1]["stages"]["train"] == records[0]["stages"]["train"] != records[3]["stages"]["train"]
    assert records[0]["data"] == records[3]["data"] and records[0]["model"] == "models/model.keras"
    for record in records[1], records[3]:  # each submission written is on disk as it was written
        kept = Path(record["submission"]["kept"])
        assert hashlib.sha256(kept.read_bytes()).hexdigest()[:20] == record["submission"]["sha256"]
    assert records[1]["submission"]["kept"] == "submissions/run-002.csv"

    table = invoke("runs")
    assert table.code == 0, table.output
    listed = {number: cells for number, cells in rows(table.stdout).items() if number.isdigit()}
    assert list(listed) == ["1", "2", "3", "4"]
    assert listed["3"][1] == "run-all" and "seed=7" in listed["3"][2]
    assert re.search(r"┃ # +┃ when +┃ command +┃ settings +┃ accuracy +┃ s +┃ submission", table.stdout)  # one metric
    assert all(re.fullmatch(r"[01]\.\d{4}( \*)?", cells[3]) for cells in listed.values())
    assert listed["2"][5] == "run-002.csv"
    assert sum(cells[3].endswith("*") for cells in listed.values()) == 1


def test_submissions_are_kept_per_run_and_never_overwritten(workdir: Path) -> None:
    out = Path("submissions/sub.csv")
    out.parent.mkdir()
    out.write_text("id,y\n1,a\n")
    first = runlog.Run("predict", 1)
    first.protect(out)  # written by hand, on no record: copied aside first
    assert Path(first.wrote["kept_aside"]).read_text() == "id,y\n1,a\n"
    out.write_text("id,y\n1,b\n")
    first.keep(out)
    runlog.append({"kind": "run", **first.wrote})
    second = runlog.Run("predict", 2)
    second.protect(out)  # the same bytes as run 1's kept file: nothing to copy
    assert "kept_aside" not in second.wrote
    Path("submissions/run-002.csv").write_text("someone else's")
    out.write_text("id,y\n1,c\n")
    second.keep(out)
    assert second.wrote["submission"]["kept"] == "submissions/run-002-2.csv"
    contents = {p.read_text() for p in Path("submissions").iterdir()}
    assert {"id,y\n1,a\n", "id,y\n1,b\n", "id,y\n1,c\n", "someone else's"} <= contents
    runlog.append({"kind": "run", **second.wrote})
    third = runlog.Run("predict", 3)
    third.keep(out)  # the same bytes again: refers to the kept file, no copy
    assert third.wrote["submission"]["kept"] == "submissions/run-002-2.csv"
    assert not Path("submissions/run-003.csv").exists()


def test_an_option_that_undoes_what_the_kept_preset_implies_is_kept(competition: Path) -> None:
    assert invoke("config", "--preset", "best").code == 0
    assert rows(invoke("config").stdout)["predict.tta"] == ["true", "preset"]
    off = invoke("config", "--no-tta")  # the default's value, but not what best implies
    assert off.code == 0 and "predict.tta true -> false" in off.stdout, off.output
    assert rows(off.stdout)["predict.tta"] == ["false", "set by `config --no-tta`"]
    back = invoke("config", "--tta")  # what best implies: no longer kept
    assert "predict.tta false -> true (unset)" in back.stdout, back.output
    assert set(json.loads(SETTINGS.read_text())) == {"train.preset"}


def test_pipeline_toml_stays_the_users_own(competition: Path) -> None:
    toml = Path("pipeline.toml")
    toml.write_text("# my settings\n[train]\nepochs = 7  # seven is plenty\n")
    before = toml.read_bytes()
    assert invoke("config", "--model", "mlp", "--epochs", "3").code == 0
    assert toml.read_bytes() == before
    shown = rows(invoke("config").stdout)
    assert shown["train.epochs"] == ["3", "set by `config --model mlp --epochs 3`"]
    back = invoke("config", "--epochs", "7")  # pipeline.toml's value: no longer kept
    assert "train.epochs 3 -> 7 (unset)" in back.stdout
    shown = rows(back.stdout)
    assert shown["train.epochs"] == ["7", "pipeline.toml"] and shown["train.model"][0] == '"mlp"'
    assert set(json.loads(SETTINGS.read_text())) == {"train.model"}


def test_status_options_ask_and_bad_options_are_never_kept(competition: Path) -> None:
    status = invoke("status", "--epochs", "3")
    assert status.code == 0 and not SETTINGS.exists()
    bad = invoke("config", "--epochs", "-1", "--seed", "5")
    assert bad.code == 2 and "--epochs -1 must be at least 1" in bad.stderr
    assert not SETTINGS.exists()
    SETTINGS.parent.mkdir()
    SETTINGS.write_text("{not json")
    broken = invoke("config")
    assert broken.code == 2 and "settings.json is unreadable" in broken.stderr and "config --reset" in broken.stderr
    assert invoke("config", "--reset").code == 0 and not SETTINGS.exists()


def test_a_setting_given_on_a_command_that_fails_is_not_kept(competition: Path) -> None:
    assert invoke("config", "--seed", "5").code == 0
    wrong = invoke("ingest", "--label-column", "Nope", "--epochs", "3")
    assert wrong.code == 2 and "no label column 'Nope'" in wrong.stderr
    assert "(the settings given here are not kept)" in wrong.stderr and len(wrong.stderr.splitlines()) == 1
    assert set(json.loads(SETTINGS.read_text())) == {"split.seed", "train.seed"}  # what was kept before stays
    bare = invoke("ingest")
    assert bare.code == 0, bare.output


def test_predict_checks_input_and_out_before_training(competition: Path) -> None:
    missing = invoke("predict", *FAST, "--input", "nothing.csv")
    assert missing.code == 2 and "--input nothing.csv not found" in missing.stderr
    Path("bad.csv").write_text("pixel0,pixel1\n1,2\n")
    bad = invoke("predict", "--input", "bad.csv")
    assert bad.code == 2 and "bad.csv: feature column" in bad.stderr, bad.output
    folder = invoke("predict", "--out", "submissions")
    assert folder.code == 2 and "is a folder" in folder.stderr
    assert not Path("data/processed/train.npz").exists()
    failed = [r for r in runlog.read() if r["kind"] == "run"]
    assert [r["status"].split(":")[0] for r in failed] == ["error", "error", "error"]


@pytest.mark.parametrize("metric", ["accuracy", "logloss"])
def test_the_best_run_follows_the_metrics_direction(metric: str) -> None:
    runs = [{"number": n, "metric": metric, "score": s, "status": "ok"} for n, s in ((1, 0.5), (2, 0.9), (3, 0.7))]
    runs.append({"number": 4, "metric": metric, "score": 0.1, "status": "interrupted"})
    assert runlog.best(runs) == {metric: 2 if metric == "accuracy" else 1}
