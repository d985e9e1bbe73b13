"""The shapes of a Kaggle answer that are easy to get silently wrong: which class a probability
is for, timestamps, the K likeliest labels (MAP@K), several targets, and the metrics that need
a decision of their own (binary F1's threshold, quadratic weighted kappa's cuts, MAE's loss)."""

from __future__ import annotations

import json
import re
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from conftest import write_competition
from pipeline import tabular
from pipeline.config import IngestParams, SplitParams, TrainParams
from pipeline.errors import PipelineError
from pipeline.learners import get
from pipeline.schema import Schema
from pipeline.stages.ingest import ingest
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.task import Task
from pipeline.training.keras_fit import fit_keras
from pipeline.training.plan import Plan
from test_runs import invoke, rows

QUICK = ["--epochs", "2", "--batch-size", "32"]
HGB = ["--model", "hgb"]


def loans(n: int, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """Loans with a text status, 'bad' the rarer class: bad mostly at night and for large
    amounts; `created_at` an ISO 8601 timestamp with Z (some with fractions of a second)."""
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp("2015-06-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 400 * 86400, n), unit="s")
    hour = stamps.hour.to_numpy()
    amount = rng.uniform(100, 5000, n).round(2)
    chance = 0.05 + 0.6 * (hour >= 18) + 0.2 * (amount > 4000)
    text = stamps.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy().astype(object)
    text[::7] = stamps[::7].strftime("%Y-%m-%dT%H:%M:%S.250Z")
    return pd.DataFrame({"id": np.arange(first_id, first_id + n), "created_at": text, "amount": amount,
                         "grade": rng.choice(["A", "B", "C"], n),
                         "status": np.where(rng.random(n) < chance, "bad", "good")})


def competition(workdir: Path, frame: pd.DataFrame, target: str | list[str], sample: dict, n_test: int = 60) -> pd.DataFrame:
    """Write `frame` as a competition (its last `n_test` rows are test.csv, without the targets)
    with a sample of `sample` (a value per column); returns test.csv's answers."""
    targets = [target] if isinstance(target, str) else target
    train_df, answers = frame.iloc[:-n_test], frame.iloc[-n_test:].reset_index(drop=True)
    write_competition(workdir, train_df, answers.drop(columns=targets),
                      pd.DataFrame({"id": answers["id"], **sample}))
    return answers


# -- the positive class -----------------------------------------------------------------------


def test_a_rarer_text_class_is_the_positive_one_and_says_so(workdir: Path) -> None:
    answers = competition(workdir, loans(500), "status", {"status": 0.5})
    result = invoke("run-all", *QUICK)
    assert result.code == 0, result.output
    assert "task: binary, scored by auc; the submission holds the probability of 'bad'" in result.stdout
    assert ("warning: train.csv: neither class of 'status' is named like a positive (1, true, yes): the rarer one, "
            "'bad' " in result.stderr and "--positive-class good to choose the other" in result.stderr)
    assert json.loads(Path("reports/metrics.json").read_text())["positive"] == "bad"
    assert "ROC curve of &#x27;bad&#x27;" in Path("reports/index.html").read_text()
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    sub = pd.read_csv("submissions/sub.csv")
    assert roc_auc_score(answers["status"] == "bad", sub["status"]) > 0.8  # the probability of 'bad'
    runs = invoke("runs").stdout
    assert "of 'bad'" in runs
    assert "the probability of 'bad'" in invoke("status").stdout

    flipped = invoke("run-all", *QUICK, "--positive-class", "good")
    assert flipped.code == 0, flipped.output
    assert "the submission holds the probability of 'good'" in flipped.stdout
    assert rows(invoke("config").stdout)["ingest.positive_class"][0] == '"good"'  # kept, as every setting
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    assert roc_auc_score(answers["status"] == "good", pd.read_csv("submissions/sub.csv")["status"]) > 0.8


def test_true_false_labels_take_true_as_positive_without_a_warning() -> None:
    rng = np.random.default_rng(0)
    cryo = rng.random(200) < 0.5
    train_df = pd.DataFrame({"PassengerId": [f"{i:04d}_01" for i in range(200)], "CryoSleep": cryo,
                             "Age": rng.uniform(1, 70, 200), "Transported": cryo & (rng.random(200) < 0.9)})
    out = ingest(train_df, train_df.drop(columns="Transported"), IngestParams(metric="auc"))
    assert out["classes"].tolist() == ["False", "True"] and str(out["positive"]) == "True"
    assert not any("positive" in note for note in out["notes"])


def test_a_positive_class_that_is_not_a_label_stops_before_training(workdir: Path) -> None:
    competition(workdir, loans(100), "status", {"status": 0.5})
    result = invoke("run-all", *QUICK, "--positive-class", "Bda")
    assert result.code == 2 and len(result.stderr.splitlines()) == 1
    assert ("--positive-class 'Bda' is not a class of 'status', whose classes are 'bad' and 'good'; give one of them"
            in result.stderr)
    assert not Path("data/processed/train.npz").exists()
    assert rows(invoke("config").stdout)["ingest.positive_class"] == ['""', "default"]  # not kept


# -- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(("cells", "hour"), [
    (["2015-06-01T10:23:13Z", "2015-06-02T11:00:00.5Z", "2016-01-31T23:59:59Z"], [10, 11, 23]),
    (["2015-06-01T10:23:13+02:00", "2015-06-02T11:05:00-01:00", "2016-01-31T23:59:59+00:00"], [8, 12, 23]),
    (["2015-06-01T10:23", "2015-06-02T11:05", "2016-01-31T23:59"], [10, 11, 23]),
    (["2015-06-01 10:23:13.123456", "2015-06-02 11:05:00", "2016-01-31 23:59:59"], [10, 11, 23]),
    (["1/31/2013 14:05", "2/1/2013 9:30", "12/24/2013 18:45"], [14, 9, 18]),
    (["31/01/2013", "01/02/2013", "24/12/2013"], None),
    (["Jan 5, 2020", "Feb 17, 2021", "Dec 1, 2019"], None),
])
def test_every_common_timestamp_is_a_date_with_its_hour(cells: list[str], hour: list[int] | None) -> None:
    n = 60
    train_df = pd.DataFrame({"when": (cells * n)[:n], "x": np.arange(n), "target": np.arange(n) % 2})
    out = ingest(train_df, train_df.drop(columns="target"), IngestParams())
    schema = Schema.from_arrays(out)
    assert dict(zip(schema.columns, schema.kinds))["when"] == "datetime"
    names = out["feature_names"].tolist()
    assert ("when_hour" in names) == (hour is not None)
    if hour is not None:
        assert out["X"][:3, names.index("when_hour")].tolist() == hour
        assert "when_minute" in names
    days = out["X"][:3, names.index("when_days")]
    assert np.isfinite(days).all() and (days > 15000).all()  # days since 1970: these are 2013 to 2021


