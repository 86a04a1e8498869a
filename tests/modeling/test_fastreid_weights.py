"""fast-reid checkpoints load into reidlab's Baseline and give fast-reid's own features.

Three kinds of proof:
- the fixture fast-reid 1.4.0 itself wrote (R18 BoT): its features.npy, to 1e-4 relative;
- fast-reid's own modules (the fastreid 1.4.0 wheel, installed without its pinned torch by .ci/run):
  ResNet 34/50 with IBN and non-local blocks, GeM, and every classifier layer, built, saved as its
  Checkpointer saves, loaded by reidlab and compared feature for feature;
- the refusals: another tool's .pth, another depth, keys with no place.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from reidlab.modeling.fastreid_weights import WeightsError, map_fastreid_state
from reidlab.modeling.loading import FASTREID, LoadError, load_network, resolve_checkpoint_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fastreid_names import fastreid_names  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "fastreid-r18-bot"
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


def test_the_fixture_checkpoint_gives_fastreids_features():
    if not (FIXTURE / "model_final.pth").is_file():
        pytest.skip(f"the fast-reid fixture is absent: {FIXTURE}")
    loaded = load_network(FIXTURE)
    assert loaded.source_format == FASTREID and loaded.checkpoint_path.name == "model_final.pth"
    assert "KD.EMA" in loaded.config_note
    inputs = torch.from_numpy(np.load(FIXTURE / "inputs.npy"))
    if inputs.min() < 0:
        # fast-reid's Baseline normalises its input in place (images.sub_(mean).div_(std)), so the fixture's
        # writer saved the images after normalisation: min = -123.675 / 58.395. Undo it to get the 0-255 images.
        assert inputs.min().item() == pytest.approx(-123.675 / 58.395, abs=1e-4)
        inputs = inputs * STD + MEAN
    expected = np.load(FIXTURE / "features.npy")
    with torch.no_grad():
        features = loaded.network(inputs).numpy()
    assert np.abs(features - expected).max() <= 1e-4 * np.abs(expected).max()


# ---------------------------------------------------------------- against fast-reid's own modules
VARIANTS = {
    "R34 BoT, Linear": {"DEPTH": "34x", "WITH_IBN": False, "WITH_NL": False, "POOL_LAYER": "GlobalAvgPool", "CLS_LAYER": "Linear"},
    "R50 IBN + non-local, GeM, CircleSoftmax": {"DEPTH": "50x", "WITH_IBN": True, "WITH_NL": True, "POOL_LAYER": "GeneralizedMeanPoolingP", "CLS_LAYER": "CircleSoftmax"},
    "R50, GeM (fixed p), ArcSoftmax": {"DEPTH": "50x", "WITH_IBN": False, "WITH_NL": False, "POOL_LAYER": "GeneralizedMeanPooling", "CLS_LAYER": "ArcSoftmax"},
    "R101 non-local (9 blocks in stage 3), Linear": {"DEPTH": "101x", "WITH_IBN": False, "WITH_NL": True, "POOL_LAYER": "GlobalAvgPool", "CLS_LAYER": "Linear"},
    "R18 with WITH_NL (fast-reid builds none), CosSoftmax": {"DEPTH": "18x", "WITH_IBN": True, "WITH_NL": True, "POOL_LAYER": "GlobalAvgPool", "CLS_LAYER": "CosSoftmax"},
}


def fastreid_run(folder: Path, variant: dict) -> tuple[torch.nn.Module, Path]:
    """A fast-reid model of the variant, its BN statistics and GeM p moved off their defaults, saved as fast-reid saves a run."""
    fastreid_config = pytest.importorskip("fastreid.config", reason="fastreid 1.4.0 is not installed (.ci/run installs it with --no-deps)")
    from fastreid.modeling import build_model

    cfg = fastreid_config.get_cfg()
    backbone, heads = cfg.MODEL.BACKBONE, cfg.MODEL.HEADS
    backbone.DEPTH, backbone.WITH_IBN, backbone.WITH_NL, backbone.PRETRAIN = variant["DEPTH"], variant["WITH_IBN"], variant["WITH_NL"], False
    heads.POOL_LAYER, heads.CLS_LAYER, heads.NUM_CLASSES = variant["POOL_LAYER"], variant["CLS_LAYER"], 11
    backbone.FEAT_DIM = 512 if variant["DEPTH"] in ("18x", "34x") else 2048
    cfg.MODEL.DEVICE, cfg.INPUT.SIZE_TEST = "cpu", [64, 32]
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                if module.weight is not None:
                    module.weight.uniform_(0.6, 1.0)  # the non-local blocks' output BN starts at 0: make them count (<= 1: R101 stays finite)
        if hasattr(model.heads.pool_layer, "p") and isinstance(model.heads.pool_layer.p, torch.nn.Parameter):
            model.heads.pool_layer.p.fill_(2.5)
    model.eval()
    folder.mkdir(parents=True)
    torch.save({"model": model.state_dict(), "iteration": 0}, folder / "model_final.pth")  # fvcore's Checkpointer format
    (folder / "config.yaml").write_text(cfg.dump(), encoding="utf-8")
    return model, folder


@pytest.mark.parametrize("variant", list(VARIANTS), ids=list(VARIANTS))
def test_fastreids_own_model_gives_the_same_features_in_reidlab(tmp_path, variant):
    model, folder = fastreid_run(tmp_path / "run", VARIANTS[variant])
    images = torch.randint(0, 256, (3, 3, 64, 32)).float()
    with torch.no_grad():
        expected = model(images.clone())  # fast-reid normalises its input in place
        assert torch.isfinite(expected).all()
        loaded = load_network(folder)
        got = loaded.network(images)
    assert loaded.network.num_classes == 11
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


# ---------------------------------------------------------------- refusals
def test_another_tools_checkpoint_is_refused_in_one_line(tmp_path):
    torchreid = tmp_path / "torchreid.pth"
    torch.save({"state_dict": {"conv1.weight": torch.ones(1)}, "epoch": 3, "rank1": 0.9}, torchreid)
    with pytest.raises(LoadError, match="neither a reidlab nor a fast-reid checkpoint.*torchreid"):
        load_network(torchreid)
    random = tmp_path / "random.pth"
    torch.save(torch.ones(3), random)
    with pytest.raises(LoadError, match="it holds a Tensor"):
        load_network(random)


def test_a_fastreid_checkpoint_needs_a_config(tmp_path):
    from reidlab.config import load_config
    from reidlab.modeling import build_model

    model = build_model(load_config("configs/Synthetic/demo_R18_cpu.yml"), 5)
    torch.save({"model": fastreid_names(model.state_dict())}, tmp_path / "weights.pth")
    with pytest.raises(LoadError, match="carries no config.*--config-file"):
        load_network(tmp_path / "weights.pth")
    other_tool = tmp_path / "other.yaml"
    other_tool.write_text(yaml.safe_dump({"model": {"name": "osnet"}, "data": {"sources": ["market1501"]}}), encoding="utf-8")
    with pytest.raises(LoadError, match="other.yaml: unknown key data.*is it a reidlab or fast-reid config"):
        load_network(tmp_path / "weights.pth", other_tool)
    loaded = load_network(tmp_path / "weights.pth", "configs/Synthetic/demo_R18_cpu.yml")
    assert loaded.source_format == FASTREID and loaded.network.num_classes == 5


def test_a_checkpoint_of_another_depth_is_refused(tmp_path):
    from reidlab.config import load_config
    from reidlab.modeling import build_model

    r18 = build_model(load_config("configs/Synthetic/demo_R18_cpu.yml"), 5)
    torch.save({"model": fastreid_names(r18.state_dict())}, tmp_path / "model_final.pth")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"MODEL": {"BACKBONE": {"DEPTH": "34x", "FEAT_DIM": 512, "PRETRAIN": False}}}), encoding="utf-8")
    with pytest.raises(WeightsError, match="do not fit the model its config describes.*layer1.2.conv1.weight is not in the checkpoint.*another depth"):
        load_network(tmp_path)


def test_keys_with_no_place_are_named():
    from reidlab.config import load_config
    from reidlab.modeling import build_model

    model = build_model(load_config("configs/Synthetic/demo_R18_cpu.yml"), 5)
    state = fastreid_names(model.state_dict()) | {"backbone.layer1.0.se.fc.0.weight": torch.ones(1), "heads.bnneck_extra": torch.ones(1)}
    with pytest.raises(WeightsError, match=r"2 fast-reid key\(s\) have no place.*se\.fc.*WITH_SE"):
        map_fastreid_state(state, model, "x.pth")


def test_a_fastreid_folder_prefers_model_best(tmp_path):
    (tmp_path / "model_final.pth").write_bytes(b"x")
    assert resolve_checkpoint_path(tmp_path).name == "model_final.pth"
    (tmp_path / "model_best.pth").write_bytes(b"x")
    assert resolve_checkpoint_path(tmp_path).name == "model_best.pth"
