"""Config loading: fast-reid files, _BASE_ inheritance, overrides, and one-line errors."""

from pathlib import Path

import pytest

from reidlab.config import Config, ConfigError, config_to_yaml, load_config, override_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_bagtricks_has_fastreid_values():
    cfg = load_config("configs/Market1501/bagtricks_R50.yml")
    assert cfg.MODEL.BACKBONE.DEPTH == "50x"
    assert cfg.MODEL.HEADS.WITH_BNNECK is True
    assert cfg.MODEL.LOSSES.NAME == ["CrossEntropyLoss", "TripletLoss"]
    assert cfg.MODEL.LOSSES.CE.EPSILON == 0.1
    assert cfg.SOLVER.BASE_LR == 0.00035
    assert cfg.SOLVER.STEPS == [40, 90]
    assert cfg.SOLVER.WARMUP_ITERS == 2000
    assert cfg.DATASETS.NAMES == ["Market1501"]
    assert cfg.OUTPUT_DIR == "logs/market1501/bagtricks_R50"


def test_shipped_agw_and_sbs_have_fastreid_values():
    agw = load_config("configs/DukeMTMC/AGW_R50.yml")
    assert agw.MODEL.BACKBONE.WITH_NL and agw.MODEL.HEADS.POOL_LAYER == "GeneralizedMeanPooling"
    assert (agw.MODEL.LOSSES.TRI.MARGIN, agw.MODEL.LOSSES.TRI.HARD_MINING) == (0.0, False)
    assert agw.DATASETS.NAMES == ["DukeMTMC"] and agw.OUTPUT_DIR == "logs/dukemtmc/agw_R50"
    sbs = load_config("configs/MSMT17/sbs_R50.yml")
    heads = sbs.MODEL.HEADS
    assert (heads.CLS_LAYER, heads.SCALE, heads.MARGIN, heads.NECK_FEAT, heads.POOL_LAYER) == (
        "CircleSoftmax", 64.0, 0.35, "after", "GeneralizedMeanPoolingP"
    )
    assert sbs.MODEL.FREEZE_LAYERS == ["backbone"] and sbs.SOLVER.FREEZE_ITERS == 1000
    assert (sbs.INPUT.AUTOAUG.ENABLED, sbs.INPUT.AUTOAUG.PROB, sbs.INPUT.SIZE_TRAIN) == (True, 0.1, [384, 128])
    assert (sbs.SOLVER.SCHED, sbs.SOLVER.MAX_EPOCH, sbs.SOLVER.DELAY_EPOCHS, sbs.SOLVER.ETA_MIN_LR) == ("CosineAnnealingLR", 60, 30, 7e-7)
    assert sbs.DATALOADER.NUM_INSTANCE == 16 and sbs.TEST.EVAL_PERIOD == 10


@pytest.mark.parametrize("train_images", [100, 300, 1000])
def test_the_small_data_recipe_fits_a_few_hundred_images(train_images):
    from reidlab.engine.schedule_fit import schedule_warnings

    cfg = load_config("configs/small/bagtricks_R18.yml")
    assert (cfg.MODEL.BACKBONE.DEPTH, cfg.MODEL.BACKBONE.PRETRAIN, cfg.MODEL.DEVICE, cfg.SOLVER.AMP.ENABLED) == ("18x", False, "auto", True)
    assert "MODEL.BACKBONE.FEAT_DIM" not in cfg._set_keys  # derived from the backbone, so no width warning
    iterations = train_images // cfg.SOLVER.IMS_PER_BATCH
    solver = cfg.SOLVER
    assert schedule_warnings(solver.WARMUP_ITERS, iterations, solver.MAX_EPOCH, solver.SCHED, solver.STEPS) == []
    assert solver.WARMUP_ITERS <= 0.15 * iterations * solver.MAX_EPOCH and max(solver.STEPS) < solver.MAX_EPOCH


def test_every_shipped_config_loads():
    root = Path(__file__).resolve().parents[2] / "reidlab" / "configs"
    files = sorted(f for f in root.rglob("*.yml") if f.parent.name != "search")  # search/ holds search spaces
    assert len(files) >= 13
    for file in files:
        load_config(file)


def test_base_is_relative_to_including_file_and_child_wins(tmp_path):
    write(tmp_path / "base" / "Base.yml", "SOLVER:\n  BASE_LR: 0.1\n  MAX_EPOCH: 7\n")
    child = write(tmp_path / "exp" / "child.yml", "_BASE_: ../base/Base.yml\nSOLVER:\n  BASE_LR: 0.2\n")
    cfg = load_config(child)
    assert cfg.SOLVER.BASE_LR == 0.2
    assert cfg.SOLVER.MAX_EPOCH == 7