def test_each_date_column_is_named_with_its_format_and_a_day_month_doubt_is_said() -> None:
    n = 40
    train_df = pd.DataFrame({"when": (["01/02/2013", "03/04/2013"] * n)[:n],
                             "stamp": (["2015-06-01T10:23:13Z", "2015-06-02T11:05:00Z"] * n)[:n],
                             "target": np.arange(n) % 2})
    notes = ingest(train_df, train_df.drop(columns="target"), IngestParams())["notes"].tolist()
    assert ("train.csv: column 'when' holds dates (%m/%d/%Y); its year, month, day, day of week, day of year, days "
            "since 1970 become features; read as %m/%d/%Y, though %d/%m/%Y fits them too: write the dates as "
            "YYYY-MM-DD to be sure") in notes
    assert ("train.csv: column 'stamp' holds dates (ISO 8601, times in UTC); its year, month, day, day of week, day "
            "of year, hour, minute, days since 1970 become features") in notes


def test_labels_that_look_like_numbers_with_dashes_stay_categories() -> None:
    train_df = pd.DataFrame({"kind": ["14-35-14", "10-26-26", "28-28", "17-17-17"] * 10, "target": [0, 1] * 20})
    out = ingest(train_df, train_df.drop(columns="target"), IngestParams())
    assert out["column_kinds"].tolist() == ["categorical"]


