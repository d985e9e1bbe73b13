"""Text columns as text: their strings through the cache, the text learner beside the others,
and the inputs a user can get wrong."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from conftest import write_competition
from pipeline import models, tabular, texts
from pipeline.config import IngestParams, SplitParams, TrainParams
from pipeline.learners import TABLE, TEXT
from pipeline.learners.base import spec_of
from pipeline.schema import Schema
from pipeline.stages.ingest import ingest
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.task import Task
from test_cli import FAST, invoke

GOOD = "superb lovely wonderful great delightful charming excellent".split()
BAD = "awful dreadful boring terrible clumsy broken dull".split()
FILLER = "the a this it was and product really very of".split()


def reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """Short reviews whose words give the class away (and a price that does not)."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, n)
    words = [" ".join(rng.choice(FILLER, 6).tolist() + rng.choice(GOOD if t else BAD, 2).tolist()) for t in target]
    return pd.DataFrame({"id": np.arange(n), "price": rng.normal(50, 10, n).round(2),
                         "review": [w.capitalize() + "!" for w in words], "target": target})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.text(), min_size=2, max_size=2), min_size=1, max_size=20))
def test_packed_strings_come_back_as_they_were(cells: list[list[str]]) -> None:
    text = np.array(cells, dtype=object).reshape(len(cells), 2)
    text = np.vectorize(lambda s: s.replace(texts.SEPARATOR, " "), otypes=[object])(text)
    back = texts.unpack(texts.pack(text), 2)
    assert back is not None and back.shape == text.shape and back.tolist() == text.tolist()


def test_ingest_keeps_the_text_and_an_empty_cell_is_an_empty_string() -> None:
    frame = reviews(120)
    frame.loc[3, "review"] = None
    out = ingest(frame, frame.drop(columns="target"), IngestParams())
    assert out["text_columns"].tolist() == ["review"]
    text = texts.train_of(out)
    assert text is not None and text.shape == (120, 1)
    assert text[3, 0] == "" and text[4, 0] == frame.loc[4, "review"]
    assert texts.test_of(out)[5, 0] == frame.loc[5, "review"]


def test_a_text_column_of_numbers_in_test_csv_is_one_clear_error() -> None:
    frame = reviews(120)
    test = frame.drop(columns="target").assign(review=np.arange(120))
    with pytest.raises(Exception, match="test.csv: column 'review' holds only numbers, where train.csv holds text"):
        ingest(frame, test, IngestParams())


def many_words(n: int, seed: int, filler: bool = True) -> pd.DataFrame:
    """Reviews of many words of each kind, so that the 20 most frequent words (the table's own
    view of the text) hold few of them: only a model that reads the text tells the class."""
    rng = np.random.default_rng(seed)
    good, bad = ([f"{stem}{i}" for i in range(40)] for stem in ("good", "bad"))
    return reviews(n, seed).assign(review=lambda f: [
        " ".join([*(rng.choice(FILLER, 6) if filler else []), *rng.choice(good if t else bad, 2)])
        for t in f["target"]])


def trained(frame: pd.DataFrame, model: str, epochs: int = 2) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Ingest's arrays of `frame` (also its test rows) and `model` trained on 3 folds of them, for AUC."""
    data = ingest(frame, frame.drop(columns="target"), IngestParams(metric="auc"))
    task = Task.from_arrays(data)
    idx = split(data["y"], data["classes"], SplitParams(folds=3), task, image_shape=np.zeros(0, np.int64))
    return data, train(data["X"], data["y"], idx["train_idx"], idx["val_idx"], data["classes"],
                       TrainParams(epochs=epochs, batch_size=32, model=model), task=task,
                       schema=Schema.from_arrays(data), folds=idx["folds"], text=texts.train_of(data))


