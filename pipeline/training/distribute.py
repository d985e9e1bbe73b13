"""tf.distribute for training: the strategy --strategy asks for (one, mirrored over devices,
multi-worker over the machines TF_CONFIG lists), created once per process, the check of
TF_CONFIG before TensorFlow starts, the patch that lets Keras 3 fit across workers, and the
mean of a number over all replicas. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pipeline.errors import PipelineError
from pipeline.keras_env import load_keras

TF_CONFIG_SHAPE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                   '"task": {"type": "worker", "index": 0}}')
_strategies: dict[str, Any] = {}  # one per process: see `distribution`


def distribution(name: str) -> tuple[Any, str]:
    """The tf.distribute strategy that `name` (TrainParams.strategy) asks for, and its resolved
    name: `one` is TensorFlow's default strategy; `mirrored` replicates over all GPUs (over the
    logical CPU devices when there is none); `multi-worker` over the machines TF_CONFIG lists;
    `auto` is mirrored when more than one GPU is visible, else one.

    Created once per process and reused: MultiWorkerMirroredStrategy configures TensorFlow's
    collective ops, which a process can do only once and only before it runs any op."""
    if name == "multi-worker":
        _check_tf_config(os.environ.get("TF_CONFIG", ""))
    load_keras()  # TensorFlow's start-up lines stay hidden
    import tensorflow as tf

    if name == "auto":
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "one"
    if name not in _strategies:
        if name == "one":
            _strategies[name] = tf.distribute.get_strategy()
        elif name == "mirrored":
            gpus = tf.config.list_logical_devices("GPU")
            devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
            _strategies[name] = tf.distribute.MirroredStrategy(devices)
        else:
            try:
                _strategies[name] = tf.distribute.MultiWorkerMirroredStrategy()
            except (RuntimeError, ValueError) as exc:
                raise PipelineError(f"--strategy multi-worker could not start: {exc}; run it as its "
                                    f"own `pipeline` command, with TF_CONFIG = {TF_CONFIG_SHAPE}") from None
            _let_keras_fit_across_workers(tf)
    return _strategies[name], name


def _let_keras_fit_across_workers(tf: Any) -> None:
    """Keras 3 (3.15 at least) cannot `fit` under MultiWorkerMirroredStrategy
    (keras-team/keras#20585, tensorflow/tensorflow#72388): it builds the model from a batch
    averaged over the workers, which the collective reduce rejects, and averages each step's
    loss and metrics over axis 0, which scalars lack. Build from this worker's first replica's
    batch, and average over all replicas. Only done for multi-worker runs, and skipped when
    Keras' internals have moved on (and, presumably, been fixed)."""
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        return
    Trainer = getattr(trainer, "TensorFlowTrainer", None)
    across_workers = getattr(trainer, "_collective_all_reduce_multi_worker", None)
    reduce_per_replica = getattr(trainer, "reduce_per_replica", None)
    if not (across_workers and reduce_per_replica and hasattr(Trainer, "_maybe_symbolic_build")
            and hasattr(Trainer, "_symbolic_build")):
        return

    def reduce(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and across_workers(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return reduce_per_replica(values, strategy, reduction)

    def build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = self.distribute_strategy.experimental_local_results(next(batches))[0]
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    trainer.reduce_per_replica = reduce
    Trainer._maybe_symbolic_build = build


def _check_tf_config(text: str) -> None:
    """TF_CONFIG holds the cluster and this machine's place in it, as JSON."""
    if not text.strip():
        raise PipelineError(f"--strategy multi-worker needs TF_CONFIG set on every machine, e.g. "
                            f"TF_CONFIG='{TF_CONFIG_SHAPE}' with each machine's own task index")
    try:
        config = json.loads(text)
        valid = isinstance(config["cluster"], dict) and isinstance(config["task"]["index"], int)
    except (ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise PipelineError(f"TF_CONFIG is not a cluster description; give JSON like {TF_CONFIG_SHAPE}")


def mean_over_workers(strategy: Any, value: float) -> float:
    """The mean of each replica's `value`: the same number on every worker."""
    import tensorflow as tf

    each = strategy.run(lambda: tf.constant(value, tf.float32))
    return float(strategy.reduce(tf.distribute.ReduceOp.MEAN, each, axis=None))
