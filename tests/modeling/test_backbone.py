"""ResNet backbone: output shapes per depth and last stride, FEAT_DIM warning, channels_last."""

from __future__ import annotations

import warnings

import pytest
import torch

from reidlab.config import ConfigError, build_config
from reidlab.modeling import RESNET_WIDTHS, ResNetBackbone, build_backbone


def _cfg(depth: str = "18x", last_stride: int = 1, feat_dim: int | None = None):
    width = RESNET_WIDTHS[depth] if feat_dim is None else feat_dim
    return build_config(
        {"MODEL": {"BACKBONE": {"DEPTH": depth, "LAST_STRIDE": last_stride, "FEAT_DIM": width, "PRETRAIN": False}}}
    )


@pytest.mark.parametrize("depth", ["18x", "34x", "50x", "101x"])
def test_feature_map_shape_for_each_depth_and_last_stride(depth: str) -> None:
    images = torch.randn(2, 3, 64, 32)
    for last_stride, total_stride in ((2, 32), (1, 16)):
        backbone = build_backbone(_cfg(depth, last_stride)).eval()
        with torch.no_grad():
            feature_map = backbone(images)
        assert backbone.out_channels == RESNET_WIDTHS[depth]
        assert feature_map.shape == (2, RESNET_WIDTHS[depth], 64 // total_stride, 32 // total_stride)


def test_last_stride_one_changes_only_layer4_first_block() -> None:
    strided = [m.stride for m in ResNetBackbone("50x", 2).layer4[0].modules() if isinstance(m, torch.nn.Conv2d)]
    unstrided = [m.stride for m in ResNetBackbone("50x", 1).layer4[0].modules() if isinstance(m, torch.nn.Conv2d)]
    assert (2, 2) in strided and (2, 2) not in unstrided
    assert unstrided.count((1, 1)) == len(unstrided)


def test_feat_dim_that_differs_from_the_real_width_warns_and_is_ignored() -> None:
    with pytest.warns(UserWarning, match=r"MODEL\.BACKBONE\.FEAT_DIM.*using 512"):
        backbone = build_backbone(_cfg("18x", feat_dim=2048))
    assert backbone.out_channels == 512


def test_matching_feat_dim_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_backbone(_cfg("18x", feat_dim=512))


def test_channels_last_gives_the_same_feature_map() -> None:
    backbone = build_backbone(_cfg("18x")).eval()
    images = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        expected = backbone(images)
        backbone = backbone.to(memory_format=torch.channels_last)
        got = backbone(images.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_unknown_depth_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="MODEL.BACKBONE.DEPTH"):
        ResNetBackbone("152x")


def test_a_depth_the_builder_lacks_is_a_config_error_naming_the_key() -> None:
    cfg = _cfg("18x")
    cfg.MODEL.BACKBONE.DEPTH = "200x"  # a ResNeSt depth; the loader refuses it in a file, the builder in code
    with pytest.raises(ConfigError, match="MODEL.BACKBONE.DEPTH 200x is not a depth of build_resnet_backbone"):
        build_backbone(cfg)


def test_resnet50_with_ibn_and_non_local_keeps_the_feature_map_shape(one_torch_thread) -> None:
    cfg = build_config({"MODEL": {"BACKBONE": {"WITH_IBN": True, "WITH_NL": True, "PRETRAIN": False}}})
    backbone = build_backbone(cfg).train()
    assert backbone(torch.randn(2, 3, 64, 32)).shape == (2, 2048, 4, 2)


def test_feat_dim_is_derived_quietly_unless_the_user_set_another_width():
    import warnings

    from reidlab.config import load_config
    from reidlab.modeling import build_model

    r18 = ["MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.PRETRAIN", "False"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # changing only the depth of the shipped R50 recipe warns of nothing
        assert build_model(load_config("configs/Market1501/bagtricks_R50.yml", r18), 5).embedding_dim == 512
    with pytest.warns(UserWarning, match="FEAT_DIM is 1024 but the backbone outputs 512"):
        build_model(load_config("configs/Market1501/bagtricks_R50.yml", [*r18, "MODEL.BACKBONE.FEAT_DIM", "1024"]), 5)
