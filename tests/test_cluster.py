"""The Dask engine (--cluster) end to end on a two-worker LocalCluster (processes, one thread
each), on tiny tables cut into many partitions: its submission against the single-process
one, a rerun from the cache, a bad cell in a late partition, a worker killed mid-run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_competition
from pipeline.cli import app
from pipeline.cluster.client import close
from test_tabular import passengers

distributed = pytest.importorskip("distributed", reason="the Dask engine needs the [dask] extra")
pytest.importorskip("lightgbm", reason="the Dask engine trains LightGBM, of the [dask] extra")

N_TRAIN, N_TEST = 2400, 600


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address
        close()  # the clients the commands opened, before their scheduler goes


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitions of 16 kB and a head of 300 rows, so that these tables have many partitions
    and most of their rows lie past the rows the schema is decided on."""
    from pipeline.cluster import parts
    from pipeline.cluster.stages import ingest

    monkeypatch.setattr(parts, "BLOCK_BYTES", 16 * 2**10)
    monkeypatch.setattr(ingest, "HEAD_ROWS", 300)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def competition(root: Path) -> pd.Series:
    """Titanic-like rows (a category, numbers with gaps, a date, free text) whose test
    answers are known; returns them."""
    rows = passengers(N_TRAIN + N_TEST, seed=3)
    test = rows.iloc[N_TRAIN:].drop(columns="Survived")
    sample = pd.DataFrame({"PassengerId": test["PassengerId"], "Survived": 0.5})
    write_competition(root, rows.iloc[:N_TRAIN], test, sample)
    return rows.iloc[N_TRAIN:].set_index("PassengerId")["Survived"]


def submission(folder: Path, *options: str) -> pd.DataFrame:
    os.chdir(folder)
    ran = invoke("run-all", "--model", "lgbm", *options)
    assert ran.exit_code == 0, ran.output
    wrote = invoke("predict", "--out", "sub.csv")
    assert wrote.exit_code == 0, wrote.output
    return pd.read_csv(folder / "sub.csv")


def test_the_engine_s_submission_matches_the_single_process_one(tmp_path: Path, scheduler: str,
                                                                small_blocks: None) -> None:
    from sklearn.metrics import roc_auc_score

    here = os.getcwd()
    try:
        folders = {name: tmp_path / name for name in ("cluster", "single")}
        truth = [competition(folder) for folder in folders.values()][0]
        engine = submission(folders["cluster"], "--cluster", scheduler)
        single = submission(folders["single"], "--folds", "1")
        assert list(engine.columns) == list(single.columns) == ["PassengerId", "Survived"]
        assert (engine["PassengerId"] == single["PassengerId"]).all() and len(engine) == N_TEST
        assert engine["Survived"].between(0, 1).all()
        scores = [roc_auc_score(truth.loc[frame["PassengerId"]], frame["Survived"]) for frame in (engine, single)]
        assert scores[0] > 0.75 and abs(scores[0] - scores[1]) < 0.03, scores
        assert np.corrcoef(engine["Survived"], single["Survived"])[0, 1] > 0.9

        os.chdir(folders["cluster"])
        parts = sorted((folders["cluster"] / "data" / "processed" / "parts").glob("*/train-*.npz"))
        assert len(parts) > 5  # the table was read in partitions
        again = invoke("run-all")  # --cluster is kept; everything is cached, and no cluster is asked for
        assert again.exit_code == 0 and "▶" not in again.output and "Dask" not in again.output, again.output
        batch = invoke("predict", "--input", "data/raw/test.csv", "--out", "batch.csv")  # in this process
        assert batch.exit_code == 0, batch.output
        np.testing.assert_allclose(pd.read_csv("batch.csv")["Survived"], engine["Survived"], atol=1e-6)
        before = (folders["cluster"] / "data" / "processed" / "cluster" / "split.npz").read_bytes()
        resplit = invoke("split", "--force")
        assert resplit.exit_code == 0, resplit.output
        after = np.load(folders["cluster"] / "data" / "processed" / "cluster" / "split.npz")
        kept = np.load(__import__("io").BytesIO(before))
        for name in ("val_rows", "fit_rows"):  # the same rows are held out
            np.testing.assert_array_equal(after[name], kept[name])
    finally:
        os.chdir(here)


