"""The protocol every model family ("learner") follows, and the two ways a fitted model is
kept: a Keras network as its weights (exported as `model.keras`), a scikit-learn estimator as
pickled bytes (exported as `model.pkl`).

A learner fits one model on given rows (stopping early on others), predicts class
probabilities or values with it, turns it into cache arrays and back, and exports a list of
them (the members of an ensemble, or the models of the folds) for users.
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from pipeline import cache
from pipeline.keras_env import INFERENCE_BATCH, load_keras

if TYPE_CHECKING:
    from pipeline.config import TrainParams
    from pipeline.training.plan import Plan

Fitted = tuple[Any, dict[str, list[float]], int]  # the model, its history, its kept epoch (or iterations)


@dataclass(frozen=True)
class Job:
    """One model to fit: the outputs it has (1 for a number), the training settings, how
    strongly images are augmented, its seed, its plan (epochs, progress, task, a table's
    spec), its name (net0, fold2, refit0), where a network keeps its checkpoints, and a
    table's text columns as strings (every row's; pipeline.texts), for the learners that
    read text."""

    n_classes: int
    params: TrainParams
    augment: float
    seed: int
    plan: Plan
    name: str
    checkpoints: Path | None = None
    text: np.ndarray | None = None


class Learner:
    """A model family. `keras` families train under a tf.distribute strategy, in the
    precision --precision picks, and resume from checkpoints."""

    name = ""
    keras = False
    image = False  # fits images as images (a CNN); the others take a table's columns
    text = False  # reads the text columns' strings (Job.text, `text=`), not `x`
    stacks = False  # on a table with text, also reads the text model's scores (pipeline.learners.stack)
    cluster = False  # also trains on a Dask cluster's partitions: fit_cluster (pipeline.cluster)
    # keeps memory after fitting that nothing gives back: on a large table it fits in a process of
    # its own (pipeline.training.apart)
    retains = False

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        """A model trained on rows `fit_idx`, stopping early on `stop_idx` (None: a refit,
        for the epochs `job.plan` fixes)."""
        raise NotImplementedError

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        """One model's output on `x` (and its `text`): (n, classes) probabilities or an (n, 1)
        column of numbers."""
        raise NotImplementedError

    def predict(self, arrays: dict[str, np.ndarray], nets: list[Any], x: np.ndarray,
                on_batch: Callable[[int, int], None] | None = None, tta: bool = False,
                text: np.ndarray | None = None) -> np.ndarray:
        """The mean output of `nets` on rows `x` (and their `text`, for a learner that reads
        it); `on_batch(done, total)` reports progress."""
        predicted = np.mean([self.predict_one(net, x, arrays, text) for net in nets], axis=0)
        if on_batch:
            on_batch(1, 1)
        return predicted

    def dump(self, net: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def load(self, arrays: dict[str, np.ndarray], stored: dict[str, np.ndarray]) -> Any:
        """The model `dump` gave as `stored`; `arrays` are the whole model's (its shape, spec)."""
        raise NotImplementedError

    def export(self, arrays: dict[str, np.ndarray], nets: list[Any], folder: Path) -> Path:
        raise NotImplementedError

    # -- a stored model: its arrays in the cache (see pipeline.models.to_arrays) --------------

    def nets(self, arrays: dict[str, np.ndarray], final: bool = True) -> list[Any]:
        """The models stored in `arrays`: the refit ones when `final` and present, else the
        validated members (or fold models)."""
        group = "refit" if final and any(k.startswith("refit") for k in arrays) else "member"
        nets = []
        while stored := {k[len(f"{group}{len(nets)}_"):]: v for k, v in arrays.items()
                         if k.startswith(f"{group}{len(nets)}_")}:
            nets.append(self.load(arrays, stored))
        return nets

    def predict_model(self, arrays: dict[str, np.ndarray], x: np.ndarray,
                      on_batch: Callable[[int, int], None] | None = None, final: bool = True,
                      tta: bool = False, text: np.ndarray | None = None) -> np.ndarray:
        return self.predict(arrays, self.nets(arrays, final), x, on_batch, tta, text)

    def export_model(self, arrays: dict[str, np.ndarray], folder: Path) -> list[Path]:
        """The files written into `folder` for users."""
        folder.mkdir(parents=True, exist_ok=True)
        return [self.export(arrays, self.nets(arrays), folder)]

    def first_member(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`arrays` as if it held only its first member: a bagged model's fold-0 model, which
        never trained on fold 0's rows."""
        return {k: v for k, v in arrays.items() if not re.match(r"(member|refit)\d+_", k) or k.startswith("member0_")}


class KerasLearner(Learner):
    """A Keras network, kept as its weights; several become one `model.keras` that averages them."""

    keras = True

    def build(self, input_shape: tuple[int, ...], n_classes: int, augment: float = 0.0,
              precision: str = "float32", spec: dict[str, np.ndarray] | None = None) -> Any:
        """A fresh, uncompiled network; `n_classes` is 1 for a number."""
        raise NotImplementedError

    def fit(self, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray | None,
            job: Job) -> Fitted:
        from pipeline.training.keras_fit import fit_keras, resumable

        return resumable(fit_keras, job.checkpoints)(self.build, x, y, fit_idx, stop_idx, job.n_classes, job.params,
                                                     job.augment, job.seed, job.plan, job.name, text=job.text)

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        return net.predict(x, batch_size=INFERENCE_BATCH, verbose=0)

    def dump(self, net: Any) -> dict[str, np.ndarray]:
        return {f"weight_{i:03d}": weight for i, weight in enumerate(net.get_weights())}

    def load(self, arrays: dict[str, np.ndarray], stored: dict[str, np.ndarray]) -> Any:
        net = self.build(tuple(arrays["input_shape"]), int(arrays["n_classes"]), float(arrays["augment"]),
                         spec=spec_of(arrays))
        net.set_weights([stored[k] for k in sorted(stored)])
        return net

    def inputs(self, keras: Any, net: Any, arrays: dict[str, np.ndarray]) -> Any:
        """The inputs of the averaged model that `export` writes for several networks."""
        return keras.Input(tuple(int(d) for d in arrays["input_shape"]))

    def export(self, arrays: dict[str, np.ndarray], nets: list[Any], folder: Path) -> Path:
        path = folder / "model.keras"
        model = nets[0]
        if len(nets) > 1:
            keras = load_keras()
            inputs = self.inputs(keras, model, arrays)
            outputs = [keras.Model(net.inputs, net.output, name=f"net{m}")(inputs) for m, net in enumerate(nets)]
            model = keras.Model(inputs, keras.layers.Average()(outputs), name="ensemble")
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
        try:
            model.save(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


class SklearnLearner(Learner):
    """A scikit-learn estimator on a table's columns (category codes, NaN for missing),
    kept pickled; exported as `model.pkl` (a list when there are several)."""

    def predict_one(self, net: Any, x: np.ndarray, arrays: dict[str, np.ndarray],
                    text: np.ndarray | None = None) -> np.ndarray:
        x = x.reshape(len(x), -1)
        return net.predict_proba(x) if hasattr(net, "predict_proba") else net.predict(x)[:, None]

    def dump(self, net: Any) -> dict[str, np.ndarray]:
        return {"pickle": np.frombuffer(pickle.dumps(net), dtype=np.uint8)}

    def load(self, arrays: dict[str, np.ndarray], stored: dict[str, np.ndarray]) -> Any:
        return pickle.loads(stored["pickle"].tobytes())

    def export(self, arrays: dict[str, np.ndarray], nets: list[Any], folder: Path) -> Path:
        return write_pickle(folder, nets[0] if len(nets) == 1 else nets)


def at_most(rows: np.ndarray, most: int, seed: int) -> np.ndarray:
    """`rows`, or past `most` of them that many drawn with `seed` (in their order): a learner's
    row budget."""
    if len(rows) <= most:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, most, replace=False))


def drawn(used: int, offered: int) -> str:
    """What a learner's progress line adds when `at_most` drew its rows: how many of how many."""
    return "" if used == offered else f" on {used:,} of its {offered:,} rows, drawn with the seed"


def write_pickle(folder: Path, estimators: Any) -> Path:
    """`folder/model.pkl`, written atomically."""
    path = folder / "model.pkl"
    cache.atomic_write_bytes(path, pickle.dumps(estimators))
    return path


def spec_of(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A table network's description (pipeline.tabular.spec), as the model's arrays hold it."""
    return {k[len("spec_"):]: v for k, v in arrays.items() if k.startswith("spec_")}
