"""The Baseline model: in-model normalisation, channels_last, bf16 autocast, classes, parameter groups."""

from __future__ import annotations

import pytest
import torch

from reidlab.config import build_config
from reidlab.modeling import Baseline, build_model, compute_losses, param_groups_spec


def _cfg(**heads):
    return build_config(
        {
            "MODEL": {
                "BACKBONE": {"DEPTH": "18x", "FEAT_DIM": 512, "PRETRAIN": False},
                "HEADS": {"WITH_BNNECK": True, **heads},
                "LOSSES": {"NAME": ["CrossEntropyLoss", "TripletLoss"], "CE": {"EPSILON": 0.1}},
            }
        }
    )


@pytest.fixture(scope="module")
def model() -> Baseline:
    torch.manual_seed(0)
    return build_model(_cfg(), num_classes=10).eval()


def _images(batch: int = 4) -> torch.Tensor:
    return torch.randint(0, 256, (batch, 3, 64, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


def test_uint8_and_float_inputs_give_the_same_embedding(model: Baseline) -> None:
    images = _images()
    with torch.no_grad():
        from_uint8 = model(images)
        from_float = model(images.float())
    assert from_uint8.shape == (4, model.embedding_dim) == (4, 512)
    torch.testing.assert_close(from_uint8, from_float)


def test_normalisation_uses_pixel_mean_and_std_buffers(model: Baseline) -> None:
    cfg = _cfg()
    images = _images()
    mean = torch.tensor(cfg.MODEL.PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(cfg.MODEL.PIXEL_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(model.normalize(images), (images.float() - mean) / std)
    state = model.state_dict()
    assert "pixel_mean" in state and "pixel_std" in state


def test_channels_last_model_and_input(model: Baseline) -> None:
    images = _images().float()
    with torch.no_grad():
        expected = model(images)
        channels_last = build_model(_cfg(), 10).eval()
        channels_last.load_state_dict(model.state_dict())
        channels_last = channels_last.to(memory_format=torch.channels_last)
        got = channels_last(images.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_bf16_autocast_training_step_on_cpu() -> None:
    torch.manual_seed(0)
    cfg = _cfg(POOL_LAYER="GeneralizedMeanPoolingP")
    model = build_model(cfg, 4).train()
    targets = torch.arange(4).repeat_interleave(2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs = model(_images(8))
        total, terms, stats = compute_losses(cfg, outputs, targets)
    total.backward()
    assert torch.isfinite(total) and set(terms) == {"loss_ce", "loss_triplet"}
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.head.classifier.weight.grad is not None and model.backbone.conv1.weight.grad is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_autocast_training_step_on_cuda() -> None:
    torch.manual_seed(0)
    cfg = _cfg(POOL_LAYER="GeneralizedMeanPooling")
    model = build_model(cfg, 4).cuda().train().to(memory_format=torch.channels_last)
    targets = torch.arange(4, device="cuda").repeat_interleave(2)
    images = _images(8).cuda().contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.float16):
        outputs = model(images)
        total, terms, stats = compute_losses(cfg, outputs, targets)
    assert outputs["logits"].dtype == torch.float16 and total.dtype == torch.float32
    total.backward()
    assert torch.isfinite(total) and all(v.device.type == "cuda" for v in stats.values())


def test_num_classes_comes_from_the_data_unless_configured() -> None:
    assert build_model(_cfg(), 7).num_classes == 7
    assert build_model(_cfg(NUM_CLASSES=12), 7).num_classes == 12
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        build_model(_cfg(NUM_CLASSES=5), 7)
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        build_model(_cfg(), 0)


def test_param_groups_spec_covers_every_trainable_parameter_once(model: Baseline) -> None:
    specs = param_groups_spec(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(specs) == len(trainable)
    assert {id(s.param) for s in specs} == {id(p) for p in trainable}
    by_name = {s.name: s for s in specs}
    assert by_name["backbone.bn1.weight"].is_norm and not by_name["backbone.bn1.weight"].is_bias
    assert by_name["backbone.conv1.weight"].kind == "backbone"
    assert not by_name["backbone.conv1.weight"].is_norm
    assert by_name["head.classifier.weight"].kind == "head"
    assert by_name["head.bottleneck.weight"].is_norm
    assert "head.bottleneck.bias" not in by_name  # frozen: not for the optimizer
    assert by_name["backbone.layer1.0.bn1.bias"].is_bias and by_name["backbone.layer1.0.bn1.bias"].is_norm
    backbone_ids = {id(p) for p in model.backbone_parameters()}
    assert {id(s.param) for s in specs if s.kind == "backbone"} == backbone_ids
    head_ids = {id(p) for p in model.head_parameters() if p.requires_grad}
    assert {id(s.param) for s in specs if s.kind == "head"} == head_ids
    assert len(param_groups_spec(model, trainable_only=False)) == len(list(model.parameters()))
