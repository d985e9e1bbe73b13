"""What the presets fast, default and best mean: how much training each buys. Training policy,
read by the train stage (so a change here re-runs train), not configuration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """How much training a preset buys: about `images` training images seen per network
    (so small data gets more epochs), within [min_epochs, max_epochs], times `ensemble`, of
    `image_model` when --model is auto and the data are images; `tta` unless --no-tta. With
    `converge`, an image network trains until validation converges (see
    pipeline.training.schedule), within a cap of its own (CONVERGE_IMAGES); `small_ensemble`
    is then how many such networks to average on fewer than SMALL_IMAGES training rows.
    On a table past LARGE_TABLE training rows, `large_table` names the learners it trains."""

    images: int
    min_epochs: int
    max_epochs: int
    ensemble: int
    image_model: str = "cnn"
    tta: bool = False
    converge: bool = False
    small_ensemble: int = 0
    large_table: tuple[str, ...] = ()  # the learners a large table trains (none named: every table learner)

    def epochs(self, n_train: int, converging: bool = False, table: bool = False) -> int:
        if converging:
            images, least, most = CONVERGE_IMAGES, CONVERGE_MIN_EPOCHS, CONVERGE_MAX_EPOCHS
        else:
            images, least, most = self.images, self.min_epochs, self.max_epochs
        if table:
            images = min(images, TABLE_ROWS)
            least = min(least, max(1, round(TABLE_ROWS_SEEN / max(n_train, 1))))
        return max(least, min(most, round(images / max(n_train, 1))))

    def members(self, n_train: int, converging: bool) -> int:
        if converging and self.small_ensemble and n_train < SMALL_IMAGES:
            return self.small_ensemble
        return self.ensemble


# On a small image set a converging network trains in a minute or two, and a second one,
# averaged, gains more than longer training: on the 4k digits, two converging networks scored
# 0.987 and 0.989 in 0.55x to 0.68x of the recipe's time, where one scored 0.984 to 0.987, and
# one trained twice as long (patience 8) 0.986 and 0.988 (docs/avx2.md).
SMALL_IMAGES = 10_000

# A converging network's cap, which only a set that still improves reaches: about 560,000
# images' worth, so that a 42,000-row competition (37,800 training rows) trains at most 15
# epochs, 5.9 minutes on the 2-core AVX2 EPYC (11.3 on Eigen's kernels), so under 15
# even when that VM runs at half speed, where 800,000 images' worth (21 epochs) would not; and
# at least 15 epochs, which Fashion-MNIST's 54,000 rows need for 0.935 on test (docs/avx2.md).
CONVERGE_IMAGES = 560_000
CONVERGE_MIN_EPOCHS = 15
# and at most the recipe's 30 epochs: two networks on a small set then train at most twice the
# recipe's epochs, at 2.3x to 2.6x its images/s on the same kernels, so in less than its time
# however late they converge (one 4k-digit seed took 1.16x of it with a cap of 100; docs/avx2.md)
CONVERGE_MAX_EPOCHS = 30


# A table network sees at most this many rows (a table of up to 3,000 training rows per fold
# still gets the preset's 100 epochs). On mixed_50k (25,000 rows per fold) 12 epochs instead
# of 32 scored 0.8363 AUC out of fold rather than 0.8116 and the blend 0.8463 on test rather
# than 0.8448, in 145 s rather than 186 s; reg_40k's and dated_15k's blends lost 0.3% and
# 0.2% RMSE for 34% and 43% less time (docs/tabular.md, "The network's rows on larger tables").
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
    "fast": Preset(images=100_000, min_epochs=2, max_epochs=10, ensemble=1, large_table=("hgb",)),
    "default": Preset(images=800_000, min_epochs=10, max_epochs=100, ensemble=1, converge=True, small_ensemble=2),
    "best": Preset(images=800_000, min_epochs=10, max_epochs=100, ensemble=3, image_model="cnn_large", tta=True),
}