def test_the_text_learner_joins_the_blend_and_boosting_reads_its_score() -> None:
    frame = many_words(400, seed=3)
    data, model = trained(frame, "auto")
    scores = dict(zip(model["candidates"], model["candidate_scores"]))
    assert set(scores) == {*TABLE, *TEXT, "hgb+text", "cat+text", "blend"}
    assert scores["text"] > 0.9  # the words decide the class; the price is noise
    # boosting on the table (its 20 word columns included) against boosting on the text model's score too
    assert scores["hgb"] < 0.8 < scores["hgb+text"] and scores["cat"] < 0.8 < scores["cat+text"]
    assert str(model["arch"]) == "blend" and "text" in model["blend_parts"].tolist()
    stacked = [str(name) for name in model["blend_parts"] if str(name).endswith("+text")]
    assert stacked and all(str(model[f"{name}/stacked_on"]) == "text" for name in stacked)
    # predicting feeds the stacked parts the text model's score: the blend ranks new rows by their words
    new = many_words(200, seed=9, filler=False)
    out = ingest(frame, new.drop(columns="target"), IngestParams(metric="auc"))
    predicted = models.predict_proba(model, out["X_test"], text=texts.test_of(out))
    assert roc_auc_score(new["target"], predicted[:, 1]) > 0.9


def test_the_network_reads_the_text_and_its_model_keras_takes_it(tmp_path: Path) -> None:
    import keras

    frame = many_words(400, seed=4)
    data, model = trained(frame, "mlp", epochs=15)
    assert roc_auc_score(data["y"], model["oof"][:, 1]) > 0.9  # without the text, the price and 20 words: ~0.5
    assert "good7" in model["spec_text_vocabulary"].tolist()
    new = many_words(100, seed=10, filler=False)
    out = ingest(frame, new.drop(columns="target"), IngestParams(metric="auc"))
    predicted = models.predict_proba(model, out["X_test"], text=texts.test_of(out))
    assert roc_auc_score(new["target"], predicted[:, 1]) > 0.9
    net = keras.models.load_model(models.export(model, tmp_path), custom_objects=tabular.custom_objects())
    assert "review" in [i.name for i in net.inputs]
    columns = tabular.dataset(spec_of(model), out["X_test"], text=texts.test_of(out)).batch(64)
    np.testing.assert_allclose(net.predict(columns, verbose=0), predicted, atol=1e-5)


def test_run_all_predict_and_predict_input_read_text(workdir: Path) -> None:
    frame = reviews(240, seed=1)
    write_competition(workdir, frame.iloc[:200], frame.iloc[200:].drop(columns="target"))
    quick = [*FAST, "--model", "text"]  # the whole blend trains in the test above
    assert invoke("run-all", *quick).code == 0
    result = invoke("predict", *quick, "--out", "submissions/sub.csv")
    assert result.code == 0, result.output
    sub = pd.read_csv("submissions/sub.csv")
    accuracy = (sub["target"].to_numpy() == frame.iloc[200:]["target"].to_numpy()).mean()
    assert accuracy > 0.9, accuracy
    metrics = json.loads(Path("reports/metrics.json").read_text())
    pushing = {label: " ".join(term for term, _ in terms) for label, terms in metrics["text_terms"].items()}
    assert set(pushing) == {"0", "1"}
    assert sum(word in pushing["1"] for word in GOOD) >= 3 and sum(word in pushing["0"] for word in BAD) >= 3
    assert all(row["predicted"] != row["truth"] for row in metrics["surest_mistakes"])
    assert "the words that push each answer most" in Path("reports/index.html").read_text()
    frame.iloc[[230, 210]].drop(columns="target").to_csv("new.csv", index=False)
    result = invoke("predict", *quick, "--input", "new.csv", "--out", "preds.csv")
    assert result.code == 0 and result.ran == [], result.output
    assert pd.read_csv("preds.csv")["target"].tolist() == sub.set_index("id").loc[[230, 210], "target"].tolist()
    with open("models/model.pkl", "rb") as f:
        folds = pickle.load(f)  # the text model of each fold
    probabilities = folds[0].predict_proba(np.array([["Superb and lovely!"], ["Awful, dull."]], dtype=object))
    assert probabilities[0, 1] > 0.5 > probabilities[1, 1]


def test_the_text_is_counted_once_for_every_fold_and_let_go_with_it() -> None:
    import gc

    from pipeline.learners import text as text_learner

    rows = np.array([[f"word{i % 7} other{i % 3}"] for i in range(50)], dtype=object)
    heard = []
    _, counted = text_learner._vectorized(rows, lambda task, done, total, detail: heard.append((done, total)), "")
    assert heard[-1] == (100, 100)  # progress over 50 rows read by two analyzers
    assert text_learner._vectorized(rows, None, "")[1] is counted  # the next fold's call counts nothing
    del rows
    gc.collect()
    assert not text_learner._counted
