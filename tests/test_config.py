"""Settings: defaults, pipeline.toml, options, and the checks on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.parse import parse_duration
from pipeline.presets import DEFAULT_IMAGES, PRESETS, SMALL_IMAGES
from pipeline.errors import PipelineError


def test_toml_settings_reach_the_train_section(tmp_path: Path) -> None:
    file = tmp_path / "pipeline.toml"
    file.write_text('[train]\npreset = "best"\nrefit = true\ntime_budget = "10m"\nensemble = 5\n')
    train = load_config(config_file=file).train
    assert (train.preset, train.refit, train.time_budget, train.ensemble) == ("best", True, "10m", 5)
    assert load_config({"train": {"refit": False}}, config_file=file).train.refit is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[train]\nrefit = "yes"\n', "setting train.refit = 'yes' has the wrong type; give true or false"),
        ("[train]\nepochs = true\n", "setting train.epochs = True has the wrong type; give a whole number"),
        ("[train]\nepochs = -2\n", "--epochs -2 must be at least 1"),
        ('[train]\npreset = "slow"\n', "--preset 'slow' is unknown"),
        ('[train]\nprecision = "float16"\n', "--precision 'float16' is unknown; use auto, float32, bfloat16"),
    ],
)
def test_bad_toml_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "pipeline.toml"
    file.write_text(text)
    with pytest.raises(PipelineError, match=message):
        load_config(config_file=file)


def test_tta_is_one_setting_for_validate_and_predict(tmp_path: Path) -> None:
    file = tmp_path / "pipeline.toml"
    file.write_text("[predict]\ntta = true\n")
    config = load_config(config_file=file)
    assert config.section("validate") == config.section("predict") == {"tta": True}
    assert "tta" not in config.section("train")


def test_the_best_preset_turns_tta_on_unless_told_otherwise(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    assert load_config(config_file=none).predict.tta is False
    best = load_config({"train": {"preset": "best"}}, config_file=none)
    assert best.predict.tta is True and best.sources["predict.tta"] == "preset"
    assert load_config({"train": {"preset": "best"}, "predict": {"tta": False}}, config_file=none).predict.tta is False
    file = tmp_path / "pipeline.toml"
    file.write_text('[train]\npreset = "best"\n[predict]\ntta = false\n')
    assert load_config(config_file=file).predict.tta is False
    file.write_text('[train]\npreset = ["best"]\n')
    with pytest.raises(PipelineError, match="is unknown"):  # a clear error, not a TypeError
        load_config(config_file=file)


def test_the_default_epochs_and_ensemble_are_the_presets_choice(tmp_path: Path) -> None:
    train = load_config(config_file=tmp_path / "none.toml").train
    assert (train.preset, train.epochs, train.ensemble, train.refit) == ("default", 0, 0, False)


def test_the_default_averages_two_image_networks_on_small_image_sets_only() -> None:
    default = PRESETS["default"]
    assert default.members(SMALL_IMAGES - 1, image=True) == 2
    assert default.members(SMALL_IMAGES, image=True) == 1
    assert default.members(100, image=False) == 1  # a table
    best = PRESETS["best"]
    assert (best.members(3_600, image=True), best.members(54_000, image=True)) == (2, 1)
    assert best.members(300_000, image=False) == best.ensemble == 3  # a large table's networks on one split


def test_the_default_fixes_an_image_networks_epochs_by_its_training_rows_alone() -> None:
    default = PRESETS["default"]
    assert default.epochs(3_600) == default.epochs(1_437) == DEFAULT_IMAGES.most == 10  # 4k digits, 8x8 demo
    assert default.epochs(54_000) == 7  # Fashion-MNIST
    assert default.epochs(37_800) == 10  # a 42,000-row competition less validation's tenth
    assert default.epochs(500_000) == DEFAULT_IMAGES.least
    assert default.epochs(37_800, table=True) == 10  # a table's network keeps its own count


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("10m", 600), ("1h30m", 5400), ("1.5h", 5400), ("2 m", 120), ("", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0m", "10 minutes", "-5s", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(PipelineError, match="is not a duration; give e.g. 90s, 10m or 1h30m"):
        parse_duration(text)


def test_sources_name_the_file_or_option_each_value_came_from(tmp_path: Path) -> None:
    from pipeline.config import settings

    file = tmp_path / "pipeline.toml"
    file.write_text('data_dir = "elsewhere"\n[train]\nepochs = 7\nseed = 1\n')
    rows = {name: (value, source) for name, value, source in
            settings(load_config({"train": {"seed": 9, "refit": None}}, config_file=file))}
    assert rows["train.epochs"] == (7, str(file))
    assert rows["train.seed"] == (9, "option")
    assert rows["train.refit"] == (False, "default")
    assert rows["data_dir"] == ("elsewhere", str(file))


def test_the_readme_example_sets_every_key_to_its_default(tmp_path: Path) -> None:
    import re

    from pipeline.config import Config, settings

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    file = tmp_path / "pipeline.toml"
    file.write_text(example)
    documented = {name: value for name, value, _ in settings(load_config(config_file=file))}
    assert documented == {name: value for name, value, _ in settings(Config())}
    assert {n for n, _, source in settings(load_config(config_file=file)) if source == str(file)} == set(documented)
