"""The CLI end to end through typer's CliRunner, on tiny generated competitions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import digit_frames, write_competition
from pipeline.cli import app

STAGES = ["ingest", "preprocess", "split", "train", "validate", "predict"]
FAST = ["--epochs", "1", "--batch-size", "32"]
HEAVY = ("tensorflow", "keras", "sklearn", "pandas", "matplotlib")  # never on a cached path


def invoke(*args: str) -> "Result":
    result = CliRunner().invoke(app, list(args))
    return Result(result.exit_code, result.output, result.stdout, result.stderr)


class Result:
    def __init__(self, code: int, output: str, stdout: str, stderr: str) -> None:
        self.code, self.output, self.stdout, self.stderr = code, output, stdout, stderr

    @property
    def ran(self) -> list[str]:
        return re.findall(r"▶ (\w+)", self.output)


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.code == 0
    for name in STAGES + ["run-all", "status", "clean", "demo"]:
        assert re.search(rf"^  {name}\b", result.output, re.M), name


def test_run_all_then_predict_writes_a_valid_submission(competition: Path) -> None:
    first = invoke("run-all", *FAST)
    assert first.code == 0, first.output
    assert first.ran == STAGES[:5]
    assert "accuracy" in first.output and "confusion matrix" in first.output
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1 and len(metrics["confusion_matrix"]) == 3
    assert Path("models/model.keras").stat().st_size > 0

    pred = invoke("predict", *FAST, "--out", "submissions/sub.csv")
    assert pred.code == 0, pred.output
    assert pred.ran == ["predict"]  # everything upstream came from the cache
    sub = pd.read_csv("submissions/sub.csv")
    assert sub.columns.tolist() == ["ImageId", "Label"]
    assert sub["ImageId"].tolist() == list(range(1, 31))
    assert set(sub["Label"]) <= {0, 1, 2}

    again = invoke("run-all", *FAST)
    assert again.code == 0 and again.ran == []
    assert again.output.count("cached") == 5


def test_changing_epochs_reruns_train_validate_predict_only(competition: Path) -> None:
    assert invoke("predict", *FAST).code == 0
    assert invoke("validate", *FAST).code == 0
    status = invoke("status", "--epochs", "2")
    assert re.search(r"train\s+│ stale\s+│ epochs 1 -> 2", status.output), status.output
    assert re.search(r"ingest\s+│ fresh", status.output)
    changed = invoke("predict", "--epochs", "2", "--batch-size", "32")
    assert changed.code == 0, changed.output
    assert changed.ran == ["train", "predict"]
    assert invoke("validate", "--epochs", "2", "--batch-size", "32").ran == ["validate"]


def test_tta_reruns_validate_and_predict_but_not_train(competition: Path) -> None:
    assert invoke("predict", *FAST).code == 0
    assert invoke("validate", *FAST).code == 0
    status = invoke("status", *FAST, "--tta")
    assert re.search(r"validate\s+│ stale\s+│ tta False -> True", status.output), status.output
    changed = invoke("predict", *FAST, "--tta", "--out", "submissions/tta.csv")
    assert changed.code == 0 and changed.ran == ["predict"], changed.output
    assert len(pd.read_csv("submissions/tta.csv")) == 30


def test_predict_input_predicts_any_csv_with_the_trained_model(competition: Path) -> None:
    assert invoke("predict", *FAST, "--out", "submissions/sub.csv").code == 0
    test = pd.read_csv(competition / "test.csv")
    rows = test.iloc[[4, 0, 9]][test.columns[::-1]]  # other order, other columns
    rows.insert(0, "id", ["x", "y", "z"])
    rows.to_csv("new.csv", index=False)
    result = invoke("predict", *FAST, "--input", "new.csv", "--out", "preds.csv")
    assert result.code == 0 and result.ran == [], result.output
    preds = pd.read_csv("preds.csv")
    submission = pd.read_csv("submissions/sub.csv")
    assert preds.columns.tolist() == ["id", "label"] and preds["id"].tolist() == ["x", "y", "z"]
    assert preds["label"].tolist() == submission["Label"].iloc[[4, 0, 9]].tolist()

    rows.drop(columns="pixel3").to_csv("new.csv", index=False)
    broken = invoke("predict", *FAST, "--input", "new.csv", "--out", "preds.csv")
    assert broken.code == 2 and "new.csv: feature column 'pixel3' of train.csv is missing" in broken.output
    missing = invoke("predict", *FAST, "--input", "nothing.csv")
    assert missing.code == 2 and "nothing.csv not found" in missing.output


def test_train_csv_content_change_reruns_everything_but_touch_does_not(competition: Path) -> None:
    assert invoke("run-all", *FAST).code == 0
    train_csv = competition / "train.csv"
    later = train_csv.stat().st_mtime_ns + 5 * 10**9
    os.utime(train_csv, ns=(later, later))
    assert "stale" not in invoke("status", *FAST).output
    assert invoke("run-all", *FAST).ran == []

    frame = pd.read_csv(train_csv)
    frame.loc[0, "pixel0"] = (frame.loc[0, "pixel0"] + 1) % 256
    frame.to_csv(train_csv, index=False)
    status = invoke("status", *FAST)
    assert re.search(r"ingest\s+│ stale\s+│ train.csv changed", status.output), status.output
    assert re.search(r"preprocess\s+│ stale\s+│ ingest changed", status.output)
    assert invoke("run-all", *FAST).ran == STAGES[:5]


def test_truncated_cache_file_is_recomputed_with_a_warning(competition: Path) -> None:
    assert invoke("run-all", *FAST).code == 0
    npz = Path("data/processed/preprocess.npz")
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    assert "missing" in invoke("status", *FAST).output
    result = invoke("run-all", *FAST)
    assert result.code == 0, result.output
    assert "warning:" in result.stderr and "preprocess.npz: unreadable cache file" in result.stderr
    assert result.ran == ["preprocess"]  # its key did not change, so downstream stays fresh

    npz.write_bytes(npz.read_bytes()[:-100])  # damage it again, then need its data downstream
    result = invoke("run-all", "--epochs", "2", "--batch-size", "32")
    assert result.code == 0, result.output
    assert result.ran == ["preprocess", "train", "validate"]


def test_a_damaged_export_is_written_again(competition: Path) -> None:
    assert invoke("run-all", *FAST).code == 0
    model, metrics = Path("models/model.keras"), Path("reports/metrics.json")
    whole = model.read_bytes()
    model.write_bytes(whole[: len(whole) // 2])
    metrics.write_text('{"accuracy": 0.')
    result = invoke("run-all", *FAST)
    assert result.code == 0 and result.ran == [], result.output
    assert "models/model.keras is damaged; writing it again" in result.stderr
    assert "reports/metrics.json is damaged" in result.stderr
    assert zipfile.ZipFile(model).testzip() is None and json.loads(metrics.read_text())["accuracy"] >= 0


def test_corrupt_member_found_on_load_is_recomputed(competition: Path) -> None:
    assert invoke("run-all", *FAST).code == 0
    npz = Path("data/processed/split.npz")
    data = bytearray(npz.read_bytes())
    data[200:260] = b"\x00" * 60  # inside the first member: the meta record still reads
    npz.write_bytes(bytes(data))
    result = invoke("run-all", "--epochs", "2", "--batch-size", "32")
    assert result.code == 0, result.output
    assert "unreadable cache file" in result.output and "recomputing split" in result.output
    assert result.ran == ["train", "split", "validate"]


def test_submission_follows_sample_submission_header_and_order(workdir: Path) -> None:
    train, test = digit_frames()
    test.insert(0, "id", range(100, 130))
    sample = pd.DataFrame({"id": list(range(129, 99, -1)), "label": 0})
    write_competition(workdir, train, test, sample)
    result = invoke("predict", *FAST, "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    sub = pd.read_csv("submissions/sub.csv")
    assert sub.columns.tolist() == ["id", "label"]
    assert sub["id"].tolist() == list(range(129, 99, -1))

    Path("data/raw/sample_submission.csv").unlink()  # it can change the task's metric: ingest reads it
    assert invoke("predict", *FAST, "--out", "submissions/plain.csv").ran == [*STAGES[:4], "predict"]
    plain = pd.read_csv("submissions/plain.csv")
    assert plain["id"].tolist() == list(range(100, 130))
    # the same predictions, in the sample's order
    assert plain.set_index("id")["label"].equals(sub.set_index("id")["label"].sort_index())


def test_pipeline_toml_sets_defaults_and_options_override_it(competition: Path) -> None:
    Path("pipeline.toml").write_text("[train]\nepochs = 1\nbatch_size = 32\n")
    assert invoke("train").code == 0
    meta_epochs = json.loads(_meta("train"))["params"]["epochs"]
    assert meta_epochs == 1
    assert "epochs 1 -> 3" in invoke("status", "--epochs", "3").output
    Path("pipeline.toml").write_text("[train]\nepohcs = 1\n")
    bad = invoke("status")
    assert bad.code == 2 and "unknown setting train.epohcs" in bad.output


def _meta(stage: str) -> str:
    import numpy as np

    with np.load(f"data/processed/{stage}.npz") as npz:
        return str(npz["__meta__"])


@pytest.mark.parametrize(("command", "heavy"), [("run-all", HEAVY + ("numpy",)), ("status", HEAVY)])
def test_cached_run_and_status_do_not_import_tensorflow(competition: Path, command: str, heavy: tuple) -> None:
    assert invoke("run-all", *FAST).code == 0
    probe = (
        "import sys; from pipeline.cli import app\n"
        f"try: app([{command!r}, '--epochs', '1', '--batch-size', '32'])\n"
        "except SystemExit as e: assert e.code == 0, e.code\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "running" not in done.stdout and "stale" not in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run-all", "--val-fraction", "1.5"], "--val-fraction 1.5 must be between 0 and 1"),
        (["run-all", "--image-shape", "28by28"], "--image-shape '28by28' is not HxW"),
        (["run-all", "--model", "resnet"], "--model 'resnet' is unknown"),
        (["run-all", "--epochs", "-3"], "--epochs -3 must be at least 1"),
        (["run-all", "--ensemble", "-1"], "--ensemble -1 must be at least 1 (or 0: the preset's choice)"),
        (["run-all", "--preset", "turbo"], "--preset 'turbo' is unknown; use fast, default, best"),
        (["run-all", "--time-budget", "soon"], "--time-budget 'soon' is not a duration"),
        (["run-all", "--time-budget", "0m"], "--time-budget '0m' is not a duration"),
        (["run-all", "--label-column", "target"], "no label column 'target'"),
        (["predict", "--out", "data/raw/sub.csv"], "is never written"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(competition: Path, args: list[str], message: str) -> None:
    before = sorted(p.name for p in competition.iterdir())
    result = invoke(*args)
    assert result.code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in competition.iterdir()) == before


def test_missing_train_csv_is_one_line(workdir: Path) -> None:
    result = invoke("run-all")
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: data/raw/train.csv not found; put the competition's train.csv in data/raw/ "
        "(or run `pipeline demo` for the demo competition)"
    )


def test_data_dir_option_and_clean(workdir: Path) -> None:
    train, test = digit_frames()
    raw = write_competition(workdir / "comp", train, test)
    result = invoke("run-all", "--data-dir", "comp/data", *FAST)
    assert result.code == 0, result.output
    assert (workdir / "comp/data/processed/train.npz").exists()
    Path("pipeline.toml").write_text('data_dir = "comp/data"\n[train]\nepochs = 1\nbatch_size = 32\n')
    assert invoke("run-all").ran == []  # the same folder and settings, now from pipeline.toml
    assert invoke("clean", "--data-dir", "comp/data").code == 0
    assert not list((workdir / "comp/data/processed").glob("*.npz"))
    assert not Path("models/model.keras").exists()
    assert not Path("reports").exists() or not list(Path("reports").iterdir())
    assert sorted(p.name for p in raw.iterdir()) == ["test.csv", "train.csv"]


def test_demo_writes_a_competition_that_runs_and_never_overwrites(workdir: Path) -> None:
    result = invoke("demo")
    assert result.code == 0, result.output
    train = pd.read_csv("data/raw/train.csv")
    assert train.columns[0] == "label" and train.shape[1] == 65
    assert invoke("demo").code == 0  # same content: nothing to protect
    Path("data/raw/train.csv").write_text("label,a\n1,2\n")
    refused = invoke("demo")
    assert refused.code == 2 and "already exists" in refused.stderr
    assert Path("data/raw/train.csv").read_text() == "label,a\n1,2\n"
    assert invoke("demo", "--force").code == 0

    pred = invoke("predict", "--epochs", "1", "--out", "submissions/demo.csv")
    assert pred.code == 0, pred.output
    sample = pd.read_csv("data/raw/sample_submission.csv")
    sub = pd.read_csv("submissions/demo.csv")
    assert sub.columns.tolist() == sample.columns.tolist() and len(sub) == len(sample)


def test_python_dash_m_pipeline_works() -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "run-all" in done.stdout


def test_preset_ensemble_and_refit_from_the_command_line(competition: Path) -> None:
    result = invoke("predict", "--preset", "fast", "--ensemble", "2", "--refit", "--batch-size", "32",
                    "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    assert "net 2/2 epoch" in result.output and "refit 2/2 epoch" in result.output
    assert re.search(r"trained cnn \(--model\) on [\d,]+ images at [\d,]+ images/s", result.output)
    assert len(pd.read_csv("submissions/sub.csv")) == 30
    assert re.search(r"train\s+│ fresh", invoke("status").output)  # the options stuck to the folder
    status = invoke("status", "--no-refit")
    assert re.search(r"train\s+│ stale\s+│ refit True -> False", status.output), status.output


def test_tabular_competition_reports_the_model_it_kept(workdir: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(160, 5)) * [1, 10, 100, 0.1, 1]
    train = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    train.insert(0, "label", (x[:, 0] + x[:, 1] / 10 > 0).astype(int))
    write_competition(workdir, train, train.drop(columns="label").head(20))
    result = invoke("run-all", *FAST)
    assert result.code == 0, result.output
    found = re.search(r"kept (\w+)(?: of ([\w .,]+))? \(validation accuracy: mlp [\d.]+, hgb [\d.]+, cat [\d.]+, "
                      r"linear [\d.]+, blend [\d.]+\)", result.output)
    assert found and found[1] in ("mlp", "hgb", "cat", "linear", "blend"), result.output
    if found[1] == "blend":  # the learners it blends, with weights that sum to 1
        weights = [float(part.split()[1]) for part in found[2].split(", ")]
        assert len(weights) > 1 and sum(weights) == pytest.approx(1, abs=0.02)


def test_config_shows_each_value_and_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipeline.toml").write_text("[train]\nepochs = 7\n")
    result = invoke("config", "--seed", "3")
    assert result.code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in result.stdout.splitlines() if line.count("│") == 4}
    assert rows["train.epochs"] == ["7", "pipeline.toml"]
    assert rows["split.seed"] == rows["train.seed"] == ["3", "set by `config --seed 3`"]
    assert rows["train.preset"] == ['"default"', "default"]
    assert not (tmp_path / "data").exists()  # it only reads


def _pngs() -> dict[str, tuple[int, ...]]:
    from matplotlib.image import imread

    return {p.name: imread(p).shape for p in Path("reports").glob("*.png")}


def test_run_all_draws_the_report_once_and_report_redraws_it(competition: Path) -> None:
    first = invoke("run-all", *FAST)
    assert first.code == 0, first.output
    assert "report: reports/index.html" in first.output
    pngs = _pngs()
    assert {"learning_curves.png", "confusion_matrix.png", "per_class.png"} <= set(pngs)
    assert all(len(shape) == 3 and shape[0] > 100 and shape[1] > 100 for shape in pngs.values()), pngs
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert ("mistakes.png" in pngs) == (metrics["accuracy"] < 1)  # the grid shows only real mistakes
    assert "feature_importance.png" not in pngs  # images, not tabular features
    index = Path("reports/index.html").read_text()
    assert all(f'src="{name}"' in index for name in pngs)
    history = pd.read_csv("reports/history.csv")
    assert history.columns.tolist() == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert history["epoch"].tolist() == [1]

    drawn = Path("reports/index.html").stat().st_mtime_ns
    again = invoke("run-all", *FAST)
    assert again.code == 0 and "report:" not in again.output
    assert Path("reports/index.html").stat().st_mtime_ns == drawn

    forced = invoke("report", *FAST)
    assert forced.code == 0 and forced.ran == [] and "wrote reports/index.html" in forced.output
    assert Path("reports/index.html").stat().st_mtime_ns > drawn


def test_error_text_in_square_brackets_is_printed_as_written(workdir: Path) -> None:
    Path("pipeline.toml").write_text("[trian]\nepochs = 1\n")
    result = invoke("status")
    assert result.code == 2
    assert "unknown section [trian]" in result.output


def test_without_a_terminal_long_work_prints_plain_progress_lines(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli import console

    reporter = console.RichReporter()
    reporter.progress("reading train.csv (1.0 MB)", 1, 4, "10 rows")  # starts the task: too soon to print
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(console, "PLAIN_EVERY_S", 0.0)
    reporter.progress("reading train.csv (1.0 MB)", 2, 4, "20 rows, 5 rows/s")
    assert capsys.readouterr().out == "  reading train.csv (1.0 MB): 50%  20 rows, 5 rows/s\n"  # no bar codes
    console.RichReporter(quiet=True).progress("reading train.csv (1.0 MB)", 3, 4, "")
    assert capsys.readouterr().out == ""


def test_shell_completion_is_offered() -> None:
    assert "--install-completion" in invoke("--help").output


# -- command-line conventions -----------------------------------------------------------


def _commands() -> dict[str, Any]:
    import typer

    return typer.main.get_command(app).commands  # type: ignore[attr-defined]


def test_h_and_help_everywhere() -> None:
    assert invoke("-h").stdout == invoke("--help").stdout
    for name in _commands():
        short, long = invoke(name, "-h"), invoke(name, "--help")
        assert short.code == long.code == 0, name
        assert short.stdout == long.stdout and re.match(rf"Usage: \S+ {name} ", short.stdout), name


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    result = invoke("--version")
    assert result.code == 0 and result.stdout.strip() == f"pipeline {version('kaggle-csv-pipeline')}"


def test_flags_read_as_flags_and_every_option_has_help() -> None:
    for name, command in _commands().items():
        text = invoke(name, "-h").stdout
        assert "<bool>" not in text and "\\[" not in text, name
        for param in command.params:
            if param.param_type_name != "option" or "--help" in param.opts:
                continue
            assert param.help, (name, param.opts)
            if param.is_flag:  # `-q, --quiet    Print only...`: no placeholder after a flag
                shown = ", ".join(sorted(param.opts, key=len)) + "".join(f" / {o}" for o in param.secondary_opts)
                assert re.search(rf"^  {re.escape(shown)}( {{2,}}|\n {{20,}})[A-Z]", text, re.M), (name, shown)


def test_each_setting_option_sets_the_settings_of_its_name() -> None:
    import dataclasses

    from pipeline.config import Config, settings
    from pipeline.cli.options import Settings, targets

    known = {name for name, _, _ in settings(Config())}
    for field in dataclasses.fields(Settings):
        assert targets(field.name) and set(targets(field.name)) <= known, field.name
    assert targets("seed") == ["split.seed", "train.seed"]


def test_short_options(competition: Path) -> None:
    first = invoke("run-all", "-q", *FAST)
    assert first.code == 0, first.output
    assert "▶" not in first.stdout and "accuracy" in first.stdout  # quiet: results only
    forced = invoke("train", "-f", "-q")
    assert forced.code == 0 and "confusion" not in forced.stdout
    assert invoke("status").output.count("fresh") >= 4  # -f re-ran train with the same key
    written = invoke("predict", "-o", "submissions/short.csv")
    assert written.code == 0 and len(pd.read_csv("submissions/short.csv")) == 30


def test_the_readme_command_table_lists_every_command() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    rows = readme.split("| command | what it does | example |", 1)[1].split("\n\n", 1)[0]
    table = set(re.findall(r"^\| `([a-z-]+)` \|", rows, re.M))
    assert table == set(_commands())
