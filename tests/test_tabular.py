"""Tables: the column schema, the task and its metric, and whole competitions of each kind
through the CLI (Titanic-style labels, probabilities for AUC, one probability per class,
a regression scored by RMSLE), on tiny generated data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_competition
from pipeline.config import IngestParams, SplitParams, TrainParams
from pipeline.errors import PipelineError
from pipeline.learners import TABLE, TEXT, get
from pipeline.learners.blend import select
from pipeline.schema import Schema
from pipeline.stages.ingest import ingest
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.stages.validate import validate
from pipeline.task import Task
from test_cli import invoke

TABLE_SHAPE, IMAGE_SHAPE = np.zeros(0, np.int64), np.array([8, 8, 1])  # preprocess's image_shape of each

QUICK = ["--epochs", "2", "--batch-size", "32"]


def passengers(n: int, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """Titanic-like rows: a unique PassengerId, a Name (free text with titles), Sex, Age with
    gaps, a Pclass, Embarked with gaps, a ticket date; Survived follows Sex, class and age."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n)
    title = np.where(sex == "male", rng.choice(["Mr", "Master"], n, p=[0.9, 0.1]), rng.choice(["Mrs", "Miss"], n))
    age = rng.uniform(1, 70, n).round()
    age[rng.random(n) < 0.2] = np.nan
    pclass = rng.integers(1, 4, n)
    chance = 0.2 + 0.55 * (sex == "female") - 0.1 * (pclass - 2)
    return pd.DataFrame({
        "PassengerId": np.arange(first_id, first_id + n),
        "Name": [f"Family{i}, {t}. Given{i % 97}" for i, t in enumerate(title)],
        "Sex": sex,
        "Age": age,
        "Pclass": pclass,
        "Embarked": rng.choice(["S", "C", "Q", None], n, p=[0.6, 0.2, 0.15, 0.05]),
        "Booked": pd.date_range("1912-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "Survived": (rng.random(n) < chance).astype(int),
    })


def houses(n: int, seed: int = 0) -> pd.DataFrame:
    """House-Prices-like rows: a strictly positive, skewed SalePrice from the area, a quality
    grade (text) and a neighbourhood, with gaps in the area."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(50, 300, n)
    quality = rng.choice(["Po", "Fa", "TA", "Gd", "Ex"], n)
    hood = rng.choice([f"N{i}" for i in range(8)], n)
    price = np.exp(10 + area / 150 + pd.Series(quality).map({"Po": 0, "Fa": 0.2, "TA": 0.4, "Gd": 0.7, "Ex": 1}).to_numpy()
                   + rng.normal(0, 0.1, n))
    area[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"Id": np.arange(1, n + 1), "LotArea": area, "Quality": quality, "Hood": hood,
                         "SalePrice": price.round()})


def test_the_schema_reads_each_kind_of_column_and_keeps_gaps() -> None:
    train_df = passengers(120)
    test_df = passengers(10, seed=1, first_id=500).drop(columns="Survived")
    test_df.loc[0, "Embarked"] = "X"  # a port train.csv never saw
    out = ingest(train_df, test_df, IngestParams())
    schema = Schema.from_arrays(out)
    kinds = dict(zip(schema.columns, schema.kinds))
    assert kinds == {"Name": "text", "Sex": "categorical", "Age": "numeric", "Pclass": "numeric",
                     "Embarked": "categorical", "Booked": "datetime"}
    assert "PassengerId" not in schema.columns and str(out["id_column"]) == "PassengerId"
    assert {"Name_mr", "Name_miss", "Booked_year", "Booked_dayofweek"} <= set(out["feature_names"])
    names = out["feature_names"].tolist()
    age = names.index("Age")
    np.testing.assert_array_equal(np.isnan(out["X"][:, age]), train_df["Age"].isna())  # gaps stay gaps
    embarked = names.index("Embarked")
    assert np.isnan(out["X_test"][0, embarked])  # unseen: unknown, not an error
    notes = " | ".join(out["notes"])
    assert "'PassengerId' is the id column of test.csv" in notes
    assert "'Name' is free text" in notes and "'Embarked' (1) holds categories train.csv never has" in notes
    assert (str(out["task"]), str(out["metric"]), str(out["output"])) == ("binary", "accuracy", "label")


def test_a_column_numeric_in_train_but_text_in_test_names_the_cell() -> None:
    train_df = passengers(40)
    test_df = passengers(5, first_id=100).drop(columns="Survived")
    test_df["Age"] = test_df["Age"].astype(object)
    test_df.loc[3, "Age"] = "forty"
    with pytest.raises(PipelineError, match="test.csv: column 'Age', line 5 holds 'forty', not a number; it holds "
                                            "numbers in train.csv"):
        ingest(train_df, test_df, IngestParams())


def test_rows_without_a_target_are_left_out_with_a_note() -> None:
    train_df = passengers(40).astype({"Survived": float})
    train_df.loc[[3, 7], "Survived"] = np.nan
    out = ingest(train_df, train_df.drop(columns="Survived"), IngestParams())
    assert len(out["y"]) == 38
    assert "2 rows have no 'Survived' (the first at line 5); left out of training" in " ".join(out["notes"])


@pytest.mark.parametrize(("sample_values", "classes", "expected"), [
    ({"Survived": 0}, ("no", "yes"), ("binary", "accuracy", "label")),
    ({"Survived": 0.5}, (0, 1), ("binary", "auc", "probability")),
    ({"Adelie": 1 / 3, "Gentoo": 1 / 3, "Chinstrap": 1 / 3}, ("Adelie", "Chinstrap", "Gentoo"),
     ("multiclass", "logloss", "probabilities")),
])
def test_the_metric_and_the_output_follow_the_sample(sample_values: dict, classes: tuple, expected: tuple) -> None:
    train_df = passengers(60)
    train_df["Survived"] = np.array(classes)[np.arange(60) % len(classes)]
    test_df = passengers(6, first_id=900).drop(columns="Survived")
    sample = pd.DataFrame({"PassengerId": test_df["PassengerId"][::-1], **sample_values})
    out = ingest(train_df, test_df, IngestParams(), sample_submission=sample)
    assert (str(out["task"]), str(out["metric"]), str(out["output"])) == expected
    if expected[2] == "probabilities":
        assert out["class_columns"].tolist() == ["Adelie", "Gentoo", "Chinstrap"]  # the sample's order


def test_a_positive_skewed_target_is_a_regression_scored_by_rmsle() -> None:
    train_df = houses(200)
    out = ingest(train_df, train_df.drop(columns="SalePrice"), IngestParams())
    assert (str(out["task"]), str(out["metric"]), str(out["output"])) == ("regression", "rmsle", "number")
    assert out["classes"].size == 0 and out["y"].dtype == np.float64
    assert "scored by RMSLE and learned as its logarithm" in " ".join(out["notes"])
    out = ingest(train_df, train_df.drop(columns="SalePrice"), IngestParams(metric="mae"))
    assert str(out["metric"]) == "mae"


def test_whole_number_targets_are_classes_unless_the_sample_asks_for_a_number() -> None:
    train_df = houses(120).assign(Rooms=lambda f: (f["LotArea"].fillna(100) // 40).astype(int)).drop(columns="SalePrice")
    test_df = houses(6, seed=1).drop(columns="SalePrice")
    assert str(ingest(train_df, test_df, IngestParams())["task"]) == "multiclass"
    sample = pd.DataFrame({"Id": test_df["Id"], "Rooms": 3.47})  # the training mean: a number is wanted
    out = ingest(train_df, test_df, IngestParams(), sample_submission=sample)
    assert (str(out["task"]), str(out["output"])) == ("regression", "number")


@pytest.mark.parametrize(("params", "message"), [
    (IngestParams(metric="auc"), "--metric auc does not fit a regression task; use one of rmse, rmsle, mae, r2"),
    (IngestParams(task="binary"), "--task binary, but column 'SalePrice' holds"),
])
def test_a_metric_or_task_that_does_not_fit_is_an_error(params: IngestParams, message: str) -> None:
    train_df = houses(50)
    with pytest.raises(PipelineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest(train_df, train_df.drop(columns="SalePrice"), params)


def test_a_sample_that_does_not_match_test_is_caught_at_ingest() -> None:
    train_df = passengers(30)
    test_df = passengers(4, first_id=100).drop(columns="Survived")
    with pytest.raises(PipelineError, match="sample_submission.csv has 3 rows but test.csv has 4"):
        ingest(train_df, test_df, IngestParams(), sample_submission=pd.DataFrame({"PassengerId": [100, 101, 102], "Survived": 0}))
    with pytest.raises(PipelineError, match="id '7' at line 3 is not a test.csv id"):
        ingest(train_df, test_df, IngestParams(),
               sample_submission=pd.DataFrame({"PassengerId": [100, 7, 102, 103], "Survived": 0}))


def test_a_regression_split_spans_the_target_range_on_both_sides() -> None:
    y = np.exp(np.random.default_rng(0).normal(size=400))
    task = Task("regression", "rmse", "number")
    out = split(y, np.zeros(0), SplitParams(val_fraction=0.2, seed=3), task)
    val = y[out["val_idx"]]
    assert len(val) == 80 and len(np.intersect1d(out["train_idx"], out["val_idx"])) == 0
    deciles = np.quantile(y, np.linspace(0, 1, 11))
    assert np.all(np.histogram(val, deciles)[0] == 8)  # 8 of each tenth of the target's range
    np.testing.assert_array_equal(out["val_idx"], split(y, np.zeros(0), SplitParams(val_fraction=0.2, seed=3),
                                                        task)["val_idx"])


def test_a_table_trains_a_network_and_boosting_and_keeps_what_scores_best() -> None:
    train_df = passengers(300)
    data = ingest(train_df, train_df.drop(columns="Survived"), IngestParams(metric="logloss"))
    task, schema = Task.from_arrays(data), Schema.from_arrays(data)
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2), task)
    x = data["X"]
    model = train(x, data["y"], idx["train_idx"], idx["val_idx"], np.arange(2), TrainParams(epochs=3, batch_size=32),
                  task=task, schema=schema)
    scores = dict(zip(model["candidates"].tolist(), model["candidate_scores"].tolist()))
    assert set(scores) == {*TABLE, "blend"}
    assert str(model["arch"]) == min(scores, key=scores.get)  # log loss: lower is better
    out = validate(x, data["y"], idx["val_idx"], model, data["classes"], task=task,
                   feature_columns=data["feature_columns"])
    assert str(out["metric"]) == "logloss" and float(out["score"]) == pytest.approx(scores[str(model["arch"])], rel=1e-4)
    assert out["importance_columns"].tolist() == ["Name", "Sex", "Age", "Pclass", "Embarked", "Booked"]
    assert out["importance_columns"][int(np.argmax(out["importance_mean"]))] in ("Sex", "Name")  # the signal


def test_titanic_style_competition_runs_with_no_options(workdir: Path) -> None:
    train_df = passengers(200)
    test_df = passengers(50, seed=1, first_id=1001).drop(columns="Survived")
    write_competition(workdir, train_df, test_df, pd.DataFrame({"PassengerId": test_df["PassengerId"], "Survived": 0}))
    first = invoke("run-all", *QUICK)
    assert first.code == 0, first.output
    assert "fold 5/5 gradient boosting" in first.output and "200 held-out rows" in first.output  # every row, out of fold
    assert "5 stratified folds of about 40 rows: every model trains 5 times" in first.output
    assert "task: binary, scored by accuracy; the submission holds labels" in first.output
    assert "'Name' is free text" in first.output and "kept " in first.output
    metrics = json.loads(Path("reports/metrics.json").read_text())
    # Name is text: the text model, and boosting stacked on it too
    assert metrics["metric"] == "accuracy"
    assert set(metrics["candidates"]) == {*TABLE, *TEXT, "hgb+text", "cat+text", "blend"}
    assert metrics["score"] == pytest.approx(max(metrics["candidates"].values()), rel=1e-5)
    board = metrics["leaderboard"]  # best first, the kept one marked, with its spread over folds and its time
    assert [row["score"] for row in board] == sorted((row["score"] for row in board), reverse=True)
    assert board[0]["kept"] and sum(row["kept"] for row in board) == 1
    assert all(row["spread"] >= 0 and row["seconds"] > 0 for row in board)
    assert "leaderboard" in first.stdout and "accuracy (out of fold)" in first.stdout
    assert "<th>± over folds</th>" in Path("reports/index.html").read_text()
    assert Path("reports/roc.png").exists() and Path("reports/feature_importance.png").exists()
    pred = invoke("predict", *QUICK, "--out", "submissions/sub.csv")
    assert pred.code == 0, pred.output
    sub = pd.read_csv("submissions/sub.csv")
    assert sub.columns.tolist() == ["PassengerId", "Survived"]
    assert sub["PassengerId"].tolist() == test_df["PassengerId"].tolist() and set(sub["Survived"]) <= {0, 1}


def test_an_auc_competition_gets_probabilities_in_the_sample_order(workdir: Path) -> None:
    train_df = passengers(200).rename(columns={"PassengerId": "id"})
    test_df = passengers(40, seed=2, first_id=5000).rename(columns={"PassengerId": "id"}).drop(columns="Survived")
    sample = pd.DataFrame({"id": test_df["id"][::-1], "Survived": 0.5})
    write_competition(workdir, train_df, test_df, sample)
    assert invoke("run-all", *QUICK).code == 0
    pred = invoke("predict", *QUICK, "--out", "submissions/sub.csv")
    assert pred.code == 0, pred.output
    sub = pd.read_csv("submissions/sub.csv")
    assert sub["id"].tolist() == sample["id"].tolist()
    assert sub["Survived"].between(0, 1).all() and sub["Survived"].nunique() > 2  # probabilities, not labels


def test_a_multiclass_competition_gets_one_probability_column_per_class(workdir: Path) -> None:
    train_df = passengers(240)
    train_df["Survived"] = np.array(["low", "mid", "high"])[train_df["Pclass"] - 1]
    train_df = train_df.rename(columns={"Survived": "Deck"})
    test_df = passengers(30, seed=3, first_id=800).drop(columns="Survived")
    sample = pd.DataFrame({"PassengerId": test_df["PassengerId"], "Deck_high": 1 / 3, "Deck_low": 1 / 3,
                           "Deck_mid": 1 / 3})
    write_competition(workdir, train_df, test_df, sample)
    result = invoke("run-all", *QUICK)
    assert result.code == 0, result.output
    assert "scored by logloss; the submission holds one probability per class" in result.output
    assert invoke("predict", *QUICK, "--out", "submissions/sub.csv").code == 0
    sub = pd.read_csv("submissions/sub.csv")
    assert sub.columns.tolist() == ["PassengerId", "Deck_high", "Deck_low", "Deck_mid"]
    np.testing.assert_allclose(sub.iloc[:, 1:].sum(axis=1), 1, atol=1e-4)
    assert (sub["Deck_low"][test_df["Pclass"].to_numpy() == 1] > 0.5).mean() > 0.8  # Pclass decides it


def test_greedy_selection_blends_models_whose_errors_cancel_and_keeps_a_dominant_one_alone() -> None:
    truth = np.linspace(0, 1, 200)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, 200)
    predictions = {"high": truth + 0.2 + noise, "low": truth - 0.2 + noise, "noisy": truth + 3 * noise}

    def rmse(p: np.ndarray) -> float:
        return float(np.sqrt(np.mean((p - truth) ** 2)))

    weights, score = select(predictions, rmse, lambda a, b: a < b)
    assert weights["high"] == pytest.approx(weights["low"], abs=0.1) and sum(weights.values()) == pytest.approx(1)
    blended = sum(w * predictions[n] for n, w in weights.items())
    assert score == pytest.approx(rmse(blended)) and score < min(rmse(p) for p in predictions.values())
    alone, alone_score = select({"good": truth + noise / 10, "bad": truth + 1.0}, rmse, lambda a, b: a < b)
    assert alone == {"good": 1.0} and alone_score == rmse(truth + noise / 10)


def test_a_blends_estimators_are_exported_in_one_pickle_that_predicts_the_encoded_rows(tmp_path: Path) -> None:
    import pickle

    from pipeline.models import export, predict_proba

    frame = houses(200)
    data = ingest(frame, frame.drop(columns="SalePrice"), IngestParams())
    task, schema = Task.from_arrays(data), Schema.from_arrays(data)
    idx = split(data["y"], data["classes"], SplitParams(folds=3), task, image_shape=TABLE_SHAPE)
    x = data["X"]
    model = train(x, data["y"], idx["train_idx"], idx["val_idx"], np.zeros(0), TrainParams(epochs=2, batch_size=32),
                  task=task, schema=schema, folds=idx["folds"])
    assert str(model["arch"]) == "blend", model["candidate_scores"]  # houses: several models share the blend
    assert export(model, tmp_path).name in ("model.keras", "model.pkl")
    estimators = pickle.loads((tmp_path / "model.pkl").read_bytes())
    parts = [p for p in model["blend_parts"].tolist() if p != "mlp"]
    by_name = estimators if isinstance(estimators, dict) else {parts[0]: estimators}
    assert sorted(by_name) == sorted(parts) and all(len(folds) == 3 for folds in by_name.values())
    weights = dict(zip(model["blend_parts"].tolist(), model["blend_weights"].tolist()))
    mean = sum(weights[name] * np.mean([f.predict(x[:5]) for f in folds], axis=0) for name, folds in by_name.items())
    if "mlp" not in weights:  # the pickled estimators alone give the blend's prediction
        np.testing.assert_allclose(mean, predict_proba(model, x[:5])[:, 0], rtol=1e-5)


def test_a_house_prices_regression_predicts_prices_and_the_model_takes_raw_columns(workdir: Path) -> None:
    frame = houses(300)
    train_df, test_df = frame.iloc[:240], frame.iloc[240:].drop(columns="SalePrice")
    write_competition(workdir, train_df, test_df, pd.DataFrame({"Id": test_df["Id"], "SalePrice": 180000}))
    result = invoke("run-all", *QUICK)
    assert result.code == 0, result.output
    assert "task: regression, scored by rmsle; the submission holds numbers" in result.output
    assert Path("reports/predicted_vs_actual.png").exists() and Path("reports/residuals.png").exists()
    metrics = json.loads(Path("reports/metrics.json").read_text())
    assert metrics["metric"] == "rmsle" and metrics["score"] < 0.4  # within about 40% of the price
    assert invoke("predict", *QUICK, "--out", "submissions/sub.csv").code == 0
    sub = pd.read_csv("submissions/sub.csv")
    truth = frame["SalePrice"].iloc[240:].to_numpy()
    assert sub.columns.tolist() == ["Id", "SalePrice"] and (sub["SalePrice"] > 0).all()
    assert np.sqrt(np.mean((np.log1p(sub["SalePrice"]) - np.log1p(truth)) ** 2)) < 0.4

    # the same table with the network alone: models/model.keras takes the raw columns by name
    assert invoke("train", "--epochs", "40", "--batch-size", "32", "--model", "mlp").code == 0
    import tensorflow as tf

    from pipeline import tabular
    from pipeline.keras_env import load_keras

    keras = load_keras()
    model = keras.models.load_model("models/model.keras", custom_objects=tabular.custom_objects())
    raw = {"LotArea": tf.constant([[120.0], [float("nan")]]), "Quality": tf.constant([["Ex"], ["Po"]]),
           "Hood": tf.constant([["N1"], ["never seen"]])}
    log_prices = model.predict(raw, verbose=0)[:, 0]
    assert np.isfinite(log_prices).all() and log_prices[0] > log_prices[1]  # Ex beats Po


def test_predict_input_encodes_a_new_file_with_the_training_schema(workdir: Path) -> None:
    train_df = passengers(150)
    write_competition(workdir, train_df, passengers(20, seed=4, first_id=300).drop(columns="Survived"))
    assert invoke("run-all", *QUICK).code == 0
    new = passengers(7, seed=5, first_id=9000).drop(columns=["Survived", "Booked"])
    new.to_csv("new.csv", index=False)
    missing = invoke("predict", *QUICK, "--input", "new.csv", "--out", "preds.csv")
    assert missing.code == 2 and "new.csv: feature column 'Booked' of train.csv is missing" in missing.stderr
    new["Booked"] = "1913-05-01"
    new.to_csv("new.csv", index=False)
    result = invoke("predict", *QUICK, "--input", "new.csv", "--out", "preds.csv")
    assert result.code == 0, result.output
    preds = pd.read_csv("preds.csv")
    assert preds.columns.tolist() == ["PassengerId", "Survived"] and preds["PassengerId"].tolist() == list(range(9000, 9007))


# -- folds ------------------------------------------------------------------------------------


def test_a_table_gets_five_stratified_folds_and_images_one_split() -> None:
    y = np.array([0] * 80 + [1] * 20)
    out = split(y, np.array([0, 1]), SplitParams(), Task("binary", "accuracy", "label"), image_shape=TABLE_SHAPE)
    folds = out["folds"]
    assert sorted(np.bincount(folds)) == [20] * 5 and all(np.bincount(y[folds == f]).tolist() == [16, 4] for f in range(5))
    np.testing.assert_array_equal(out["val_idx"], np.flatnonzero(folds == 0))  # fold 0 is the validation rows
    np.testing.assert_array_equal(out["train_idx"], np.flatnonzero(folds != 0))
    again = split(y, np.array([0, 1]), SplitParams(), Task("binary", "accuracy", "label"), image_shape=TABLE_SHAPE)
    np.testing.assert_array_equal(again["folds"], folds)
    assert len(np.unique(split(y, np.array([0, 1]), SplitParams(folds=3), image_shape=TABLE_SHAPE)["folds"])) == 3
    assert "folds" not in split(y, np.array([0, 1]), SplitParams(), image_shape=IMAGE_SHAPE)  # images: one split
    assert "folds" not in split(y, np.array([0, 1]), SplitParams(folds=1), image_shape=TABLE_SHAPE)
    with pytest.raises(PipelineError, match="--folds 3 is for tables"):
        split(y, np.array([0, 1]), SplitParams(folds=3), image_shape=IMAGE_SHAPE)


def test_a_regressions_folds_each_span_the_targets_range() -> None:
    y = np.exp(np.random.default_rng(0).normal(size=500))
    folds = split(y, np.zeros(0), SplitParams(), Task("regression", "rmse", "number"), image_shape=TABLE_SHAPE)["folds"]
    deciles = np.quantile(y, np.linspace(0, 1, 11))
    for f in range(5):
        assert np.all(np.histogram(y[folds == f], deciles)[0] == 10)  # 10 of each tenth in each fold of 100


def test_folds_train_a_model_each_and_judge_every_row_out_of_fold() -> None:
    train_df = passengers(300)
    data = ingest(train_df, train_df.drop(columns="Survived"), IngestParams(metric="auc"))
    task, schema = Task.from_arrays(data), Schema.from_arrays(data)
    idx = split(data["y"], data["classes"], SplitParams(), task, image_shape=TABLE_SHAPE)
    x, y = data["X"], data["y"]
    model = train(x, y, idx["train_idx"], idx["val_idx"], np.arange(2), TrainParams(epochs=2, batch_size=32), task=task,
                  schema=schema, folds=idx["folds"])
    scores = dict(zip(model["candidates"].tolist(), model["candidate_scores"].tolist()))
    assert str(model["arch"]) == max(scores, key=scores.get) and model["oof"].shape == (300, 2)
    # an estimator's five fold models, and each row's prediction is from the one that did not train on it
    kept = str(model["arch"])
    name = kept if kept != "blend" else next(p for p in model["blend_parts"].tolist() if p != "mlp")
    estimator = model if kept != "blend" else {k[len(name) + 1:]: v for k, v in model.items() if k.startswith(f"{name}/")}
    nets = get(name).nets(estimator)
    assert len(nets) == 5 and not any(k.startswith("refit") for k in estimator)
    fold = idx["folds"] == 3
    held_out = nets[3].predict_proba(x[fold])
    assert not np.allclose(held_out, np.mean([net.predict_proba(x[fold]) for net in nets], axis=0))
    if kept == name:
        np.testing.assert_allclose(model["oof"][fold], held_out, rtol=1e-5)
    out = validate(x, y, idx["val_idx"], model, data["classes"], task=task, feature_columns=data["feature_columns"])
    assert int(out["n_val"]) == 300 and float(out["score"]) == pytest.approx(scores[str(model["arch"])], rel=1e-5)
    assert out["importance_columns"][int(np.argmax(out["importance_mean"]))] in ("Sex", "Name")
    again = train(x, y, idx["train_idx"], idx["val_idx"], np.arange(2), TrainParams(epochs=2, batch_size=32), task=task,
                  schema=schema, folds=idx["folds"])
    assert set(again) == set(model)  # the same seed, the same models (only the time they took differs)
    assert all(np.array_equal(again[k], model[k]) for k in model if k not in ("candidate_seconds", "images_seconds"))
    # the network's rows per second are over its own seconds, not the other learners' too
    seconds = dict(zip(model["candidates"].tolist(), model["candidate_seconds"].tolist()))
    assert float(model["images_seconds"]) == pytest.approx(seconds["mlp"])
    assert seconds["mlp"] < sum(seconds.values()) - seconds["blend"]
