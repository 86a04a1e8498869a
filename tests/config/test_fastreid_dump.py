"""A fast-reid run's dumped config.yaml loads: keys that change nothing are ignored and named, the rest stay errors."""

import sys
from pathlib import Path

import pytest
import yaml

from reidlab.config import ConfigError, build_config, ignored_keys_note, load_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "research"))
from fastreid_fixtures import fastreid_config  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "fastreid-r18-bot"


def write(tmp_path: Path, tree: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    return path


def test_a_full_fastreid_dump_loads_and_names_what_it_ignored(tmp_path):
    cfg = load_config(write(tmp_path, fastreid_config()))
    assert cfg.MODEL.BACKBONE.DEPTH == "50x" and cfg.MODEL.HEADS.NUM_CLASSES == 751
    note = ignored_keys_note(cfg, "config.yaml")
    assert note.startswith("config.yaml: ignored ") and "\n" not in note
    for ignored in ("KD.EMA.{ENABLED,MOMENTUM}", "MODEL.QUEUE_SIZE", "SOLVER.CLIP_GRADIENTS.{", "MODEL.BACKBONE.{ATT_DROP_RATE"):
        assert ignored in note
    assert ignored_keys_note(load_config(None)) == ""  # a reidlab config ignores nothing


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"SOLVER.CLIP_GRADIENTS.ENABLED": False, "SOLVER.CLIP_GRADIENTS.CLIP_VALUE": 10.0}, "SOLVER.CLIP_GRADIENTS.CLIP_VALUE"),
        ({"MODEL.LOSSES.CIRCLE.MARGIN": 0.4}, "MODEL.LOSSES.CIRCLE.MARGIN"),  # CircleLoss is not in LOSSES.NAME
        ({"MODEL.BACKBONE.DROP_PATH_RATIO": 0.3}, "MODEL.BACKBONE.DROP_PATH_RATIO"),  # a ViT key on a ResNet
        ({"INPUT.CROP.ENABLED": False, "INPUT.CROP.SIZE": [256, 128]}, "INPUT.CROP.SIZE"),  # a reidlab key it runs only at its default, switched off
    ],
)
def test_a_key_switched_off_by_another_is_ignored_whatever_its_value(tmp_path, overrides, key):
    cfg = load_config(write(tmp_path, fastreid_config(overrides)))
    assert key in cfg._ignored_keys and "INPUT.CROP.SIZE" not in load_config(None)._ignored_keys


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"SOLVER.CLIP_GRADIENTS.ENABLED": True}, "SOLVER.CLIP_GRADIENTS.ENABLED is a fast-reid key that reidlab does not run, and True would change"),
        ({"KD.MODEL_CONFIG": ["teacher.yml"]}, "KD.MODEL_CONFIG is a fast-reid key that reidlab does not run"),
        ({"MODEL.LOSSES.NAME": ["CrossEntropyLoss", "CircleLoss"]}, "MODEL.LOSSES.NAME"),
        ({"INPUT.AUGMIX.ENABLED": True}, "not supported yet: INPUT.AUGMIX.ENABLED"),
        ({"SOLVER.BASE_LRR": 0.1}, "unknown key SOLVER.BASE_LRR; did you mean SOLVER.BASE_LR?"),
    ],
)
def test_a_key_that_would_change_the_run_is_still_an_error_naming_it(tmp_path, overrides, message):
    path = write(tmp_path, fastreid_config(overrides))
    with pytest.raises(ConfigError, match="^" + str(path).replace(".", r"\.") + ": ") as caught:
        load_config(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_teacher_makes_the_kd_keys_count():
    tree = fastreid_config({"KD.EMA.MOMENTUM": 0.5})
    assert "KD.EMA.MOMENTUM" in build_config(tree)._ignored_keys
    tree["KD"]["MODEL_CONFIG"] = ["teacher.yml"]
    with pytest.raises(ConfigError, match="KD.MODEL_CONFIG"):
        build_config(tree)


def test_the_fixture_fastreid_dump_loads():
    if not (FIXTURE / "config.yaml").is_file():
        pytest.skip(f"the fast-reid fixture is absent: {FIXTURE}")
    cfg = load_config(FIXTURE / "config.yaml")
    assert (cfg.MODEL.BACKBONE.DEPTH, cfg.MODEL.HEADS.NUM_CLASSES, cfg.TEST.AQE.QE_K) == ("18x", 751, 5)
    assert "KD.EMA" in ignored_keys_note(cfg)
