"""The model families the train stage fits ("learners"), one module each behind the protocol
of pipeline.learners.base, by the names `--model` takes and the cache stores. Adding a family
is its module and one line in REGISTRY (and, to be tried by default on tables, in TABLE)."""

from __future__ import annotations

from pipeline.learners.base import Job, Learner
from pipeline.learners.blend import Blend
from pipeline.learners.boosting import Boosting
from pipeline.learners.catboost import CatBoost
from pipeline.learners.cnn import CNN_BLOCKS, CNN_LARGE_BLOCKS, Cnn
from pipeline.learners.linear import Linear
from pipeline.learners.table_net import TableNet

REGISTRY: dict[str, Learner] = {}
REGISTRY.update({learner.name: learner for learner in (
    Cnn("cnn", CNN_BLOCKS),
    Cnn("cnn_large", CNN_LARGE_BLOCKS),
    TableNet(),
    Boosting(),
    CatBoost(),
    Linear(),
    Blend(REGISTRY),
)})
TABLE = ("mlp", "hgb", "cat", "linear")  # what a table fits by default, then blends out of fold


def get(name: str) -> Learner:
    return REGISTRY[name]


def chosen(model: str, image: bool, image_model: str) -> tuple[str, ...]:
    """The learners --model asks for on this data: `auto` is the preset's `image_model` for
    images and every TABLE learner for a table, as is a CNN asked for on a table."""
    if model == "auto":
        return (image_model,) if image else TABLE
    if REGISTRY[model].image and not image:
        return TABLE
    return (model,)


__all__ = ["Job", "Learner", "REGISTRY", "TABLE", "chosen", "get"]
