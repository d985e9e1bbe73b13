"""Faults, with real processes: SIGKILL at named points (PIPELINE_FAULT), Ctrl-C, two runs at
once, and byte-identical reruns. Recovery is checked against an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import digit_frames, write_competition

FAST = ["--epochs", "2", "--batch-size", "32"]


def pipeline(*args: str, cwd: Path, fault: str = "", check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIPELINE_FAULT": fault}
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def new_competition(root: Path) -> Path:
    train, test = digit_frames()
    write_competition(root, train, test)
    return root


def submit(root: Path) -> bytes:
    pipeline("run-all", *FAST, cwd=root)
    pipeline("predict", *FAST, "--out", "submissions/sub.csv", cwd=root)
    return (root / "submissions" / "sub.csv").read_bytes()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The submission of an uninterrupted run."""
    return submit(new_competition(tmp_path_factory.mktemp("reference")))


def temporaries(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*.tmp*")]


@pytest.mark.parametrize(
    ("command", "point"),
    [
        ("run-all", "read"),
        ("run-all", "write:preprocess.npz"),
        ("run-all", "write:split.npz"),
        ("run-all", "write:train.npz"),
        ("run-all", "validate"),
        ("predict", "write:predict.npz"),
        ("predict", "write:sub.csv"),
    ],
)
def test_kill_9_anywhere_then_a_rerun_gives_the_same_submission(
    tmp_path: Path, reference: bytes, command: str, point: str
) -> None:
    root = new_competition(tmp_path)
    killed = pipeline(command, *FAST, "--out", "submissions/sub.csv", cwd=root, fault=point, check=False) \
        if command == "predict" else pipeline(command, *FAST, cwd=root, fault=point, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    if point.startswith("write:"):
        assert temporaries(root), "the kill should have left the temporary copy behind"
    assert not (root / "submissions" / "sub.csv").exists()
    assert submit(root) == reference
    assert temporaries(root) == []


def validation_accuracy(root: Path) -> float:
    with np.load(root / "data/processed/validate.npz") as npz:
        return float(npz["accuracy"])


def test_training_killed_after_an_epoch_resumes_there(tmp_path: Path, reference: bytes) -> None:
    root = new_competition(tmp_path)
    options = ["--epochs", "4", "--batch-size", "32"]
    killed = pipeline("run-all", *options, cwd=root, fault="epoch:epoch 2/4", check=False)
    assert killed.returncode == -signal.SIGKILL and "epoch 2/4" in killed.stdout
    resumed = pipeline("run-all", *options, cwd=root)
    assert "resuming training from the checkpoints" in resumed.stdout
    assert "epoch 3/4" in resumed.stdout and "epoch 2/4" not in resumed.stdout
    assert not (root / "data/processed/.checkpoints").exists()

    uninterrupted = new_competition(tmp_path / "uninterrupted")
    pipeline("run-all", *options, cwd=uninterrupted)
    assert validation_accuracy(root) >= validation_accuracy(uninterrupted) - 0.05


def test_an_ensemble_keeps_its_finished_networks_and_no_resume_starts_over(tmp_path: Path) -> None:
    root = new_competition(tmp_path)
    options = ["--epochs", "2", "--ensemble", "2", "--batch-size", "32"]
    killed = pipeline("run-all", *options, cwd=root, fault="epoch:net 2/2 epoch 1/2", check=False)
    assert killed.returncode == -signal.SIGKILL
    resumed = pipeline("run-all", *options, cwd=root, fault="epoch:net 2/2 epoch 2/2", check=False)
    assert resumed.returncode == -signal.SIGKILL
    assert "net 1/2" not in resumed.stdout and "net 2/2 epoch 2/2" in resumed.stdout
    again = pipeline("run-all", *options, "--no-resume", cwd=root)
    assert "resuming" not in again.stdout and "net 1/2 epoch 1/2" in again.stdout


@pytest.mark.parametrize(("damaged", "first_epoch"), [("latest.weights.h5", 2), ("*.h5*", 1)])
def test_a_damaged_checkpoint_falls_back_to_the_one_before_or_starts_over(
    tmp_path: Path, damaged: str, first_epoch: int
) -> None:
    root = new_competition(tmp_path)
    options = ["--epochs", "3", "--batch-size", "32"]
    pipeline("run-all", *options, cwd=root, fault="epoch:epoch 2/3", check=False)
    backups = list((root / "data/processed/.checkpoints").rglob(damaged))
    assert backups
    for backup in backups:
        backup.write_bytes(b"not hdf5")
    done = pipeline("run-all", *options, cwd=root)
    assert f"epoch {first_epoch}/3" in done.stdout and f"epoch {first_epoch - 1}/3" not in done.stdout
    assert (root / "data/processed/train.npz").exists()


def test_a_different_seed_gives_a_different_model(tmp_path: Path, reference: bytes) -> None:
    root = new_competition(tmp_path)
    assert submit(root) == reference  # the same seed: byte-identical
    pipeline("predict", *FAST, "--seed", "7", "--out", "submissions/seed7.csv", cwd=root)
    with np.load(root / "data/processed/train.npz") as npz:
        seeded = npz["member0_weight_000"]
    pipeline("train", *FAST, "--seed", "42", cwd=root)  # the default seed again (7 stuck to the folder)
    with np.load(root / "data/processed/train.npz") as npz:
        assert not np.array_equal(seeded, npz["member0_weight_000"])


def wait_for(process: subprocess.Popen, text: str, timeout: float = 120) -> str:
    """Read `process`'s stdout until a line contains `text`."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen += line
        if text in line:
            return seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"never printed {text!r}:\n{seen}")


def start(root: Path, *args: str) -> subprocess.Popen:
    # Ctrl-C must reach the child as it would from a terminal, even when pytest itself was
    # started as a background job, which a non-interactive shell starts with SIGINT ignored.
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path: Path) -> None:
    root = new_competition(tmp_path)
    process = start(root, "run-all", "--epochs", "500", "--batch-size", "8")
    wait_for(process, "epoch 1/500")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err.strip()) == (130, "interrupted; cached stages are kept")
    assert (root / "data/processed/split.npz").exists() and not (root / "data/processed/train.npz").exists()


def test_a_second_run_waits_for_the_lock_then_finds_everything_cached(tmp_path: Path) -> None:
    root = new_competition(tmp_path)
    first = start(root, "run-all", "--epochs", "6", "--batch-size", "8")
    wait_for(first, "epoch 1/6")
    second = start(root, "run-all", "--epochs", "6", "--batch-size", "8")
    waited = wait_for(second, "waiting for another pipeline run")
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    rest = second.stdout.read()
    assert "running" not in waited + rest and (waited + rest).count("cached") == 5


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path: Path) -> None:
    root = new_competition(tmp_path)
    killed = pipeline("run-all", *FAST, cwd=root, fault="validate", check=False)
    assert killed.returncode == -signal.SIGKILL and (root / "data/processed/.lock").exists()
    done = pipeline("run-all", *FAST, cwd=root)
    assert "waiting" not in done.stdout


def test_a_data_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    root = new_competition(tmp_path)
    (root / "data/processed").write_text("a file where the cache folder should be")
    done = pipeline("run-all", *FAST, cwd=root, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot create data/processed") and len(done.stderr.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_read_only_raw_works_and_read_only_cache_is_one_line(tmp_path: Path) -> None:
    root = new_competition(tmp_path)
    raw, processed = root / "data/raw", root / "data/processed"
    processed.mkdir()
    for folder in (raw, processed):
        folder.chmod(0o555)
    try:
        done = pipeline("run-all", *FAST, cwd=root, check=False)
        assert done.returncode == 2 and "cannot write in data/processed" in done.stderr
        processed.chmod(0o755)
        pipeline("run-all", *FAST, cwd=root)
    finally:
        for folder in (raw, processed):
            folder.chmod(0o755)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("size=16k", "(No space left on device); free space"),  # full at ingest's cache entry
        ("size=1m", "(No space left on device); free space"),  # full at training's checkpoints
        ("ro", "cannot write in data/processed (Read-only file system)"),
    ],
)
def test_a_full_or_read_only_cache_disk_is_one_line_and_leaves_no_cache_entry(
    tmp_path: Path, options: str, message: str
) -> None:
    root = new_competition(tmp_path)
    processed = root / "data/processed"
    processed.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(processed)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("a small or read-only file system needs root to mount a tmpfs")
    try:
        done = pipeline("run-all", *FAST, cwd=root, check=False)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1, done.stderr
        assert message in done.stderr
        written = {p.name for p in processed.glob("*.npz")}
        assert not temporaries(root)
    finally:
        subprocess.run(["umount", str(processed)], check=True)
    assert written <= {"ingest.npz", "preprocess.npz", "split.npz"}  # the stage that failed left nothing
    pipeline("run-all", *FAST, cwd=root)  # a writable disk again: it completes
