"""Large tables on one machine: the network reads its rows by number, boosting and the
network spend a row budget rather than a count of iterations or epochs, and a large table's
estimators train once, each in a process of its own. The sizes that make a table large are
patched down, so that these run on a few hundred rows."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from pipeline import tabular
from pipeline.config import IngestParams, SplitParams, TrainParams
from pipeline.errors import PipelineError
from pipeline.hooks import Hooks
from pipeline.learners import Job, boosting, catboost, get
from pipeline.models import predict_proba
from pipeline.presets import PRESETS, TABLE_ROWS_SEEN
from pipeline.schema import Schema
from pipeline.stages import train as train_stage
from pipeline.stages.ingest import ingest
from pipeline.stages.split import split
from pipeline.task import Task
from pipeline.training.apart import fitted_apart
from pipeline.training.plan import Plan
from test_tabular import passengers


def test_the_network_gets_its_rows_in_the_order_a_shuffle_of_the_rows_gave() -> None:
    import tensorflow as tf

    from pipeline.training.keras_fit import batches

    x = {"a": np.arange(500, dtype=np.float32)[:, None], "b": np.array([f"w{i}" for i in range(500)], object)[:, None]}
    y = np.arange(500)
    rows = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(500, seed=3, reshuffle_each_iteration=True).batch(64)
    gathered = batches(tf, x, y, 64, shuffle_seed=3)
    for _ in range(2):  # two epochs: each reshuffles alike
        expected, got = [b[1].numpy() for b in rows], [b for b in gathered]
        assert [len(b) for b in expected] == [len(b[1]) for b in got]
        order = np.concatenate(expected)
        assert (np.concatenate([b[1].numpy() for b in got]) == order).all()
        assert (np.concatenate([b[0]["a"].numpy()[:, 0] for b in got]) == order).all()  # the columns follow
        assert [s.decode() for b in got for s in b[0]["b"].numpy()[:, 0]] == [f"w{i}" for i in order]


def test_past_the_shuffle_buffers_rows_each_epoch_is_a_fresh_permutation_the_same_on_a_rerun(monkeypatch) -> None:
    import tensorflow as tf

    from pipeline.training import keras_fit

    monkeypatch.setattr(keras_fit, "SHUFFLE_BUFFER_ROWS", 100)
    x = {"a": np.arange(500, dtype=np.float32)[:, None]}
    y = np.arange(500)

    def epochs(seed: int) -> list[np.ndarray]:
        gathered = keras_fit.batches(tf, x, y, 64, shuffle_seed=seed)
        orders = []
        for _ in range(2):
            got = list(gathered)
            assert (np.concatenate([b[0]["a"].numpy()[:, 0] for b in got]) == np.concatenate([b[1] for b in got])).all()
            orders.append(np.concatenate([b[1].numpy() for b in got]))
        return orders

    first, second = epochs(3)
    assert sorted(first) == sorted(second) == list(range(500))  # every row once an epoch
    assert not (first == second).all() and not (first == y).all()
    again = epochs(3)
    assert (again[0] == first).all() and (again[1] == second).all()
    assert not (epochs(4)[0] == first).all()


def test_a_learners_row_budget_draws_that_many_of_its_rows_the_same_for_a_seed() -> None:
    from pipeline.learners.base import at_most

    rows = np.arange(0, 3000, 3)
    assert at_most(rows, 1000, seed=1) is rows
    drawn = at_most(rows, 100, seed=1)
    assert len(np.unique(drawn)) == 100 and np.isin(drawn, rows).all() and (np.diff(drawn) > 0).all()
    assert (at_most(rows, 100, seed=1) == drawn).all() and not (at_most(rows, 100, seed=2) == drawn).all()


@pytest.mark.parametrize("module, least", [(boosting, boosting.LEAST_ITER), (catboost, catboost.PATIENCE)])
def test_boosting_on_a_large_table_takes_fewer_iterations_at_a_higher_rate(module, least: int) -> None:
    settings = module.MAX_ITER, module.LEARNING_RATE, module.ROW_ITERATIONS, module.MAX_RATE, least
    small = module.ROW_ITERATIONS // module.MAX_ITER  # the most rows that get every iteration
    assert boosting.schedule(1000, *settings) == boosting.schedule(small, *settings) == (module.MAX_ITER,
                                                                                          module.LEARNING_RATE)
    caps = [boosting.schedule(n, *settings) for n in (small * 2, small * 4, small * 100)]
    assert caps[0][0] == module.MAX_ITER // 2 and caps[0][1] == pytest.approx(2 * module.LEARNING_RATE)
    assert caps[0][0] > caps[1][0] > caps[2][0] == least
    assert all(rate <= module.MAX_RATE for _, rate in caps) and caps[2][1] == module.MAX_RATE


def test_a_table_network_trains_fewer_epochs_only_where_a_table_is_large() -> None:
    default = PRESETS["default"]
    assert default.epochs(40_000, table=True) == default.tables.least  # as before: at least the preset's least
    assert default.epochs(900_000, table=True) == round(TABLE_ROWS_SEEN / 900_000) < default.tables.least
    assert default.epochs(50_000_000, table=True) == 1
    assert default.epochs(50_000_000) == default.images.least  # images are not tables


def _split_table(n: int) -> tuple[dict, Task, Schema, dict]:
    """A Titanic-like table of `n` rows, ingested and split: (data, task, schema, split)."""
    frame = passengers(n)
    data = ingest(frame, frame.drop(columns="Survived"), IngestParams())
    task, schema = Task.from_arrays(data), Schema.from_arrays(data)
    return data, task, schema, split(data["y"], data["classes"], SplitParams(val_fraction=0.2), task)


def _large_table(monkeypatch: pytest.MonkeyPatch, preset: str, refit: bool = False) -> tuple[dict, list[str]]:
    monkeypatch.setattr(train_stage, "LARGE_TABLE", 100)
    data, task, schema, idx = _split_table(400)
    said: list[str] = []
    model = train_stage.train(data["X"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(2),
                              TrainParams(preset=preset, epochs=1, batch_size=64, refit=refit), task=task,
                              schema=schema, hooks=Hooks(info=said.append))
    return model, said


def test_the_fast_preset_trains_boosting_alone_on_a_large_table_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    model, said = _large_table(monkeypatch, "fast")
    assert str(model["arch"]) == "hgb"
    assert not any(k.startswith("refit") for k in model)  # a large table's estimators train once
    assert any("fast preset trains hgb alone" in line for line in said)
    assert any("not refit on the validation rows as well (--refit" in line for line in said)


def test_a_learner_past_its_row_budget_says_how_many_rows_it_drew(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.learners import linear

    monkeypatch.setattr(linear, "MAX_ROWS", 100)
    data, task, schema, idx = _split_table(400)
    said: list[str] = []
    train_stage.train(data["X"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(2),
                      TrainParams(model="linear"), task=task, schema=schema,
                      hooks=Hooks(epoch=lambda label, logs: said.append(label)))
    assert any(f"linear model on 100 of its {len(idx['train_idx'])} rows, drawn with the seed" in s for s in said), said


def test_a_large_table_still_refits_its_estimators_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = _large_table(monkeypatch, "fast", refit=True)
    assert any(k.startswith("refit0") for k in model)


def test_a_train_column_with_more_categories_than_are_kept_says_so_not_that_train_lacks_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import schema

    monkeypatch.setattr(schema, "MAX_VOCABULARY", 3)
    frame = pd.DataFrame({"shop": [f"s{i % 5}" for i in range(60)], "y": [i % 2 for i in range(60)]})
    data = ingest(frame, frame.drop(columns="y").iloc[:10], IngestParams())
    notes = [str(n) for n in data["notes"]]
    assert any("train.csv: column 'shop' (24) has categories beyond those kept (its 3 most frequent" in n
               for n in notes), notes
    assert not any("train.csv never has" in n for n in notes if n.startswith("train.csv"))
    assert any(n.startswith("test.csv: column 'shop'") and "too rarely to keep" in n for n in notes), notes


def test_a_tables_categories_reach_the_network_as_the_same_strings_when_decoded_a_batch_at_a_time() -> None:
    import tensorflow as tf

    from pipeline import tabular
    from pipeline.training.keras_fit import batches

    frame = passengers(200)
    data = ingest(frame, frame.drop(columns="Survived"), IngestParams())
    schema = Schema.from_arrays(data)
    x = data["X"].astype(np.float32)
    spec = tabular.spec(schema.feature_names, schema.feature_kinds, schema.vocabularies, x, None)
    plain = tabular.inputs(spec, x)
    coded = tabular.inputs(spec, x, coded=True)
    assert any(v.dtype == np.int32 for v in coded.values()) and any(v.dtype == object for v in plain.values())
    decoded = next(iter(batches(tf, coded, data["y"], 200, decode=tabular.decoder(tf, spec))))[0]
    for name, column in plain.items():
        got = decoded[name].numpy()
        if column.dtype == object:
            assert [v.decode() for v in got[:, 0]] == list(column[:, 0]), name
        else:
            np.testing.assert_array_equal(got, column)  # NaN where NaN


def _fit_here_and_apart(name: str) -> tuple[tuple, tuple, list, list, np.ndarray]:
    data, task, schema, idx = _split_table(300)
    spec = tabular.spec(schema.feature_names, schema.feature_kinds, schema.vocabularies, data["X"], data["y"])
    fits, heard = [], []
    for apart in (False, True):
        said: list = []
        plan = Plan(0, None, lambda label, logs: said.append((label, logs)), lambda *args: said.append(args),
                    task=task, spec=spec)
        job = Job(2, TrainParams(), 0.0, 0, plan, "net0")
        learner = get(name)
        fit = fitted_apart if apart else lambda *args: args[0](*args[1:])
        fits.append(fit(learner.fit, data["X"], data["y"], idx["train_idx"], idx["val_idx"], job))
        heard.append(said)
    return fits[0], fits[1], heard[0], heard[1], data["X"].reshape(len(data["X"]), -1)


def test_an_estimator_fitted_in_a_process_of_its_own_is_the_same_and_reports_its_progress_here() -> None:
    here, apart, heard_here, heard_apart, rows = _fit_here_and_apart("cat")
    assert np.array_equal(apart[0].predict_proba(rows), here[0].predict_proba(rows))
    assert apart[1:] == here[1:]  # its history and its iterations
    assert heard_apart == heard_here
    assert sum(len(args) == 4 and args[3] == "iterations" for args in heard_apart) > 10  # CatBoost's progress


def test_the_train_stage_keeps_the_same_model_when_a_large_tables_estimator_fits_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data, task, schema, idx = _split_table(300)
    models, said = [], []
    for large in (100, 10**9):  # apart, then here
        monkeypatch.setattr(train_stage, "LARGE_TABLE", large)
        models.append(train_stage.train(data["X"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(2),
                                        TrainParams(model="cat"), task=task, schema=schema,
                                        hooks=Hooks(epoch=lambda label, logs: said.append(label))))
    members = [predict_proba(model, data["X"], final=False) for model in models]  # not the refit
    assert np.array_equal(members[0], members[1])
    assert sum("CatBoost, " in line for line in said) == 3  # apart; here, and its refit


def _where(x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None, job: Job) -> tuple:
    job.plan.on_epoch("fitting", {"rows": float(len(fit_idx))})
    return os.getpid(), {}, 0


def _refuses(x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None, job: Job) -> tuple:
    raise PipelineError("train.csv: column 'x' is empty; fill it")


def _dies(x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None, job: Job) -> tuple:
    os._exit(3)  # as the kernel's out-of-memory killer would end it, without a word


def _job(said: list) -> Job:
    return Job(2, TrainParams(), 0.0, 0, Plan(0, None, lambda label, logs: said.append((label, logs)), None), "cat0")


def test_a_fit_apart_runs_in_another_process_and_its_hooks_reach_this_one() -> None:
    said: list = []
    pid, _, _ = fitted_apart(_where, np.zeros((5, 2)), np.zeros(5), np.arange(4), None, _job(said))
    assert pid != os.getpid()
    assert said == [("fitting", {"rows": 4.0})]


def test_a_fit_apart_that_fails_raises_its_error_here_and_one_that_dies_names_its_exit_code() -> None:
    with pytest.raises(PipelineError, match="column 'x' is empty; fill it"):
        fitted_apart(_refuses, np.zeros((5, 2)), np.zeros(5), np.arange(4), None, _job([]))
    with pytest.raises(PipelineError, match=r"fitting cat \(cat0\) ended \(exit code 3\) before it finished"):
        fitted_apart(_dies, np.zeros((5, 2)), np.zeros(5), np.arange(4), None, _job([]), learner="cat")
