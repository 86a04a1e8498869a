"""Non-local blocks: identity at init, the dot-product formula, and where WITH_NL puts them in a ResNet."""

from __future__ import annotations

import warnings

import pytest
import torch
from torchvision import models

from reidlab.config import build_config
from reidlab.modeling import NL_LAYERS, NonLocalBlock, ResNetBackbone, build_backbone


def test_a_new_block_is_the_identity() -> None:
    block = NonLocalBlock(8).train()
    x = torch.randn(2, 8, 5, 3)
    torch.testing.assert_close(block(x), x)


def test_block_matches_a_loop_over_positions() -> None:
    torch.manual_seed(0)
    block = NonLocalBlock(6).eval()
    torch.nn.init.normal_(block.W[1].weight)  # make the residual branch visible
    x = torch.randn(1, 6, 3, 2)
    theta, phi, g = (conv(x)[0].flatten(1) for conv in (block.theta, block.phi, block.g))  # (C', N)
    positions = x.shape[2] * x.shape[3]
    y = torch.zeros_like(g)
    for i in range(positions):
        for j in range(positions):
            y[:, i] += (theta[:, i] @ phi[:, j]) / positions * g[:, j]
    expected = x + block.W(y.reshape(1, -1, 3, 2))
    torch.testing.assert_close(block(x), expected, rtol=1e-4, atol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    block = NonLocalBlock(4).train()
    torch.nn.init.ones_(block.W[1].weight)
    block(torch.randn(2, 4, 3, 3)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


@pytest.mark.parametrize("depth, expected", [
    ("50x", ["layer2_2", "layer2_3", "layer3_3", "layer3_4", "layer3_5"]),  # fast-reid's [0, 2, 3, 0]
    ("18x", ["layer2_1", "layer3_1"]),
])
def test_blocks_follow_the_last_blocks_of_stages_two_and_three(depth: str, expected: list[str]) -> None:
    backbone = ResNetBackbone(depth, with_nl=True)
    assert list(backbone.non_local) == expected
    assert len(expected) == sum(NL_LAYERS[depth])
    widths = {"layer2": 128, "layer3": 256} if depth == "18x" else {"layer2": 512, "layer3": 1024}
    for key, block in backbone.non_local.items():
        assert block.in_channels == widths[key.split("_")[0]]


def test_with_nl_starts_as_the_plain_backbone_and_loads_torchvision_weights(tmp_path) -> None:
    file = tmp_path / "resnet18.pth"
    torch.save(models.resnet18(weights=None).state_dict(), file)
    cfg = build_config({"MODEL": {"BACKBONE": {"DEPTH": "18x", "FEAT_DIM": 512, "WITH_NL": True, "PRETRAIN_PATH": str(file)}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the non-local blocks are not "missing" from an ImageNet file
        with_nl = build_backbone(cfg).eval()
    plain = build_backbone(build_config({"MODEL": {"BACKBONE": {"DEPTH": "18x", "FEAT_DIM": 512, "PRETRAIN_PATH": str(file)}}})).eval()
    images = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(with_nl(images), plain(images))


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.trace is deprecated; deploy still exports with it
def test_traced_backbone_with_nl_gives_the_same_output(one_torch_thread) -> None:
    backbone = ResNetBackbone("18x", with_nl=True).eval()
    torch.nn.init.ones_(backbone.non_local["layer2_1"].W[1].weight)
    images = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        traced = torch.jit.trace(backbone, images)
        torch.testing.assert_close(traced(images), backbone(images))
