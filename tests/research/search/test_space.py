"""The search space file: format, schema checks with one-line errors, sampling, and invalid combinations."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from reidlab.config import load_config
from reidlab.research.search import SearchError
from reidlab.research.search.constraints import check_combinations, config_problem
from reidlab.research.search.space import check_not_overridden, check_values_against, load_search_space, override_text, space_overrides

EXAMPLE = Path(__file__).resolve().parents[3] / "reidlab" / "configs" / "search" / "example_space.yml"
BAGTRICKS = "configs/Market1501/bagtricks_R50.yml"


def space_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, base_overrides: tuple[str, ...] = ()) -> str:
    path = space_file(tmp_path, text)
    with pytest.raises(SearchError) as caught:
        space = load_search_space(path)
        base = load_config(BAGTRICKS, base_overrides)
        check_values_against(space, base)
        check_combinations(space, base)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_example_space_loads_and_checks_against_bagtricks() -> None:
    space = load_search_space(EXAMPLE)
    base = load_config(BAGTRICKS)
    check_values_against(space, base)
    check_combinations(space, base)
    assert space.keys[:4] == ["SOLVER.BASE_LR", "SOLVER.IMS_PER_BATCH", "MODEL.LOSSES.TRI.SCALE", "SOLVER.SCHED"]
    lr = space.param("SOLVER.BASE_LR")
    assert (lr.kind, lr.low, lr.high, lr.log) == ("float", 1e-4, 1e-3, True)
    assert space.param("SOLVER.IMS_PER_BATCH").choices == (32, 64)


def test_types_follow_the_schema_and_yaml_1e_minus_4_is_a_number(tmp_path: Path) -> None:
    space = load_search_space(space_file(tmp_path, (
        "SOLVER.BASE_LR: {low: 1e-4, high: 1e-3, log: true}\n"
        "SOLVER.MAX_EPOCH: {low: 10, high: 30, step: 10}\n"
        "SOLVER.STEPS: {choices: [[40, 90], [30, 60]]}\n"
    )))
    assert space.param("SOLVER.BASE_LR").low == pytest.approx(1e-4)
    assert space.param("SOLVER.MAX_EPOCH").kind == "int"
    steps = space.param("SOLVER.STEPS")
    assert steps.choices == ("[40, 90]", "[30, 60]")
    values = space.suggest(optuna.trial.FixedTrial({"SOLVER.BASE_LR": 2e-4, "SOLVER.MAX_EPOCH": 20, "SOLVER.STEPS": "[30, 60]"}))
    assert values == {"SOLVER.BASE_LR": 2e-4, "SOLVER.MAX_EPOCH": 20, "SOLVER.STEPS": [30, 60]}
    cfg = load_config(BAGTRICKS, space_overrides(values))
    assert (cfg.SOLVER.BASE_LR, cfg.SOLVER.MAX_EPOCH, cfg.SOLVER.STEPS) == (2e-4, 20, [30, 60])


def test_override_text_reads_back_as_the_same_value() -> None:
    assert override_text(1e-05) == "1.0e-05"
    assert override_text([40, 90]) == "[40, 90]"
    assert override_text("CosineAnnealingLR") == "CosineAnnealingLR"
    assert override_text(True) == "true"


def test_contains_tells_which_config_values_the_space_can_express() -> None:
    space = load_search_space(EXAMPLE)
    lr, batch = space.param("SOLVER.BASE_LR"), space.param("SOLVER.IMS_PER_BATCH")
    assert lr.contains(3.5e-4) and not lr.contains(3.5e-5)
    assert batch.contains(64) and not batch.contains(48)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TRI.SCALE: {low: 0.5, high: 2}\n", "unknown key TRI.SCALE; did you mean MODEL.LOSSES.TRI.SCALE?"),
        ("SOLVER.BASE_LRR: {low: 1e-4, high: 1e-3}\n", "unknown key SOLVER.BASE_LRR; did you mean SOLVER.BASE_LR?"),
        ("SOLVER: {low: 1, high: 2}\n", "SOLVER is a section"),
        ("OUTPUT_DIR: {choices: [a, b]}\n", "OUTPUT_DIR cannot be searched"),
        ("SOLVER.SCHED: {low: 1, high: 2}\n", "SOLVER.SCHED: this key is not a number"),
        ("SOLVER.SCHED: {choices: [Foo, MultiStepLR]}\n", "SOLVER.SCHED: 'Foo' is not a valid value"),
        ("SOLVER.BASE_LR: {low: 1e-3, high: 1e-4}\n", "SOLVER.BASE_LR: low must be below high"),
        ("SOLVER.BASE_LR: {low: 0, high: 1e-3, log: true}\n", "needs low > 0"),
        ("SOLVER.BASE_LR: {low: 1e-4, hi: 1e-3}\n", "unknown field(s) hi"),
        ("SOLVER.IMS_PER_BATCH: {low: 16.5, high: 64}\n", "must be a whole number"),
        ("SOLVER.IMS_PER_BATCH: {choices: []}\n", "non-empty list"),
        ("SOLVER.BASE_LR: 0.001\n", "give a range"),
        ("SOLVER.IMS_PER_BATCH: {choices: [32, 48, 62]}\n", "SOLVER.IMS_PER_BATCH 62 is not divisible by DATALOADER.NUM_INSTANCE 4"),
        ("[1, 2]\n", "a search space is a mapping"),
        ("SOLVER.BASE_LR: {low: [1\n", "malformed YAML"),
    ],
)
def test_one_line_errors_name_the_space_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{(tmp_path / 'space.yml').as_posix()}: ")
    assert expected in message


def test_invalid_combination_across_two_searched_keys_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "SOLVER.IMS_PER_BATCH: {choices: [32, 64]}\nDATALOADER.NUM_INSTANCE: {low: 2, high: 6, step: 2}\n")
    assert "SOLVER.IMS_PER_BATCH, DATALOADER.NUM_INSTANCE" in message
    assert "not divisible by DATALOADER.NUM_INSTANCE 6" in message


def test_a_searched_key_cannot_also_be_overridden(tmp_path: Path) -> None:
    space = load_search_space(EXAMPLE)
    with pytest.raises(SearchError, match="SOLVER.BASE_LR is searched"):
        check_not_overridden(space, ["DATASETS.ROOT", "x", "SOLVER.BASE_LR", "0.1"])


def test_config_problem_catches_a_batch_the_identity_sampler_cannot_draw() -> None:
    assert config_problem(load_config(BAGTRICKS)) is None
    problem = config_problem(load_config(BAGTRICKS, ["SOLVER.IMS_PER_BATCH", "30"]))
    assert "SOLVER.IMS_PER_BATCH 30 is not divisible by DATALOADER.NUM_INSTANCE 4" in problem
    assert config_problem(load_config(BAGTRICKS, ["SOLVER.IMS_PER_BATCH", "30", "DATALOADER.SAMPLER_TRAIN", "TrainingSampler"])) is None
