"""The model families the train stage fits ("learners"), one module each behind the protocol
of pipeline.learners.base, by the names `--model` takes and the cache stores. Adding a family
is its module and one line in REGISTRY (and, to be tried by default on tables, in TABLE)."""

from __future__ import annotations

from pipeline.errors import PipelineError
from pipeline.learners.base import Job, Learner
from pipeline.learners.blend import Blend
from pipeline.learners.boosting import Boosting
from pipeline.learners.catboost import CatBoost
from pipeline.learners.cnn import CNN_BLOCKS, CNN_LARGE_BLOCKS, Cnn
from pipeline.learners.lgbm import LightGbm
from pipeline.learners.linear import Linear
from pipeline.learners.table_net import TableNet
from pipeline.learners.text import Text

REGISTRY: dict[str, Learner] = {}
REGISTRY.update({learner.name: learner for learner in (
    Cnn("cnn", CNN_BLOCKS),
    Cnn("cnn_large", CNN_LARGE_BLOCKS),
    TableNet(),
    Boosting(),
    CatBoost(),
    Linear(),
    LightGbm(),
    Text(),
    Blend(REGISTRY),
)})
TABLE = ("mlp", "hgb", "cat", "linear")  # what a table fits by default, then blends out of fold
TEXT = ("text",)  # and, when it has text columns, these too


def get(name: str) -> Learner:
    return REGISTRY[name]


def chosen(model: str, image: bool, image_model: str, text: bool = False,
           table: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The learners --model asks for on this data: `auto` is the preset's `image_model` for
    images and, for a table, the `table` learners given or else every TABLE learner (with
    TEXT ones where it has `text` columns), as is a CNN asked for on a table."""
    table = table or TABLE + (TEXT if text else ())
    if model == "auto":
        return (image_model,) if image else table
    if REGISTRY[model].image and not image:
        return table
    if REGISTRY[model].text and not text:
        raise PipelineError(f"--model {model} reads text columns, and train.csv has none; choose another --model")
    return (model,)


__all__ = ["Job", "Learner", "REGISTRY", "TABLE", "TEXT", "chosen", "get"]
