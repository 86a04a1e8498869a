"""MODEL.FREEZE_LAYERS: the model parts kept fixed for the first SOLVER.FREEZE_ITERS iterations.

fast-reid's SBS recipe freezes the pretrained backbone while the fresh head settles, so the
random head's first large gradients do not wreck the ImageNet features. fast-reid names the parts
by the model's children ("backbone", "heads"); reidlab's Baseline calls the head `head`, so both
spellings are accepted. The trainer decides when; this module only knows what and how.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from torch import nn

from reidlab.modeling.param_groups import NORM_LAYER_TYPES

ALIASES = {"heads": "head"}  # fast-reid's child name -> reidlab's


def _unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel / DataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


class FrozenLayers:
    """The children of `model` that MODEL.FREEZE_LAYERS names, and the three things a frozen period needs.

    - parameters(): the frozen parameters;
    - drop_gradients(): their .grad set to None after backward, so the optimizer step skips them
      (no Adam moment update, no weight decay: exactly as fast-reid's freeze);
    - set_norm_eval(): their normalisation layers to eval mode after model.train(), so BatchNorm
      uses and keeps its running statistics (fast-reid puts the frozen modules in eval mode).
    """

    def __init__(self, model: nn.Module, names: Iterable[str]) -> None:
        model = _unwrap(model)
        children = dict(model.named_children())
        self.names: list[str] = []
        for name in names:
            own = ALIASES.get(name, name) if name not in children else name
            if own not in children:
                valid = sorted(children) + [alias for alias, target in ALIASES.items() if target in children]
                raise ValueError(f"MODEL.FREEZE_LAYERS: {name!r} is not a part of the model; valid names: {', '.join(valid)}")
            if own not in self.names:
                self.names.append(own)
        self.modules: list[nn.Module] = [children[name] for name in self.names]

    def __bool__(self) -> bool:
        return bool(self.modules)

    def parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter of the frozen parts, once."""
        seen: set[int] = set()
        for module in self.modules:
            for param in module.parameters():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield param

    def drop_gradients(self) -> None:
        """Forget the frozen parameters' gradients (call after backward, before the optimizer step)."""
        for param in self.parameters():
            param.grad = None

    def set_norm_eval(self) -> None:
        """Normalisation layers of the frozen parts to eval mode (call after every model.train())."""
        for module in self.modules:
            for layer in module.modules():
                if isinstance(layer, NORM_LAYER_TYPES):
                    layer.eval()
