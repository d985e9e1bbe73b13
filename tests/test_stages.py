"""Each stage function on its own, on tiny generated arrays."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import digit_frames
from pipeline.config import IngestParams, PredictParams, PreprocessParams, SplitParams, TrainParams
from pipeline.hooks import Hooks
from pipeline.presets import PRESETS
from pipeline.keras_env import load_keras
from pipeline.learners import TABLE
from pipeline.learners.cnn import TTA_VIEWS
from pipeline.training.augment import augmentation_strength
from pipeline.models import export, predict_proba
from pipeline.errors import PipelineError
from pipeline.stages.ingest import ingest
from pipeline.stages.predict import predict
from pipeline.stages.preprocess import preprocess
from pipeline.stages.split import split
from pipeline.stages.train import train
from pipeline.stages.validate import validate
from pipeline.submission import build_submission
from pipeline.targets import Target
from pipeline.task import Task
from pipeline.training.callbacks import early_stopping


def test_ingest_pixels_become_uint8_and_test_columns_are_reordered() -> None:
    train_df, test_df = digit_frames(n_train=30, n_test=5)
    shuffled = test_df[test_df.columns[::-1]]
    out = ingest(train_df, shuffled, IngestParams())
    assert out["X"].dtype == np.uint8 and out["X"].shape == (30, 64)
    np.testing.assert_array_equal(out["X_test"], test_df.to_numpy())
    assert out["test_ids"].tolist() == [1, 2, 3, 4, 5]
    assert str(out["id_column"]) == ""
    np.testing.assert_array_equal(out["classes"][out["y"]], train_df["label"].to_numpy())


def test_ingest_keeps_string_and_gapped_classes_and_detects_ids() -> None:
    train_df = pd.DataFrame({"label": ["dog", "cat", "dog", "bird"], "a": [0.5, 1, 2, 3]})
    test_df = pd.DataFrame({"id": [10, 11], "a": [1.5, 2]})
    out = ingest(train_df, test_df, IngestParams())
    assert out["classes"].tolist() == ["bird", "cat", "dog"]
    assert out["y"].tolist() == [2, 1, 2, 0]
    assert out["X"].dtype == np.float32  # 0.5 is not a pixel
    assert str(out["id_column"]) == "id" and out["test_ids"].tolist() == [10, 11]

    gapped = pd.DataFrame({"label": [0.0, 3.0, 24.0, 3.0], "a": [1, 2, 3, 4]})
    out = ingest(gapped, test_df, IngestParams())
    assert out["classes"].dtype.kind == "i" and out["classes"].tolist() == [0, 3, 24]


@pytest.mark.parametrize(
    ("train_df", "test_df", "message"),
    [
        (pd.DataFrame({"target": [1, 2], "x": [1, 2], "a": [1, 2]}), pd.DataFrame({"a": [1]}),
         r"train.csv: no label column found; 2 columns are missing from test.csv \('target', 'x'\); "
         "pass --label-column with the one to predict"),
        (pd.DataFrame({"target": [1, 2], "a": [1, 2]}), pd.DataFrame({"a": [1], "target": [0]}),
         "no label column found"),
        (pd.DataFrame({"label": [1, 2], "a": [1, 2]}), pd.DataFrame({"b": [1]}),
         "test.csv: feature column 'a' of train.csv is missing"),
        (pd.DataFrame({"label": [1, 2] * 15, "a": [str(i) for i in range(29)] + ["x"]}), pd.DataFrame({"a": [1]}),
         "train.csv: column 'a', line 31 holds 'x', not a number like the column's other cells"),
        (pd.DataFrame({"label": [1, 2], "a": [1, 2]}), pd.DataFrame({"a": ["one"]}),
         "test.csv: column 'a', line 2 holds 'one', not a number; it holds numbers in train.csv"),
        (pd.DataFrame({"label": [1, 2], "pixel0": [1, None]}), pd.DataFrame({"pixel0": [1]}),
         "train.csv: 1 empty or NaN cells, the first in column 'pixel0' at line 3"),
        (pd.DataFrame({"label": [1, 1], "a": [1, 2]}), pd.DataFrame({"a": [1]}),
         "holds a single class"),
        (pd.DataFrame({"label": [1, 2], "pixel0": [0, 255], "pixel1": [3, 4]}),
         pd.DataFrame({"pixel0": [0], "pixel1": [256]}),
         r"test.csv: column 'pixel1', line 2 holds 256, outside 0..255 \(columns named pixel\* are read "
         r"as 8-bit image pixels\); fix the cell"),
    ],
)
def test_ingest_names_the_problem(train_df: pd.DataFrame, test_df: pd.DataFrame, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        ingest(train_df, test_df, IngestParams())


def test_a_named_label_column_that_is_absent_suggests_the_closest() -> None:
    train_df = pd.DataFrame({"targets": [1, 2], "a": [1, 2]})
    with pytest.raises(PipelineError, match="no label column 'target'; did you mean --label-column targets"):
        ingest(train_df, pd.DataFrame({"a": [1]}), IngestParams(label_column="target"))


def test_ingest_finds_the_label_test_lacks_and_ignores_extra_test_columns() -> None:
    train_df = pd.DataFrame({"target": ["b", "a", "b"], "f0": [1, 2, 3], "f1": [4, 5, 6]})
    test_df = pd.DataFrame({"id": [7, 8], "f1": [6, 5], "f0": [3, 2], "extra": [0, 0], "more": [1, 1]})
    out = ingest(train_df, test_df, IngestParams())
    assert str(out["label_column"]) == "target"
    assert out["classes"].tolist() == ["b", "a"]  # the rarer class is the positive one, last
    assert out["feature_names"].tolist() == ["f0", "f1"]
    np.testing.assert_array_equal(out["X_test"], [[3, 6], [2, 5]])
    assert out["notes"].tolist() == ["test.csv: column 'extra' (and 1 more) is not in train.csv; ignored"]


def test_row_ids_and_saved_indexes_are_not_features() -> None:
    train_df = pd.DataFrame({"Unnamed: 0": [0, 1, 2, 3], "id": [5, 6, 7, 8], "target": [0, 1, 0, 1],
                             "a": [1, 2, 3, 4]})
    test_df = pd.DataFrame({"Unnamed: 0": [0], "a": [2]})
    out = ingest(train_df, test_df, IngestParams())
    assert str(out["label_column"]) == "target" and out["feature_names"].tolist() == ["a"]
    assert out["notes"].tolist() == ["train.csv: column 'Unnamed: 0' (and 1 more) looks like row ids; "
                                     "not used as a feature"]


def test_a_continuous_label_is_a_regression_target_and_task_overrides() -> None:
    train_df = pd.DataFrame({"label": np.linspace(0, 1, 40), "a": np.arange(40)})
    out = ingest(train_df, pd.DataFrame({"a": [1]}), IngestParams())
    assert str(out["task"]) == "regression" and out["y"].tolist() == train_df["label"].tolist()
    whole = pd.DataFrame({"label": np.arange(40) % 5, "a": np.arange(40)})
    assert str(ingest(whole, pd.DataFrame({"a": [1]}), IngestParams())["task"]) == "multiclass"
    assert str(ingest(whole, pd.DataFrame({"a": [1]}), IngestParams(task="regression"))["task"]) == "regression"


def test_fill_missing_uses_train_medians_for_both_tables() -> None:
    train_df = pd.DataFrame({"label": [0, 1, 0, 1], "a": [1.0, None, 3.0, 5.0], "b": [None] * 4})
    test_df = pd.DataFrame({"a": [None, 2.0], "b": [1.0, None]})
    kept = ingest(train_df, test_df, IngestParams())  # a table keeps its gaps: the models handle them
    np.testing.assert_array_equal(np.isnan(kept["X"]), train_df[["a", "b"]].isna())
    out = ingest(train_df, test_df, IngestParams(fill_missing=True))
    np.testing.assert_array_equal(out["X"], [[1, 0], [3, 0], [3, 0], [5, 0]])
    np.testing.assert_array_equal(out["X_test"], [[3, 1], [2, 0]])
    assert out["notes"].tolist() == ["train.csv: filled 5 empty cells with train.csv's column medians",
                                     "test.csv: filled 2 empty cells with train.csv's column medians"]


def test_preprocess_square_features_become_images_scaled_by_train_range() -> None:
    x = np.zeros((2, 64), dtype=np.uint8)
    x[0, :4] = [0, 4, 8, 16]
    x_test = np.full((1, 64), 8, dtype=np.uint8)
    x_test[0, 3] = 32
    out = preprocess(x, x_test, PreprocessParams())
    assert out["x"].shape == (2, 8, 8, 1) and out["x"].dtype == np.float32
    assert out["x"].max() == 1.0 and out["x"].min() == 0.0
    # test is scaled with train's range (16), not its own
    np.testing.assert_allclose(out["x_test"].ravel()[:4], [0.5, 0.5, 0.5, 2.0])
    # 64 float measurements are a table, not an 8x8 picture
    assert preprocess(x.astype(np.float32), x_test, PreprocessParams())["x"].shape == (2, 64)


def test_preprocess_passes_tables_through_for_the_models_to_normalise() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(50, 10, size=(200, 30))
    x[3, 4] = np.nan
    out = preprocess(x, x[:5] * 2, PreprocessParams())
    assert out["x"].shape == (200, 30) and out["x"].dtype == np.float32
    np.testing.assert_allclose(out["x"], x.astype(np.float32))  # a gap stays a gap
    codes = np.tile(np.arange(8.0), (3, 8))  # 64 whole numbers: categories, not an 8x8 image
    assert preprocess(codes, codes, PreprocessParams(), column_kinds=np.array(["categorical"] * 64))["x"].shape == (3, 64)


def test_preprocess_configured_shape_must_fit() -> None:
    x = np.zeros((2, 12), dtype=np.uint8)
    assert preprocess(x, x, PreprocessParams("3x4"))["x"].shape == (2, 3, 4, 1)
    with pytest.raises(PipelineError, match="holds 9 values but train.csv has 12"):
        preprocess(x, x, PreprocessParams("3x3"))


def test_split_is_stratified_seeded_and_disjoint() -> None:
    y = np.repeat([0, 1, 2], [50, 30, 20])
    classes = np.array([0, 1, 2])
    out = split(y, classes, SplitParams(val_fraction=0.1, seed=1))
    assert np.bincount(y[out["val_idx"]]).tolist() == [5, 3, 2]
    assert sorted(np.concatenate([out["train_idx"], out["val_idx"]]).tolist()) == list(range(100))
    again = split(y, classes, SplitParams(val_fraction=0.1, seed=1))
    np.testing.assert_array_equal(out["val_idx"], again["val_idx"])
    other = split(y, classes, SplitParams(val_fraction=0.1, seed=2))
    assert not np.array_equal(out["val_idx"], other["val_idx"])


def test_split_names_a_class_with_a_single_row() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 2])
    with pytest.raises(PipelineError, match="class 'seven' has a single row"):
        split(y, np.array(["five", "six", "seven"]), SplitParams())


@pytest.fixture(scope="module")
def trained() -> dict:
    train_df, test_df = digit_frames(n_train=90, n_test=12)
    data = ingest(train_df, test_df, IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2))
    model = train(pre["x"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(3),
                  TrainParams(epochs=2, batch_size=16))
    return {"data": data, "pre": pre, "idx": idx, "model": model}


def test_train_returns_weights_and_history(trained: dict) -> None:
    model = trained["model"]
    assert str(model["arch"]) == "cnn"
    assert model["input_shape"].tolist() == [8, 8, 1] and int(model["n_classes"]) == 3
    assert any(k.startswith("member0_weight_") for k in model)
    assert not any(k.startswith(("member1_", "refit")) for k in model)
    assert len(model["history_val_loss"]) == 2 and 1 <= int(model["best_epoch"]) <= 2


def test_early_stopping_keeps_the_latest_epoch_within_a_standard_error_of_the_best() -> None:
    keras = load_keras()
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    stopping = early_stopping(keras, epochs=8, n_val=400)  # judged from the 5th epoch, patience 3
    stopping.set_model(net)
    stopping.on_train_begin()
    # (val_loss, val_accuracy) per epoch: loss is lowest at the 4th; accuracy is highest at the
    # 6th (0.95, standard error 0.011 on 400 rows), the 7th and 9th are within that, the 8th
    # and the 10th to 12th are not
    history = [(0.5, 0.80), (0.4, 0.85), (0.3, 0.86), (0.2, 0.90), (0.25, 0.91), (0.3, 0.95),
               (0.35, 0.945), (0.4, 0.93), (0.4, 0.94), (0.45, 0.93), (0.5, 0.92), (0.5, 0.93),
               (0.5, 0.99)]
    for epoch, (loss, acc) in enumerate(history):
        net.layers[0].kernel.assign(np.full((2, 2), epoch, dtype="float32"))
        stopping.on_epoch_end(epoch, {"val_loss": loss, "val_accuracy": acc})
        if stopping.stopped_epoch:
            break
    stopping.on_train_end()
    assert stopping.stopped_epoch == 11  # three epochs in a row below the best's standard error
    assert stopping.best_epoch == 8 and net.get_weights()[0][0, 0] == 8  # the 9th's weights, restored


def test_train_reports_progress() -> None:
    train_df, _ = digit_frames(n_train=40, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    epochs, batches = [], []
    train(pre["x"], data["y"], np.arange(30), np.arange(30, 40), np.arange(3),
          TrainParams(model="mlp", epochs=2, batch_size=10),
          hooks=Hooks(epoch=lambda label, logs: epochs.append((label, sorted(logs))),
                      progress=lambda task, done, total, detail: batches.append((task, done, total, detail))))
    assert [e[0] for e in epochs] == ["epoch 1/2", "epoch 2/2"]
    assert "val_accuracy" in epochs[0][1]
    assert [b[:3] for b in batches] == [("training", done, 6) for done in range(1, 7)]  # one bar, both epochs
    assert batches[0][3].startswith("epoch 1/2  loss ") and "val_acc" not in batches[0][3]
    assert batches[-1][3].startswith("epoch 2/2  loss ") and "  val_acc " in batches[-1][3]


def test_a_short_run_scores_on_validation_what_it_scores_on_its_training_rows() -> None:
    """About a dozen steps: batch norm's moving statistics would still describe the starting
    network (validation near chance) unless they are recomputed for the weights kept."""
    train_df, _ = digit_frames(n_train=240, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.25))
    model = train(pre["x"], data["y"], idx["train_idx"], idx["val_idx"], np.arange(3),
                  TrainParams(epochs=1, batch_size=16, refit=True))

    def accuracy(rows: np.ndarray, final: bool) -> float:
        return float(np.mean(predict_proba(model, pre["x"][rows], final=final).argmax(1) == data["y"][rows]))

    fit, held_out = accuracy(idx["train_idx"], False), accuracy(idx["val_idx"], False)
    assert fit > 0.6, fit  # chance is 1/3
    assert abs(held_out - fit) < 0.15, (fit, held_out)
    assert float(model["history_val_accuracy"][-1]) == pytest.approx(held_out)  # the printed score is predict's
    everything = np.concatenate([idx["train_idx"], idx["val_idx"]])
    assert accuracy(everything, True) > 0.6  # the refit network, trained without validation


def test_an_ensemble_with_refit_keeps_both_sets_of_networks(trained: dict, tmp_path: Path) -> None:
    d, pre, idx = trained["data"], trained["pre"], trained["idx"]
    labels = []
    model = train(pre["x"], d["y"], idx["train_idx"], idx["val_idx"], np.arange(3),
                  TrainParams(epochs=2, batch_size=16, ensemble=2, refit=True),
                  hooks=Hooks(epoch=lambda label, logs: labels.append((label, sorted(logs)))))
    best = int(model["best_epoch"])
    assert [label for label, _ in labels[:4]] == ["net 1/2 epoch 1/2", "net 1/2 epoch 2/2",
                                                  "net 2/2 epoch 1/2", "net 2/2 epoch 2/2"]
    refits = [(label, logs) for label, logs in labels if label.startswith("refit")]
    assert refits and refits[0][0].startswith("refit 1/2 epoch 1/")
    assert all("val_loss" not in logs for _, logs in refits)  # refit sees no held-out rows
    for group in ("member0", "member1", "refit0", "refit1"):
        assert f"{group}_weight_000" in model
    x_val = pre["x"][idx["val_idx"]]
    held_out = predict_proba(model, x_val, final=False)
    assert not np.allclose(held_out, predict_proba(model, x_val, final=True))
    single = {k: v for k, v in model.items() if not k.startswith(("member1", "refit"))}
    assert not np.allclose(held_out, predict_proba(single, x_val, final=False))  # both averaged
    assert 1 <= best <= 2

    exported = load_keras().models.load_model(export(model, tmp_path))
    assert exported.name == "ensemble"
    np.testing.assert_allclose(exported.predict(x_val, verbose=0), predict_proba(model, x_val), atol=1e-5)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_both_precisions_keep_float32_weights_and_rerun_identically(precision: str) -> None:
    train_df, _ = digit_frames(n_train=60, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    x = preprocess(data["X"], data["X_test"], PreprocessParams())["x"]
    runs = [train(x, data["y"], np.arange(48), np.arange(48, 60), np.arange(3),
                  TrainParams(epochs=1, batch_size=16, precision=precision)) for _ in range(2)]
    weights = [k for k in runs[0] if "_weight_" in k]
    assert str(runs[0]["precision"]) == precision and weights
    for k in weights:
        assert runs[0][k].dtype == np.float32
        np.testing.assert_array_equal(runs[0][k], runs[1][k], err_msg=k)
    # a bfloat16-trained network predicts in float32 like any other
    assert predict(x[:5], runs[0], PredictParams())["predictions"].dtype == np.float32


def test_auto_precision_is_float32_when_onednn_is_held_to_avx2(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.training.precision import training_precision

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # no bfloat16 convolution there: TensorFlow would abort
    assert training_precision("auto", "cnn") == "float32"
    assert training_precision("bfloat16", "cnn") == "bfloat16"  # asked for by name, it is the user's call


def test_auto_precision_picks_bfloat16_only_where_it_was_measured_faster() -> None:
    from pipeline.training.precision import _fast_bfloat16

    def cpu(vendor: str, flags: str) -> str:
        return f"processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: fpu sse2 avx2 {flags}\n"

    assert _fast_bfloat16(cpu("GenuineIntel", "avx512f avx512_bf16 amx_tile amx_bf16 amx_int8"))
    assert _fast_bfloat16(cpu("AuthenticAMD", "avx512f avx512_bf16"))
    assert not _fast_bfloat16(cpu("GenuineIntel", "avx512f avx512_bf16 avx512_fp16"))  # AMX hidden: float32 is faster
    assert not _fast_bfloat16(cpu("AuthenticAMD", "avx512f"))
    assert not _fast_bfloat16(cpu("GenuineIntel", "avx512f avx512_vnni"))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="TensorFlow builds oneDNN's kernels in for x86 CPUs only")
@pytest.mark.parametrize("setting, on", [(None, True), ("0", False)])
def test_networks_train_on_onednn_kernels_unless_the_user_turns_them_off(setting: str | None, on: bool) -> None:
    # TensorFlow's own default leaves CPUs without VNNI, AVX512-BF16 or AMX on Eigen's
    # convolutions, at 0.4x the default CNN's images/s on an AVX2-only Zen 3
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    probe = ("from pipeline.keras_env import load_keras; load_keras(); "
             "from tensorflow.python.util import _pywrap_util_port as port; print(port.IsMklEnabled())")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == str(on)


def test_augmentation_weakens_as_the_training_set_grows() -> None:
    assert augmentation_strength(500) == augmentation_strength(10_000) == 1.0
    assert augmentation_strength(20_000) == 0.5 and augmentation_strength(54_000) < 0.2


def test_the_preset_chooses_more_epochs_for_smaller_data() -> None:
    default, fast = PRESETS["default"], PRESETS["fast"]
    assert default.epochs(54_000) < default.epochs(3_600) == default.images.most
    assert fast.epochs(54_000) == fast.images.least >= 2 and fast.epochs(10) == fast.images.most
    assert PRESETS["best"].epochs(54_000) > default.epochs(54_000)


def test_the_best_preset_trains_the_large_cnn_with_tta() -> None:
    train_df, _ = digit_frames(n_train=60, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    model = train(pre["x"], data["y"], np.arange(48), np.arange(48, 60), np.arange(3),
                  TrainParams(preset="best", epochs=1, batch_size=16))
    assert str(model["arch"]) == "cnn_large" and PRESETS["best"].tta
    assert int(model["images_trained"]) == 48  # --epochs without --ensemble: one network of one epoch
    assert predict_proba(model, pre["x"][:5]).shape == (5, 3)


def test_a_time_budget_shrinks_the_epochs_to_what_fits() -> None:
    train_df, _ = digit_frames(n_train=300, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    pre = preprocess(data["X"], data["X_test"], PreprocessParams())
    labels = []
    train(pre["x"], data["y"], np.arange(270), np.arange(270, 300), np.arange(3),
          TrainParams(epochs=500, batch_size=30, time_budget="0.01s"),
          hooks=Hooks(epoch=lambda label, logs: labels.append(label)))
    assert labels == ["epoch 1/1"]


def test_tabular_data_keeps_the_best_of_mlp_gradient_boosting_and_their_blend() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)  # xor: trees find it at once
    model = train(x, y, np.arange(240), np.arange(240, 300), np.arange(2), TrainParams(epochs=2, batch_size=32))
    scores = dict(zip(model["candidates"].tolist(), model["candidate_scores"].tolist()))
    assert set(scores) == {*TABLE, "blend"} and str(model["metric"]) == "accuracy"
    assert scores[str(model["arch"])] == max(scores.values())
    probs = predict_proba(model, x[240:], final=False)
    assert (probs.argmax(axis=1) == y[240:]).mean() == pytest.approx(scores[str(model["arch"])])


def test_validate_metrics_agree_with_predictions(trained: dict) -> None:
    d, pre, idx = trained["data"], trained["pre"], trained["idx"]
    out = validate(pre["x"], d["y"], idx["val_idx"], trained["model"], d["classes"])
    assert out["confusion"].shape == (3, 3)
    assert out["confusion"].sum() == len(idx["val_idx"]) == int(out["n_val"])
    assert float(out["accuracy"]) == pytest.approx(np.trace(out["confusion"]) / out["confusion"].sum())
    assert out["recall"].shape == (3,) and float(out["log_loss"]) > 0


def test_predict_gives_one_probability_row_per_test_row(trained: dict) -> None:
    out = predict(trained["pre"]["x_test"], trained["model"], PredictParams())
    assert out["predictions"].shape == (12, 3)
    np.testing.assert_allclose(out["predictions"].sum(axis=1), 1, rtol=1e-4)


def test_tta_averages_seeded_augmented_copies(trained: dict) -> None:
    x_test, model = trained["pre"]["x_test"], trained["model"]
    plain = predict(x_test, model, PredictParams())["predictions"]
    progress = []
    augmented = predict_proba(model, x_test, lambda done, total: progress.append((done, total)), tta=True)
    np.testing.assert_allclose(augmented.sum(axis=1), 1, rtol=1e-4)
    assert not np.allclose(plain, augmented)
    np.testing.assert_array_equal(augmented, predict(x_test, model, PredictParams(tta=True))["predictions"])  # seeded
    assert progress[-1] == (1 + TTA_VIEWS, 1 + TTA_VIEWS)  # one batch per view


def labels_of(*classes: object) -> list[Target]:
    """One target whose submission holds labels, of `classes`."""
    return [Target("label", Task("multiclass", "accuracy", "label"), np.array(classes))]


def test_submission_follows_the_sample_order_and_header() -> None:
    probs = np.eye(3)[[0, 1, 2, 1]]
    sample = pd.DataFrame({"Id": [13, 11, 12, 10], "Category": "?"})
    frame = build_submission(labels_of("a", "b", "c"), [probs], np.array([10, 11, 12, 13]), "id", sample)
    assert frame.columns.tolist() == ["Id", "Category"]
    assert frame["Id"].tolist() == [13, 11, 12, 10]
    assert frame["Category"].tolist() == ["b", "b", "c", "a"]


def test_submission_default_header_and_test_ids() -> None:
    probs = np.eye(2)[[1, 0]]
    frame = build_submission(labels_of(3, 7), [probs], np.array([1, 2]), "")
    assert frame.columns.tolist() == ["ImageId", "Label"] and frame["Label"].tolist() == [7, 3]
    frame = build_submission(labels_of(3, 7), [probs], np.array([5, 9]), "id")
    assert frame.columns.tolist() == ["id", "label"] and frame["id"].tolist() == [5, 9]


def test_submission_rejects_a_sample_of_another_competition() -> None:
    probs = np.eye(2)[[1, 0]]
    with pytest.raises(PipelineError, match="has 3 rows but test.csv has 2"):
        build_submission(labels_of(0, 1), [probs], np.array([1, 2]), "",
                         pd.DataFrame({"ImageId": [1, 2, 3], "Label": 0}))
    with pytest.raises(PipelineError, match="id '7' at line 3 is not a test.csv id"):
        build_submission(labels_of(0, 1), [probs], np.array([1, 2]), "",
                         pd.DataFrame({"ImageId": [1, 7], "Label": 0}))