def test_overrides_are_typed_and_applied_last(tmp_path):
    cfg = load_config(None, ["SOLVER.BASE_LR", "1e-3", "SOLVER.STEPS", "[20, 50]", "INPUT.FLIP.ENABLED", "True"])
    assert cfg.SOLVER.BASE_LR == pytest.approx(1e-3)
    assert cfg.SOLVER.STEPS == [20, 50]
    assert cfg.INPUT.FLIP.ENABLED is True


def test_resolved_yaml_round_trips(tmp_path):
    cfg = load_config("configs/Market1501/bagtricks_R50.yml", ["SOLVER.MAX_EPOCH", "3"])
    again = load_config(write(tmp_path / "config.yaml", config_to_yaml(cfg)))
    assert again == cfg


def test_override_config_copies():
    cfg = Config()
    other = override_config(cfg, ["SOLVER.BASE_LR", "0.5"])
    assert other.SOLVER.BASE_LR == 0.5
    assert cfg.SOLVER.BASE_LR == 3e-4


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SOLVER:\n  BASE_LRR: 0.1\n", "unknown key SOLVER.BASE_LRR; did you mean SOLVER.BASE_LR?"),
        ("SOLVER:\n  BASE_LR: fast\n", "SOLVER.BASE_LR: Input should be a valid number"),
        ("MODEL:\n  BACKBONE:\n    WITH_SE: True\n", "not supported yet: MODEL.BACKBONE.WITH_SE"),
        ("MODEL:\n  BACKBONE:\n    DEPTH: 200x\n", "MODEL.BACKBONE.DEPTH 200x is not a depth of build_resnet_backbone"),
        ("MODEL:\n  BACKBONE:\n    NAME: build_resnest_backbone\n    WITH_NL: True\n", "MODEL.BACKBONE.WITH_NL True needs NAME build_resnet_backbone"),
        ("MODEL:\n  BACKBONE:\n    NAME: build_timm_backbone\n", "MODEL.BACKBONE.TIMM_MODEL is empty"),
        ("MODEL:\n  FREEZE_LAYERS: [ neck ]\n", "MODEL.FREEZE_LAYERS[0]: expected one of"),
        ("MODEL:\n  LOSSES:\n    TRI:\n      MARGIN: -0.1\n", "MODEL.LOSSES.TRI.MARGIN: Input should be greater than or equal to 0"),
        ("INPUT:\n  CROP:\n    ENABLED: True\n", "not supported yet: INPUT.CROP.ENABLED"),
        ("SOLVER: [1, 2\n", "malformed YAML at line"),
        ("- a\n- b\n", "a config must be a mapping"),
        ("MODEL:\n  LOSSES:\n    NAME: ('CrossEntropyLoss', 'CircleLoss')\n", "MODEL.LOSSES.NAME[1]: expected one of"),
        ("SOLVER: 3\n", "SOLVER is a section"),
    ],
)
def test_bad_file_gives_one_line_naming_file_and_key(tmp_path, text, expected):
    file = write(tmp_path / "bad.yml", text)
    with pytest.raises(ConfigError) as info:
        load_config(file)
    message = str(info.value)
    assert expected in message
    assert str(file) in message
    assert "\n" not in message


def test_bad_override_names_the_command_line():
    with pytest.raises(ConfigError, match=r"^command line: unknown key SOLVER\.IMS_PER_BATHC; did you mean SOLVER\.IMS_PER_BATCH\?"):
        load_config(None, ["SOLVER.IMS_PER_BATHC", "8"])
    with pytest.raises(ConfigError, match="has no value"):
        load_config(None, ["SOLVER.BASE_LR"])


def test_error_names_the_file_that_set_the_key(tmp_path):
    base = write(tmp_path / "Base.yml", "SOLVER:\n  MAX_EPOCH: -1\n")
    child = write(tmp_path / "child.yml", "_BASE_: Base.yml\n")
    with pytest.raises(ConfigError, match=r"Base\.yml: SOLVER\.MAX_EPOCH"):
        load_config(child)
    assert base.exists()


def test_missing_base_and_cycle(tmp_path):
    missing = write(tmp_path / "a.yml", "_BASE_: nowhere.yml\n")
    with pytest.raises(ConfigError, match="_BASE_ file not found"):
        load_config(missing)
    write(tmp_path / "x.yml", "_BASE_: y.yml\n")
    write(tmp_path / "y.yml", "_BASE_: x.yml\n")
    with pytest.raises(ConfigError, match="_BASE_ cycle"):
        load_config(tmp_path / "x.yml")


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("no/such/file.yml")


def test_yaml_on_off_reads_as_meant_for_cache_images():
    assert load_config(None, ["DATALOADER.CACHE_IMAGES", "on"]).DATALOADER.CACHE_IMAGES == "on"
    assert load_config(None, ["DATALOADER.CACHE_IMAGES", "off"]).DATALOADER.CACHE_IMAGES == "off"
