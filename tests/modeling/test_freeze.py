"""FrozenLayers: fast-reid's layer names, no update for frozen parameters, BatchNorm statistics fixed."""

from __future__ import annotations

import pytest
import torch

from reidlab.config import build_config
from reidlab.modeling import FrozenLayers, build_model, compute_losses


@pytest.fixture
def model(one_torch_thread) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = build_config({"MODEL": {"BACKBONE": {"DEPTH": "18x", "FEAT_DIM": 512, "PRETRAIN": False}, "HEADS": {"WITH_BNNECK": True}}})
    return build_model(cfg, 4)


def _ids(params) -> set[int]:
    return {id(p) for p in params}


@pytest.mark.parametrize("names, parts", [(["backbone"], ["backbone"]), (["heads"], ["head"]), (["head", "heads"], ["head"]), ([], [])])
def test_names_resolve_to_the_model_children(model, names, parts) -> None:
    frozen = FrozenLayers(model, names)
    assert frozen.names == parts and bool(frozen) == bool(parts)
    expected = set().union(*(_ids(getattr(model, part).parameters()) for part in parts))
    assert _ids(frozen.parameters()) == expected


def test_unknown_name_is_a_clear_error(model) -> None:
    with pytest.raises(ValueError, match=r"MODEL.FREEZE_LAYERS: 'neck' is not a part of the model; valid names: backbone, head, heads"):
        FrozenLayers(model, ["neck"])


def test_a_distributed_style_wrapper_is_looked_through(model) -> None:
    frozen = FrozenLayers(torch.nn.DataParallel(model), ["backbone"])
    assert _ids(frozen.parameters()) == _ids(model.backbone.parameters())


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.Adam(params, lr=0.1, weight_decay=0.1),
    lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1),
])
def test_dropped_gradients_leave_frozen_parameters_and_optimizer_state_alone(model, make_optimizer) -> None:
    optimizer = make_optimizer(model.parameters())
    frozen = FrozenLayers(model, ["backbone"])
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    images, targets = torch.randint(0, 256, (8, 3, 64, 32), dtype=torch.uint8), torch.arange(4).repeat(2)
    cfg = build_config({"MODEL": {"LOSSES": {"NAME": ["CrossEntropyLoss", "TripletLoss"]}}})
    model.train()
    frozen.set_norm_eval()
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        compute_losses(cfg, model(images), targets)[0].backward()
        frozen.drop_gradients()
        optimizer.step()
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == (name.startswith("head.") and p.requires_grad), name
    assert all(p not in optimizer.state or not optimizer.state[p] for p in frozen.parameters())


def test_set_norm_eval_fixes_frozen_batchnorm_statistics_only(model) -> None:
    frozen = FrozenLayers(model, ["backbone"])
    model.train()
    frozen.set_norm_eval()
    assert not model.backbone.bn1.training and not model.backbone.layer3[0].bn2.training
    assert model.backbone.training and model.head.bottleneck.training
    stats = model.backbone.bn1.running_mean.clone()
    head_stats = model.head.bottleneck.running_mean.clone()
    model(torch.randint(0, 256, (4, 3, 64, 32), dtype=torch.uint8))
    assert torch.equal(model.backbone.bn1.running_mean, stats)
    assert not torch.equal(model.head.bottleneck.running_mean, head_stats)
