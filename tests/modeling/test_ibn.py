"""IBN-a ResNet: the mixed norm layer, where it goes, IBN-Net's key names and weights URL."""

from __future__ import annotations

import pytest
import torch

from reidlab.config import build_config
from reidlab.modeling import IBN, PretrainedWeightsError, ResNetBackbone, build_backbone, imagenet_weights_url
from reidlab.modeling import pretrained as pretrained_module


def _cfg(depth: str = "18x", **backbone):
    width = 512 if depth in ("18x", "34x") else 2048
    return build_config({"MODEL": {"BACKBONE": {"DEPTH": depth, "FEAT_DIM": width, "WITH_IBN": True, **backbone}}})


def test_ibn_instance_normalises_the_first_half_and_batch_normalises_the_rest() -> None:
    layer = IBN(6).train()
    x = torch.randn(4, 6, 5, 3) * 3 + 2
    out = layer(x)
    first, second = out[:, :3], out[:, 3:]
    torch.testing.assert_close(first.mean(dim=(2, 3)), torch.zeros(4, 3), atol=1e-5, rtol=0)  # per image and channel
    torch.testing.assert_close(second.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)  # per channel over the batch
    assert second.mean(dim=(2, 3)).abs().max() > 1e-3  # ... but not per image


def test_odd_width_gives_the_extra_channel_to_batchnorm() -> None:
    layer = IBN(5)
    assert (layer.IN.num_features, layer.BN.num_features) == (2, 3)
    assert layer(torch.randn(2, 5, 3, 3)).shape == (2, 5, 3, 3)


@pytest.mark.parametrize("depth", ["18x", "50x"])
def test_stages_one_to_three_get_ibn_in_bn1_and_keys_match_ibn_net(depth: str, one_torch_thread) -> None:
    backbone = ResNetBackbone(depth, with_ibn=True)
    for stage in ("layer1", "layer2", "layer3"):
        assert all(isinstance(block.bn1, IBN) for block in getattr(backbone, stage))
    assert not any(isinstance(block.bn1, IBN) for block in backbone.layer4)
    keys = backbone.state_dict()
    assert {"layer1.0.bn1.IN.weight", "layer3.1.bn1.BN.running_mean", "layer4.0.bn1.weight", "bn1.weight"} <= set(keys)
    assert backbone(torch.randn(2, 3, 64, 32)).shape[1] == backbone.out_channels


def test_pretrain_downloads_ibn_nets_release_file(monkeypatch) -> None:
    torch.manual_seed(0)
    release = {f"module.{k}": v for k, v in ResNetBackbone("18x", with_ibn=True).state_dict().items()}
    release["module.fc.weight"] = torch.zeros(1000, 512)
    asked: list[str] = []
    monkeypatch.setattr(pretrained_module, "download_state_dict", lambda url: asked.append(url) or dict(release))
    backbone = build_backbone(_cfg())
    assert asked == ["https://github.com/XingangPan/IBN-Net/releases/download/v1.0/resnet18_ibn_a-2f571257.pth"]
    torch.testing.assert_close(backbone.layer2[0].bn1.IN.weight, release["module.layer2.0.bn1.IN.weight"])
    assert "IBN-Net" in backbone.pretrained_source


def test_offline_ibn_error_names_ibn_nets_file(monkeypatch) -> None:
    def offline(url: str):
        raise OSError("no network")

    monkeypatch.setattr(pretrained_module, "download_state_dict", offline)
    with pytest.raises(PretrainedWeightsError) as info:
        build_backbone(_cfg("50x"))
    message = str(info.value)
    assert "IBN-Net's ImageNet weights for ResNet-50-IBN-a" in message
    assert imagenet_weights_url("50x", with_ibn=True) in message and "PRETRAIN_PATH" in message and "\n" not in message


def test_pretrain_path_takes_a_local_ibn_file(tmp_path) -> None:
    torch.manual_seed(1)
    weights = ResNetBackbone("18x", with_ibn=True).state_dict()
    file = tmp_path / "r18_ibn.pth"
    torch.save({"state_dict": weights}, file)
    backbone = build_backbone(_cfg(PRETRAIN_PATH=str(file)))
    for name, tensor in backbone.state_dict().items():
        torch.testing.assert_close(tensor, weights[name], rtol=0, atol=0)


def test_plain_torchvision_file_for_an_ibn_model_is_refused_clearly(tmp_path) -> None:
    file = tmp_path / "resnet50.pth"
    torch.save(ResNetBackbone("18x").state_dict(), file)
    with pytest.raises(PretrainedWeightsError, match="does not look like a ResNet-50-IBN-a state dict"):
        build_backbone(_cfg("50x", PRETRAIN_PATH=str(file)))
