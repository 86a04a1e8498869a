"""MODEL.WEIGHTS: start training from a reidlab or a fast-reid checkpoint (fine-tuning, fast-reid's model zoo).

The backbone and the neck must fit; a classifier trained on another number of identities is
left fresh, and so are non-local blocks the checkpoint has in another width (fast-reid's are 1
channel wide) or lacks. What was loaded and what was left fresh is said in one line and kept in
model_info.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from torch import nn

from reidlab.modeling.fastreid_weights import CLASSIFIER_KEY, fastreid_state, map_fastreid_state
from reidlab.modeling.loading import FASTREID, REIDLAB, LoadError, describe_contents
from reidlab.rundir import is_reidlab_checkpoint, load_torch_file

_OWN_PREPROCESSING = ("pixel_mean", "pixel_std")  # the config's PIXEL_MEAN / PIXEL_STD, not the checkpoint's
_NON_LOCAL = "backbone.non_local."


@dataclass
class InitialWeights:
    """Where a run's starting weights came from, for the log and model_info.json."""

    path: str
    format: str
    loaded: int
    left_fresh: list[str] = field(default_factory=list)

    def line(self) -> str:
        fresh = f"; left fresh: {'; '.join(self.left_fresh)}" if self.left_fresh else ""
        return f"MODEL.WEIGHTS {self.path} ({self.format} checkpoint): loaded {self.loaded} tensors{fresh}"

    def to_dict(self) -> dict:
        return asdict(self)


def load_initial_weights(model: nn.Module, path: str | Path) -> InitialWeights:
    """Load what fits of the checkpoint at `path` into `model`; a one-line LoadError for weights of another model."""
    data = load_torch_file(path)
    if is_reidlab_checkpoint(data) and isinstance(data.get("model"), dict):
        state, fmt = data["model"], REIDLAB
    elif (fastreid := fastreid_state(data)) is not None:
        state, fmt = map_fastreid_state(fastreid, model, str(path)), FASTREID
    else:
        raise LoadError(f"{path}: MODEL.WEIGHTS is neither a reidlab nor a fast-reid checkpoint ({describe_contents(data)})")
    own = model.state_dict()
    usable, fresh, problems = {}, [], []
    for key, tensor in state.items():
        if key in _OWN_PREPROCESSING or key.startswith(_NON_LOCAL) and key not in own:
            continue
        if key not in own:
            problems.append(f"{key} has no place in this model")
        elif own[key].shape == tensor.shape:
            usable[key] = tensor
        elif key == CLASSIFIER_KEY:
            fresh.append(f"the classifier (the checkpoint has {tensor.shape[0]} identities, this run {own[key].shape[0]})")
        elif not key.startswith(_NON_LOCAL):
            problems.append(f"{key} is {tuple(tensor.shape)} there but {tuple(own[key].shape)} here")
    missing = [k for k in own if k not in usable and k not in _OWN_PREPROCESSING and k != CLASSIFIER_KEY and not k.startswith(_NON_LOCAL)]
    problems += [f"{k} is not in the checkpoint" for k in missing]
    if problems:
        raise LoadError(f"{path}: MODEL.WEIGHTS does not fit this model ({'; '.join(problems[:3])}); a checkpoint of another depth or layout?")
    if any(k.startswith(_NON_LOCAL) and k not in usable for k in own):
        fresh.append("the non-local blocks (absent from the checkpoint, or of another width: fast-reid's are 1 channel wide)")
    if any(k.startswith(_NON_LOCAL) and k not in own for k in state):
        fresh.append("none of the checkpoint's non-local blocks is used (this model has none)")
    model.load_state_dict(usable, strict=False)
    return InitialWeights(str(path), fmt, len(usable), fresh)