def test_test_cells_that_are_not_dates_in_trains_format_are_named() -> None:
    frame = loans(80)
    test_df = frame.drop(columns="status").head(5).copy()
    test_df.loc[3, "created_at"] = "yesterday"
    out = ingest(frame, test_df, IngestParams())
    assert ("test.csv: column 'created_at' has 1 cells that are not dates in its format (ISO8601; the first at "
            "line 5: 'yesterday'); treated as missing") in out["notes"].tolist()


# -- the K likeliest labels -------------------------------------------------------------------


def fertilizer(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array(["14-35-14", "10-26-26", "Urea", "DAP", "28-28"])
    soil = rng.integers(0, 5, n)
    noisy = np.where(rng.random(n) < 0.6, soil, rng.integers(0, 5, n))
    return pd.DataFrame({"id": np.arange(n), "Soil": np.array(list("ABCDE"))[soil],
                         "Moisture": rng.uniform(0, 1, n), "Fertilizer Name": names[noisy]})


def test_a_map3_sample_gets_three_distinct_labels_per_row_best_first(workdir: Path) -> None:
    answers = competition(workdir, fertilizer(400), "Fertilizer Name", {"Fertilizer Name": "14-35-14 10-26-26 Urea"})
    result = invoke("run-all", *QUICK)
    assert result.code == 0, result.output
    assert "scored by map@3; the submission holds the 3 likeliest labels per row, best first" in result.stdout
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert metrics["metric"] == "map@3" and metrics["score"] >= metrics["accuracy"]  # top-1 counts in full
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    cells = pd.read_csv("submissions/sub.csv")["Fertilizer Name"].str.split()
    assert cells.map(len).eq(3).all() and cells.map(lambda c: len(set(c)) == 3).all()
    assert set(cells.explode()) <= {"14-35-14", "10-26-26", "Urea", "DAP", "28-28"}
    first = cells.str[0] == answers["Fertilizer Name"]
    assert first.mean() > 0.5  # best first: the signal is in Soil


def test_map_at_k_scores_each_row_by_the_rank_of_its_truth() -> None:
    task = Task("multiclass", "map@3", "ranked")
    probs = np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]])
    # truth first, third, second, and not in the top 3
    assert task.score(np.array([0, 1, 1, 3]), probs) == pytest.approx((1 + 1 / 3 + 1 / 2 + 0) / 4)
    assert task.decide(probs).tolist() == [[0, 1, 2], [3, 2, 1], [0, 1, 2], [0, 1, 2]]


def test_a_sample_that_mixes_one_and_several_labels_is_refused() -> None:
    frame = fertilizer(40)
    sample = pd.DataFrame({"id": frame["id"], "Fertilizer Name": "Urea"})
    sample.loc[4, "Fertilizer Name"] = "Urea DAP 28-28"
    with pytest.raises(PipelineError, match=r"column 'Fertilizer Name' holds 1 label\(s\) at line 2 \('Urea'\) but 3 "
                                            r"at line 6 \('Urea DAP 28-28'\)"):
        ingest(frame, frame.drop(columns="Fertilizer Name"), IngestParams(), sample_submission=sample)


# -- several targets --------------------------------------------------------------------------