def test_a_regression_on_the_engine_scores_like_one_process(tmp_path: Path, scheduler: str,
                                                            small_blocks: None) -> None:
    """House-Prices-like rows, learnt as the logarithm of the price (RMSLE), on both engines."""
    from test_tabular import houses

    here = os.getcwd()
    try:
        rows = houses(N_TRAIN + N_TEST, seed=5)
        truth = rows.iloc[N_TRAIN:].set_index("Id")["SalePrice"]
        errors = []
        for name, options in (("cluster", ("--cluster", scheduler)), ("single", ("--folds", "1"))):
            write_competition(tmp_path / name, rows.iloc[:N_TRAIN], rows.iloc[N_TRAIN:].drop(columns="SalePrice"))
            frame = submission(tmp_path / name, *options)
            assert list(frame.columns) == ["Id", "SalePrice"] and (frame["SalePrice"] > 0).all()
            predicted = frame.set_index("Id")["SalePrice"]
            errors.append(float(np.sqrt(np.mean((np.log1p(predicted) - np.log1p(truth.loc[predicted.index])) ** 2))))
        assert errors[0] < 0.25 and abs(errors[0] - errors[1]) < 0.03, errors  # the mean price alone: about 0.6
    finally:
        os.chdir(here)


@pytest.mark.parametrize("cell, expected", [
    ("Age", "train.csv: column 'Age', line {line} holds 'forty', not a number like the column's other cells; "
            "fix the cell or leave it empty"),
    ("ragged", "data/raw/train.csv: line {line} has 9 fields but the header has 8; fix that row (a stray comma or a "
               "missing value)"),
])
def test_a_bad_cell_in_a_late_partition_gives_the_single_process_error(
        workdir: Path, scheduler: str, small_blocks: None, cell: str, expected: str) -> None:
    competition(workdir)
    path = workdir / "data" / "raw" / "train.csv"
    lines = path.read_text().splitlines()
    line = 2000  # past the head, in one of the last partitions
    if cell == "Age":
        frame = pd.read_csv(path)
        frame["Age"] = frame["Age"].astype(object)
        frame.loc[line - 2, "Age"] = "forty"
        frame.to_csv(path, index=False)
    else:
        lines[line - 1] += ",extra"
        path.write_text("\n".join(lines) + "\n")
    single = invoke("ingest")
    engine = invoke("ingest", "--cluster", scheduler)
    for result in (single, engine):
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().startswith("error: " + expected.format(line=line)), result.stderr
    assert "Traceback" not in engine.output


def test_by_default_the_engine_blends_in_a_network_trained_here_and_tensorflow_stays_off_the_workers(
        workdir: Path, scheduler: str, small_blocks: None) -> None:
    competition(workdir)
    ran = invoke("run-all", "--cluster", scheduler, "--epochs", "2")
    assert ran.exit_code == 0, ran.output
    assert "the network for tables, here, on" in ran.output and "held-out auc: lgbm" in ran.output, ran.output
    model = np.load(workdir / "data" / "processed" / "cluster" / "train.npz")
    assert f"kept {model['arch']}" in ran.output  # the blend, or the better of the two alone
    wrote = invoke("predict", "--out", "sub.csv")
    assert wrote.exit_code == 0, wrote.output
    batch = invoke("predict", "--input", "data/raw/test.csv", "--out", "batch.csv")  # the whole model, in this process
    assert batch.exit_code == 0, batch.output
    np.testing.assert_allclose(pd.read_csv("sub.csv")["Survived"], pd.read_csv("batch.csv")["Survived"], atol=1e-6)
    with distributed.Client(scheduler) as client:
        assert not any(client.run(lambda: "tensorflow" in __import__("sys").modules).values())


def test_a_worker_killed_mid_run_is_survived(workdir: Path, small_blocks: None) -> None:
    competition(workdir)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        before = set(client.scheduler_info()["workers"])
        # each worker dies (SIGKILL) as it finishes its first partition; its nanny starts a
        # fresh one, without the variable, and the scheduler runs the lost work again
        client.run(lambda: os.environ.update(PIPELINE_FAULT="partition"))
        ran = invoke("run-all", "--cluster", cluster.scheduler_address)
        assert ran.exit_code == 0, ran.output
        assert set(client.scheduler_info()["workers"]) != before  # a worker was replaced
        wrote = invoke("predict", "--out", "sub.csv")
        assert wrote.exit_code == 0, wrote.output
        close()
    assert len(pd.read_csv(workdir / "sub.csv")) == N_TEST


def test_a_killed_ingest_resumes_with_the_partitions_it_wrote(workdir: Path, scheduler: str,
                                                            small_blocks: None) -> None:
    """What a killed ingest leaves: some partition files and no cache entry. The next run
    keeps those files as they are and writes the others."""
    competition(workdir)
    assert invoke("ingest", "--cluster", scheduler).exit_code == 0
    processed = workdir / "data" / "processed"
    entry = np.load(processed / "cluster" / "ingest.npz")
    written = sorted((processed / "parts").glob("*/*.npz"))
    (processed / "cluster" / "ingest.npz").unlink()
    for path in written[::2]:
        path.unlink()
    kept = {path: path.stat().st_mtime_ns for path in written[1::2]}
    again = invoke("ingest")
    assert again.exit_code == 0, again.output
    assert all(path.exists() for path in written)
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # read, not written again
    resumed = np.load(processed / "cluster" / "ingest.npz")
    for name in ("train_parts", "train_rows", "test_rows", "test_ids"):
        np.testing.assert_array_equal(resumed[name], entry[name])


