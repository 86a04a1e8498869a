"""timm backbones (optional extra): ResNeSt and any timm CNN; clear errors without timm or without weights."""

from __future__ import annotations

import sys

import pytest
import torch

from reidlab.config import ConfigError, build_config
from reidlab.modeling import PretrainedWeightsError, build_backbone, build_model


def _cfg(**backbone):
    return build_config({"MODEL": {"BACKBONE": {"PRETRAIN": False, **backbone}, "HEADS": {"WITH_BNNECK": True}}})


def test_without_timm_the_error_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm now raises ImportError
    with pytest.raises(ConfigError, match=r"needs timm, which is not installed: pip install timm \(or pip install 'reidlab\[timm\]'\)"):
        build_backbone(_cfg(NAME="build_resnest_backbone"))


def test_resnest_50_gives_fastreid_shapes_with_last_stride_one(one_torch_thread) -> None:
    pytest.importorskip("timm")
    backbone = build_backbone(_cfg(NAME="build_resnest_backbone", DEPTH="50x")).eval()
    assert backbone.model_name == "resnest50d" and backbone.out_channels == 2048
    with torch.no_grad():
        assert backbone(torch.randn(1, 3, 64, 32)).shape == (1, 2048, 4, 2)  # stride 16, as ResNet with LAST_STRIDE 1


def test_any_timm_cnn_trains_and_embeds_in_the_baseline(one_torch_thread) -> None:
    pytest.importorskip("timm")
    torch.manual_seed(0)
    cfg = _cfg(NAME="build_timm_backbone", TIMM_MODEL="resnet10t", LAST_STRIDE=2, FEAT_DIM=512)
    model = build_model(cfg, 3).train()
    images = torch.randint(0, 256, (4, 3, 64, 32), dtype=torch.uint8)
    out = model(images)
    assert out["logits"].shape == (4, 3)
    out["logits"].sum().backward()
    assert next(model.backbone.parameters()).grad is not None
    assert model.eval()(images).shape == (4, 512)


def test_unknown_timm_model_is_a_clear_error() -> None:
    pytest.importorskip("timm")
    with pytest.raises(ConfigError, match="MODEL.BACKBONE.TIMM_MODEL 'resnet_nope' is not a timm model"):
        build_backbone(_cfg(NAME="build_timm_backbone", TIMM_MODEL="resnet_nope"))


def test_model_without_output_stride_asks_for_last_stride_two() -> None:
    pytest.importorskip("timm")
    with pytest.raises(ConfigError, match="set MODEL.BACKBONE.LAST_STRIDE 2"):
        build_backbone(_cfg(NAME="build_timm_backbone", TIMM_MODEL="vit_tiny_patch16_224"))


def test_offline_pretrained_weights_give_one_line_with_the_way_out(monkeypatch) -> None:
    timm = pytest.importorskip("timm")
    real = timm.create_model

    def offline(name, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("We couldn't connect to 'https://huggingface.co'")
        return real(name, pretrained=False, **kwargs)

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(PretrainedWeightsError) as info:
        build_backbone(_cfg(NAME="build_timm_backbone", TIMM_MODEL="resnet10t", PRETRAIN=True))
    message = str(info.value)
    assert "resnet10t" in message and "MODEL.BACKBONE.PRETRAIN_PATH" in message and "PRETRAIN False" in message
    assert "\n" not in message


def test_pretrain_path_loads_a_local_timm_file(tmp_path) -> None:
    timm = pytest.importorskip("timm")
    torch.manual_seed(3)
    source = timm.create_model("resnet10t", pretrained=False)  # with its classifier, as a downloaded file has
    file = tmp_path / "resnet10t.pth"
    torch.save(source.state_dict(), file)
    backbone = build_backbone(_cfg(NAME="build_timm_backbone", TIMM_MODEL="resnet10t", FEAT_DIM=512, PRETRAIN=True, PRETRAIN_PATH=str(file)))
    torch.testing.assert_close(backbone.body.conv1[0].weight, source.conv1[0].weight)
    assert str(file) in backbone.pretrained_source