def enzymes(n: int, seed: int = 0) -> pd.DataFrame:
    """Two 0/1 targets from different features, and a third train-only column no one asks for."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    return pd.DataFrame({"id": np.arange(n), "a": a, "b": b, "c": c,
                         "EC1": (a + 0.3 * rng.normal(size=n) > 0).astype(int),
                         "EC2": (b + 0.3 * rng.normal(size=n) > 0.5).astype(int),
                         "EC3": (c > 0).astype(int)})


def test_two_targets_the_sample_names_each_get_a_model_and_a_column(workdir: Path) -> None:
    frame = enzymes(400)
    answers = frame.iloc[-60:].reset_index(drop=True)
    write_competition(workdir, frame.iloc[:-60], answers.drop(columns=["EC1", "EC2", "EC3"]),
                      pd.DataFrame({"id": answers["id"], "EC1": 0.5, "EC2": 0.5}))
    result = invoke("run-all", *QUICK)
    assert result.code == 0, result.output
    assert "2 targets, each its own task, scored by the mean of their scores:" in result.stdout
    assert "target 'EC2': binary, scored by auc; the submission holds the probability of '1'" in result.stdout
    assert "column 'EC3' is not in test.csv nor sample_submission.csv; not used" in result.stderr
    assert "train target 2/2: 'EC2'" in result.stdout
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert set(metrics["targets"]) == {"EC1", "EC2"}
    assert metrics["score"] == pytest.approx(np.mean(list(metrics["targets"].values())))
    assert Path("models/EC1").is_dir() and Path("models/EC2").is_dir() and Path("reports/t1-roc.png").exists()
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    sub = pd.read_csv("submissions/sub.csv")
    assert sub.columns.tolist() == ["id", "EC1", "EC2"]
    assert roc_auc_score(answers["EC1"], sub["EC1"]) > 0.8 and roc_auc_score(answers["EC2"], sub["EC2"]) > 0.8
    assert re.search(r"│ EC1 0\.\d{4}, EC2 0\.\d{4} *│", invoke("runs").stdout)
    answers.drop(columns=["EC1", "EC2", "EC3"]).to_csv("new.csv", index=False)
    assert invoke("predict", "--input", "new.csv", "--out", "preds.csv").code == 0
    assert pd.read_csv("preds.csv").columns.tolist() == ["id", "EC1", "EC2"]

    # named in another order, the columns still follow the sample's header
    assert invoke("run-all", *QUICK, *HGB, "--label-column", "EC2,EC1").code == 0
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    swapped = pd.read_csv("submissions/sub.csv")
    assert swapped.columns.tolist() == ["id", "EC1", "EC2"] and roc_auc_score(answers["EC1"], swapped["EC1"]) > 0.8
    assert invoke("clean").code == 0 and not Path("models/EC1").exists()


def test_a_label_column_that_test_has_too_is_refused(workdir: Path) -> None:
    frame = enzymes(100)
    write_competition(workdir, frame, frame.drop(columns=["EC1", "EC2"]))
    result = invoke("ingest", "--label-column", "EC1,EC3")
    assert result.code == 2 and ("test.csv has the column 'EC3' too, so it is not a target (a target is what "
                                 "test.csv lacks)") in result.stderr


# -- metrics that need their own decision ----------------------------------------------------


def test_binary_f1_labels_come_from_the_threshold_best_on_validation(workdir: Path) -> None:
    frame = loans(500).drop(columns="created_at")
    frame["status"] = frame["status"].map({"bad": 1, "good": 0})
    competition(workdir, frame, "status", {"status": 0})
    result = invoke("run-all", *QUICK, *HGB, "--metric", "f1")
    assert result.code == 0, result.output
    assert "labels ('1' is the positive class, at the threshold that maximises F1 on validation)" in result.stdout
    metrics = json.loads(Path("reports/metrics.json").read_text())
    threshold = metrics["cuts"][0]
    assert 0 < threshold < 1
    with np.load("data/processed/validate.npz") as validated:
        positive = validated["probs"][:, 1]
        assert (validated["confusion"][:, 1].sum() == (positive >= threshold).sum())
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    with np.load("data/processed/predict.npz") as predicted:
        expected = (predicted["predictions"][:, 1] >= threshold).astype(int)
    np.testing.assert_array_equal(pd.read_csv("submissions/sub.csv")["status"], expected)


def test_the_f1_threshold_beats_one_half_where_the_positive_class_is_rare() -> None:
    truth = np.array([0] * 90 + [1] * 10)
    probability = np.r_[np.linspace(0, 0.35, 90), np.linspace(0.3, 0.45, 10)]  # positives never reach 0.5
    task = Task("binary", "f1", "label", "1")
    cuts = task.fit_cuts(truth, np.c_[1 - probability, probability])
    probs = np.c_[1 - probability, probability]
    assert cuts[0] < 0.5
    assert task.score(truth, probs, cuts) > 0.75 and task.score(truth, probs, np.array([0.5])) == 0


def test_qwk_learns_ordered_classes_as_a_number_cut_where_kappa_is_best() -> None:
    rng = np.random.default_rng(0)
    n = 600
    x = rng.uniform(0, 4, n)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "grade": np.clip(np.round(x + rng.normal(0, 0.4, n)), 0, 4)
                          .astype(int) * 2})  # classes 0, 2, 4, 6, 8: ordered, gapped
    data = ingest(frame, frame.drop(columns="grade"), IngestParams(metric="qwk"))
    task = Task.from_arrays(data)
    assert task.learns_numbers and task.output == "label" and data["classes"].tolist() == [0, 2, 4, 6, 8]
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2), task)
    model = train(data["X"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(5), TrainParams(model="hgb"), task=task,
                  schema=Schema.from_arrays(data))
    cuts = model["cuts"]
    assert len(cuts) == 4 and np.all(np.diff(cuts) > 0)
    from pipeline.models import predict_proba

    values = predict_proba(model, data["X"][idx["val_idx"]], final=False)
    truth = data["y"][idx["val_idx"]]
    rounded = np.array([0.5, 1.5, 2.5, 3.5])
    assert task.score(truth, values, cuts) >= task.score(truth, values, rounded) > 0.8


def test_a_qwk_submission_holds_the_classes_cut_from_the_number(workdir: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 4, 300)
    frame = pd.DataFrame({"id": np.arange(300), "x": x, "grade": np.clip(np.round(x + rng.normal(0, 0.3, 300)), 0, 4)
                          .astype(int) + 1})
    answers = competition(workdir, frame, "grade", {"grade": 1})
    result = invoke("run-all", *QUICK, *HGB, "--metric", "qwk")
    assert result.code == 0, result.output
    assert "scored by qwk; the submission holds labels (learned as a number, cut at thresholds" in result.stdout
    assert invoke("predict", "--out", "submissions/sub.csv").code == 0
    sub = pd.read_csv("submissions/sub.csv")
    assert set(sub["grade"]) <= {1, 2, 3, 4, 5} and (sub["grade"] == answers["grade"]).mean() > 0.6


def test_qwk_on_text_classes_is_refused() -> None:
    frame = fertilizer(40)
    with pytest.raises(PipelineError, match="--metric qwk scores ordered whole-number classes"):
        ingest(frame, frame.drop(columns="Fertilizer Name"), IngestParams(metric="qwk"))


def test_mae_is_what_boosting_and_the_network_minimise() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(0, 1, 200), "y": rng.standard_cauchy(200) * 10})  # outliers: MAE's case
    for metric, boosting_loss, network_loss in (("mae", "absolute_error", "mean_absolute_error"),
                                                ("rmse", "squared_error", "mean_squared_error")):
        data = ingest(frame, frame.drop(columns="y"), IngestParams(metric=metric))
        task = Task.from_arrays(data)
        idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2), task)
        model = train(data["X"], data["y"], idx["train_idx"], idx["val_idx"], np.zeros(0), TrainParams(model="hgb"), task=task,
                      schema=Schema.from_arrays(data))
        assert pickle.loads(model["member0_pickle"].tobytes()).loss == boosting_loss
        schema = Schema.from_arrays(data)
        spec = tabular.spec(schema.feature_names, schema.feature_kinds, {}, data["X"], data["y"])
        net, _, _ = fit_keras(get("mlp").build, data["X"], data["y"].astype(np.float32), idx["train_idx"], None, 1,
                              TrainParams(batch_size=64), 0.0, 0, Plan(1, None, None, None, task=task, spec=spec))
        assert net.loss == network_loss