def test_a_partition_s_classes_are_the_head_s_codes_and_a_new_class_is_an_error() -> None:
    from pipeline.cluster.stages.ingest import _target
    from pipeline.errors import PipelineError
    from pipeline.targets import Target
    from pipeline.task import Task

    species = Target("species", Task("multiclass", "accuracy", "label"), np.array(["Adelie", "Gentoo"]))
    np.testing.assert_array_equal(_target(pd.Series(["Gentoo", "Adelie"]), species, "train.csv"), [1, 0])
    with pytest.raises(PipelineError, match=r"train.csv: column 'species' holds 'Gentoo2' at line 3, a class the "
                                            r"first [\d,]+ rows do not have"):
        _target(pd.Series(["Adelie", "Gentoo2"]), species, "train.csv")  # not cut to 'Gentoo'
    survived = Target("Survived", Task("binary", "auc", "probability", "1"), np.array([0, 1]))
    np.testing.assert_array_equal(_target(pd.Series([1.0, 0.0, 1.0]), survived, "train.csv"), [1, 0, 1])
    with pytest.raises(PipelineError, match="holds '2' at line 2"):
        _target(pd.Series([2, 0]), survived, "train.csv")
    with pytest.raises(PipelineError, match="holds '2.0' at line 4"):  # the block's line, rows without a target left out
        _target(pd.Series([1.0, np.nan, 2.0]).dropna(), survived, "train.csv")


def test_a_line_of_a_partition_becomes_the_file_s_line() -> None:
    from pipeline.cluster.parts import located

    assert located("train.csv: column 'a', line 5 holds 'x'", 1000) == "train.csv: column 'a', line 1005 holds 'x'"
    assert located("train.csv: no line named", 0) == "train.csv: no line named"


def test_a_row_draws_the_same_wherever_it_is_and_the_seed_changes_the_draw() -> None:
    from pipeline.cluster.parts import draw

    hashes = pd.util.hash_pandas_object(pd.DataFrame({"a": np.arange(10_000)}), index=False).to_numpy()
    whole = draw(hashes, 42, 0)
    np.testing.assert_array_equal(np.concatenate([draw(hashes[:3000], 42, 0), draw(hashes[3000:], 42, 0)]), whole)
    assert abs((whole < 0.1).mean() - 0.1) < 0.01  # a share of the rows, as asked
    assert (draw(hashes, 43, 0) != whole).mean() > 0.99 and (draw(hashes, 42, 1) != whole).mean() > 0.99


def test_an_unknown_scheduler_is_one_line(workdir: Path) -> None:
    result = invoke("status", "--cluster", "somewhere")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: --cluster 'somewhere' is neither local nor a scheduler address")


def test_images_on_the_engine_are_one_line_before_any_cluster_starts(competition: Path) -> None:
    result = invoke("run-all", "--cluster", "local")
    assert result.exit_code == 2 and "Dask:" not in result.output
    assert result.stderr.strip().startswith("error: train.csv holds images; --cluster is for tables")


def test_target_means_hold_no_row_s_own_answer_and_skip_few_valued_columns() -> None:
    """LightGBM's target means (pipeline.learners.target_means): every row of a category in one
    group, so out of fold each row sees only the prior; rows it never trained on see the
    category's smoothed mean."""
    from pipeline.learners.target_means import MANY, TargetMeans, statistics

    n, levels = 2000, MANY + 36  # 100 categories of 20 rows; category c's rows all in group c % 5
    codes = np.arange(n) % levels
    x = np.column_stack([np.random.default_rng(0).normal(size=n), codes, codes % 3]).astype(np.float32)
    y = (codes % 2).astype(np.float64)  # odd categories always 1, even always 0; the mean 0.5
    columns, groups = np.array([1, 2]), np.arange(n) % 5
    means = TargetMeans.chosen(columns, *statistics(x, y[:, None], columns, groups))
    assert means.columns.tolist() == [1]  # three values: LightGBM's own category
    seen = means.encoded(x)[:, -1]
    np.testing.assert_allclose(seen[codes % 2 == 1], (20 + 20 * 0.5) / (20 + 20))  # smoothed by 20 rows
    np.testing.assert_allclose(seen[codes % 2 == 0], (0 + 20 * 0.5) / (20 + 20))
    np.testing.assert_allclose(means.encoded(x, groups)[:, -1], 0.5)  # out of fold: no answer of its own
