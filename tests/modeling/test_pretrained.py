"""Pretrained weights: local files, bad files, and the offline error (the download is monkeypatched)."""

from __future__ import annotations

import argparse
import urllib.error
from pathlib import Path

import pytest
import torch
from torchvision import models

from reidlab.config import build_config
from reidlab.modeling import PretrainedWeightsError, build_backbone, imagenet_weights_url
from reidlab.modeling import pretrained as pretrained_module


def _cfg(depth: str = "18x", path: str = "", pretrain: bool = True):
    width = 512 if depth in ("18x", "34x") else 2048
    return build_config(
        {"MODEL": {"BACKBONE": {"DEPTH": depth, "FEAT_DIM": width, "PRETRAIN": pretrain, "PRETRAIN_PATH": path}}}
    )


@pytest.fixture(scope="module")
def resnet18_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return models.resnet18(weights=None).state_dict()


def _assert_backbone_equals(backbone: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    own = backbone.state_dict()
    for name, tensor in own.items():
        torch.testing.assert_close(tensor, state_dict[name], rtol=0, atol=0)
    assert not any(name.startswith("fc.") for name in own)


@pytest.mark.parametrize("wrapper", [None, "state_dict", "model"])
def test_pretrain_path_loads_every_backbone_tensor(tmp_path: Path, resnet18_state_dict, wrapper) -> None:
    file = tmp_path / "resnet18.pth"
    torch.save(resnet18_state_dict if wrapper is None else {wrapper: resnet18_state_dict}, file)
    backbone = build_backbone(_cfg(path=str(file)))
    _assert_backbone_equals(backbone, resnet18_state_dict)
    assert str(file) in backbone.pretrained_source


def test_missing_tensors_are_reported(tmp_path: Path, resnet18_state_dict) -> None:
    partial = {k: v for k, v in resnet18_state_dict.items() if not k.startswith("layer4.")}
    partial["extra.weight"] = torch.zeros(3)
    file = tmp_path / "partial.pth"
    torch.save(partial, file)
    with pytest.warns(UserWarning) as record:
        build_backbone(_cfg(path=str(file)))
    messages = " ".join(str(w.message) for w in record)
    assert "layer4.0.conv1.weight" in messages and "extra.weight" in messages


def test_a_file_that_is_not_a_state_dict_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "garbage.pth"
    file.write_bytes(b"this is not a checkpoint")
    with pytest.raises(PretrainedWeightsError, match="cannot be read"):
        build_backbone(_cfg(path=str(file)))


def test_a_pickle_with_code_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "pickled.pth"
    torch.save({"state_dict": argparse.Namespace(evil=True)}, file)
    with pytest.raises(PretrainedWeightsError, match="cannot be read") as info:
        build_backbone(_cfg(path=str(file)))
    assert "\n" not in str(info.value)


def test_unrelated_tensors_are_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(4, 4)}, file)
    with pytest.raises(PretrainedWeightsError, match="does not look like a ResNet-18 state dict"):
        build_backbone(_cfg(path=str(file)))


def test_weights_of_another_depth_are_a_clear_error(tmp_path: Path, resnet18_state_dict) -> None:
    file = tmp_path / "resnet18.pth"
    torch.save(resnet18_state_dict, file)
    with pytest.raises(PretrainedWeightsError, match="does not look like a ResNet-50 state dict"):
        build_backbone(_cfg("50x", path=str(file)))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PretrainedWeightsError, match="file not found"):
        build_backbone(_cfg(path=str(tmp_path / "nope.pth")))


def test_offline_without_a_local_file_says_how_to_get_weights(monkeypatch) -> None:
    def offline(url: str):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(pretrained_module, "download_state_dict", offline)
    with pytest.raises(PretrainedWeightsError) as info:
        build_backbone(_cfg("50x"))
    message = str(info.value)
    assert "\n" not in message
    assert "https://download.pytorch.org/models/resnet50-0676ba61.pth" in message
    assert "download it" in message
    assert "MODEL.BACKBONE.PRETRAIN_PATH /path/to/file.pth" in message
    assert "MODEL.BACKBONE.PRETRAIN False to train from scratch" in message
    assert isinstance(info.value, RuntimeError)


def test_torchvision_download_is_loaded(monkeypatch, resnet18_state_dict) -> None:
    asked: list[str] = []

    def fake_download(url: str):
        asked.append(url)
        return dict(resnet18_state_dict)

    monkeypatch.setattr(pretrained_module, "download_state_dict", fake_download)
    backbone = build_backbone(_cfg("18x"))
    assert asked == [imagenet_weights_url("18x")]
    _assert_backbone_equals(backbone, resnet18_state_dict)


def test_pretrain_false_never_downloads(monkeypatch) -> None:
    monkeypatch.setattr(pretrained_module, "download_state_dict", lambda url: pytest.fail("downloaded"))
    build_backbone(_cfg(pretrain=False))
