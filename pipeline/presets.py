"""What the presets fast, default and best mean: how much training each buys. Training policy,
read by the train stage (so a change here re-runs train), not configuration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Epochs:
    """About `rows` training rows seen per network (so small data gets more epochs), within
    [least, most] epochs."""

    rows: int
    least: int
    most: int

    def of(self, n_train: int, least: int | None = None) -> int:
        return max(self.least if least is None else least, min(self.most, round(self.rows / max(n_train, 1))))


@dataclass(frozen=True)
class Preset:
    """How much training a preset buys: each image network's epochs (`images`) and each
    table network's (`tables`), fixed before training from the number of training rows; on
    images, networks of `image_model` when --model is auto, `image_ensemble` of them (under
    SMALL_IMAGES training rows, and from there on) where that is set, else `ensemble` (also a
    table's networks on one held-out split); `tta` unless --no-tta. On a table past
    LARGE_TABLE training rows, `large_table` names the learners it trains."""

    images: Epochs
    tables: Epochs
    ensemble: int
    image_model: str = "cnn"
    image_ensemble: tuple[int, int] | None = None  # (under SMALL_IMAGES training rows, from there on)
    tta: bool = False
    large_table: tuple[str, ...] = ()  # the learners a large table trains (none named: every table learner)

    def epochs(self, n_train: int, table: bool = False) -> int:
        if not table:
            return self.images.of(n_train)
        # a table too large for the least epochs sees TABLE_ROWS_SEEN rows in all (at least one epoch)
        return self.tables.of(n_train, min(self.tables.least, max(1, round(TABLE_ROWS_SEEN / max(n_train, 1)))))

    def members(self, n_train: int, image: bool) -> int:
        if image and self.image_ensemble:
            return self.image_ensemble[n_train >= SMALL_IMAGES]
        return self.ensemble


# The default's image networks: epochs fixed by the number of training rows, never by how
# validation scores move (which differ from CPU to CPU), sized so that both commands take at
# most half the Kaggle recipe's time with oneDNN held to AVX2 (float32, where AVX-512 with
# bfloat16 is faster): on a small set (under SMALL_IMAGES rows) two networks of 10 epochs,
# averaged (4k digits: 2 x 15 scored as 1 x 30, with less spread between seeds; 2 x 12 took
# 0.46x to 0.62x of the recipe held to AVX2), and on Fashion-MNIST's 54,000 rows one of 7
# (9 took 0.59x) (docs/avx2.md, "Epochs fixed before training").
SMALL_IMAGES = 10_000
DEFAULT_IMAGES = Epochs(rows=378_000, least=5, most=10)
# best's: one cnn_large of about 1,080,000 images' worth (20 epochs on Fashion-MNIST's 54,000
# training rows), two of 30 epochs on a small set, so both commands take about twice the
# recipe's time held to AVX2. On Fashion-MNIST one of 22 epochs scored 0.9417 in 2.31x held to
# AVX2 (1.70x natively), where two of 11 scored 0.9384 in 2.01x natively, three of 14 0.9408
# in 3.58x, and three `cnn` of 13 0.9369; on the 4k digits two of 30 scored 0.989 and 0.990
# in 1.62x to 1.78x natively, as three of 20 did (docs/avx2.md, "The best preset").
BEST_IMAGES = Epochs(rows=1_080_000, least=5, most=30)

# A table network of the default and best presets sees this many rows' worth (a table of up
# to 3,000 training rows per fold still gets their 100 epochs). On mixed_50k (25,000 rows per
# fold) 12 epochs instead of 32 scored 0.8363 AUC out of fold rather than 0.8116 and the
# blend 0.8463 on test rather than 0.8448, in 145 s rather than 186 s; reg_40k's and
# dated_15k's blends lost 0.3% and 0.2% RMSE for 34% and 43% less time (docs/tabular.md, "The
# network's rows on larger tables").
TABLE_ROWS = 300_000
# and, on a table too large for the preset's least epochs, this many rows in all (at least one
# epoch): 3 epochs of a 1,000,000-row table's 900,000 training rows, where 10 took 380 s.
TABLE_ROWS_SEEN = 3_000_000

# A table of more training rows than this is large: on one held-out split its estimators
# (boosting, the linear model) are not refit on train + validation (the validation rows add a
# tenth to rows that are already many, and the refit doubled boosting's time: hgb 27 s -> 55 s
# on 900,000 rows; --refit asks for it anyway), and the fast preset trains only
# `large_table` learners on it.
LARGE_TABLE = 200_000

PRESETS = {
    # On 1,000,000 rows, boosting alone: the network's 3 epochs took 85 s, boosting 12.5 s
    "fast": Preset(images=Epochs(100_000, 2, 10), tables=Epochs(100_000, 2, 10), ensemble=1, large_table=("hgb",)),
    "default": Preset(images=DEFAULT_IMAGES, tables=Epochs(TABLE_ROWS, 10, 100), ensemble=1, image_ensemble=(2, 1)),
    "best": Preset(images=BEST_IMAGES, tables=Epochs(TABLE_ROWS, 10, 100), ensemble=3, image_model="cnn_large",
                   image_ensemble=(2, 1), tta=True),
}
