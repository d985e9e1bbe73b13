"""--strategy (tf.distribute) and --tensorboard.

MirroredStrategy runs on CPU over two logical devices, which must be configured before
TensorFlow initialises its devices, so that training runs in a fresh Python process;
MultiWorkerMirroredStrategy runs across two local processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import TrainParams
from pipeline.errors import PipelineError
from pipeline.stages.train import train

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--epochs", "1", "--batch-size", "32"]

TWO_CPUS = textwrap.dedent("""
    import json
    from pipeline import learners, models
    from pipeline.keras_env import load_keras
    from pipeline.learners.base import KerasLearner

    load_keras()  # TensorFlow's start-up lines stay hidden
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from conftest import digit_frames
    from pipeline.config import IngestParams, PreprocessParams, SplitParams, TrainParams
    from pipeline.stages.ingest import ingest
    from pipeline.stages.preprocess import preprocess
    from pipeline.stages.split import split
    from pipeline.stages.train import train


    class Dense(KerasLearner):
        # batch norm but no dropout or augmentation, whose random draws differ per replica
        name, image = "dense", True

        def build(self, input_shape, n_classes, augment=0.0, precision="float32", spec=None):
            keras = load_keras()
            inputs = keras.Input(input_shape)
            hidden = keras.layers.Dense(32, use_bias=False)(keras.layers.Flatten()(inputs))
            hidden = keras.layers.Activation("relu")(keras.layers.BatchNormalization(momentum=0.5)(hidden))
            return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))


    learners.REGISTRY["dense"] = Dense()
    train_df, _ = digit_frames(n_train=300, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    x = preprocess(data["X"], data["X_test"], PreprocessParams())["x"]
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2))
    val = idx["val_idx"]
    runs = {"logical_cpus": len(tf.config.list_logical_devices("CPU"))}
    for model in ("dense", "cnn"):
        for strategy in ("one", "mirrored"):
            params = TrainParams(model=model, strategy=strategy, precision="float32", epochs=2, batch_size=32)
            result = train(x, data["y"], idx["train_idx"], val, data["classes"], params)
            runs[f"{model} {strategy}"] = {
                "strategy": str(result["strategy"]),
                "replicas": int(result["replicas"]),
                "loss": result["history_loss"].tolist(),
                "val_loss": result["history_val_loss"].tolist(),
                "val_accuracy": result["history_val_accuracy"].tolist(),
                "probs": models.predict_proba(result, x[val], final=False).tolist(),
            }
    print("RESULT " + json.dumps(runs))
""")


WORKER = textwrap.dedent("""
    import hashlib
    import json

    from conftest import digit_frames
    from pipeline.config import IngestParams, PreprocessParams, SplitParams, TrainParams
    from pipeline.stages.ingest import ingest
    from pipeline.stages.preprocess import preprocess
    from pipeline.stages.split import split
    from pipeline.stages.train import train

    train_df, _ = digit_frames(n_train=200, n_test=1)
    data = ingest(train_df, train_df.drop(columns="label"), IngestParams())
    x = preprocess(data["X"], data["X_test"], PreprocessParams())["x"]
    idx = split(data["y"], data["classes"], SplitParams(val_fraction=0.2))
    params = TrainParams(strategy="multi-worker", precision="float32", epochs=2, batch_size=32, time_budget="1h")
    result = train(x, data["y"], idx["train_idx"], idx["val_idx"], data["classes"], params)
    weights = b"".join(result[k].tobytes() for k in sorted(result) if "_weight_" in k)
    print("RESULT " + json.dumps({
        "strategy": str(result["strategy"]),
        "replicas": int(result["replicas"]),
        "val_loss": result["history_val_loss"].tolist(),
        "weights": hashlib.sha256(weights).hexdigest(),
    }))
""")


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
           "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    if "TF_CONFIG" not in extra:
        env.pop("TF_CONFIG", None)
    return env


def result_of(stdout: str) -> dict:
    return json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))


@pytest.fixture(scope="module")
def two_cpus(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One and mirrored training of the same data, in a process with two logical CPUs."""
    folder = tmp_path_factory.mktemp("two_cpus")
    script = folder / "two_cpus.py"
    script.write_text(TWO_CPUS)
    done = subprocess.run([sys.executable, str(script)], cwd=folder, env=child_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return result_of(done.stdout)


def test_mirrored_really_uses_both_logical_cpus(two_cpus: dict) -> None:
    assert two_cpus["logical_cpus"] == 2
    for model in ("dense", "cnn"):
        assert two_cpus[f"{model} one"]["strategy"] == "one" and two_cpus[f"{model} one"]["replicas"] == 1
        assert two_cpus[f"{model} mirrored"]["strategy"] == "mirrored"
        assert two_cpus[f"{model} mirrored"]["replicas"] == 2


def test_mirrored_training_matches_one_device(two_cpus: dict) -> None:
    """Same seed, same global batch of 32: two replicas of 16 rows whose gradients are summed,
    with batch norm over all 32 rows, take the same steps as one device up to the order of
    float32 additions, so the validation losses and predictions agree to 1e-5."""
    one, mirrored = two_cpus["dense one"], two_cpus["dense mirrored"]
    np.testing.assert_allclose(mirrored["val_loss"], one["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(mirrored["probs"], one["probs"], atol=1e-5)
    assert mirrored["val_accuracy"] == one["val_accuracy"]


def test_the_cnn_trains_alike_under_mirrored(two_cpus: dict) -> None:
    """The CNN's dropout and augmentation draw their random numbers per replica, so it is
    compared loosely: its first-epoch training loss within 25% of one device's."""
    one = two_cpus["cnn one"]["loss"][0]
    assert two_cpus["cnn mirrored"]["loss"][0] == pytest.approx(one, rel=0.25)
    for strategy in ("one", "mirrored"):
        run = two_cpus[f"cnn {strategy}"]
        assert len(run["val_loss"]) == 2 and run["loss"][1] < run["loss"][0]
        probs = np.array(run["probs"])
        assert probs.shape == (60, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_this_machine_train_one_model(tmp_path: Path) -> None:
    """MultiWorkerMirroredStrategy across two local processes (Keras 3 needs the workaround in
    train.py): both see 2 replicas, agree on every epoch's validation loss, and end with
    byte-identical weights, batch norm's moving averages included."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    configs = [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(2)]
    workers = [
        subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=child_env(TF_CONFIG=config))
        for config in configs
    ]
    try:
        outputs = [worker.communicate(timeout=300) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stdout + stderr
    first, second = (result_of(stdout) for stdout, _ in outputs)
    assert first["strategy"] == "multi-worker" and first["replicas"] == second["replicas"] == 2
    assert first["val_loss"] == second["val_loss"] and len(first["val_loss"]) == 2
    assert first["weights"] == second["weights"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(("tf_config", "message"), [
    ("", "--strategy multi-worker needs TF_CONFIG set on every machine, e.g. TF_CONFIG='{\"cluster\""),
    ("{not json", "TF_CONFIG is not a cluster description; give JSON like {\"cluster\""),
])
def test_multi_worker_without_tf_config_is_one_line(competition: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tf_config: str, message: str) -> None:
    monkeypatch.setenv("TF_CONFIG", tf_config)
    code, output = invoke("train", *FAST, "--strategy", "multi-worker")
    assert code == 2, output
    errors = [line for line in output.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], output
    assert "Traceback" not in output


def test_the_stage_function_checks_tf_config_before_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(PipelineError, match="needs TF_CONFIG"):
        train(np.zeros((4, 8, 8, 1), np.float32), np.array([0, 1, 0, 1]), np.arange(2), np.arange(2, 4), np.arange(2),
              TrainParams(strategy="multi-worker", epochs=1))


def test_an_unknown_strategy_is_one_line(competition: Path) -> None:
    code, output = invoke("status", "--strategy", "two-gpus")
    assert code == 2
    assert "--strategy 'two-gpus' is unknown; use auto, one, mirrored, multi-worker" in output


def test_tensorboard_without_its_package_is_one_line(competition: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else
                        find_spec(name, *a))
    code, output = invoke("train", *FAST, "--tensorboard")
    assert code == 2 and "--tensorboard needs the tensorboard package: pip install tensorboard" in output


def test_tensorboard_writes_event_files_without_changing_the_cache_key(competition: Path) -> None:
    pytest.importorskip("tensorboard")
    code, output = invoke("train", *FAST, "--tensorboard")
    assert code == 0, output
    events = list(Path("reports/tensorboard").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "validation"}, events
    assert all(p.relative_to("reports/tensorboard").parts[1] == "net0" for p in events)

    code, output = invoke("train", *FAST)  # the same key: train stays cached
    assert code == 0 and "train      cached" in output, output
    code, output = invoke("train", *FAST, "--tensorboard")
    assert code == 0 and "train      cached" in output, output
    assert "TensorBoard logs are written only when training runs (add --force" in output
    assert len(list(Path("reports/tensorboard").rglob("events.out.tfevents.*"))) == len(events)
