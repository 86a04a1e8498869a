"""A trained network from a run folder or a checkpoint, reidlab's or fast-reid's, for eval and deploy.

A reidlab checkpoint carries its config. A fast-reid checkpoint does not: its config is the
run folder's config.yaml (fast-reid's own dump loads as it is) or an explicit config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reidlab.config import Config, ConfigError, build_config, ignored_keys_note, load_config
from reidlab.modeling.baseline import Baseline, build_model
from reidlab.modeling.fastreid_weights import WeightsError, fastreid_classes, fastreid_state, has_non_local, load_exactly, map_fastreid_state, match_fastreid_layout
from reidlab.rundir import BEST_MODEL_FILE, CONFIG_FILE, FASTREID_BEST_FILE, FINAL_MODEL_FILE, MODEL_INFO_FILE, is_reidlab_checkpoint, load_torch_file

REIDLAB, FASTREID = "reidlab", "fast-reid"


class LoadError(WeightsError):
    """No network here: a missing folder or checkpoint, another tool's file or config. One line."""


@dataclass
class LoadedNetwork:
    """A trained network in eval mode on the CPU, its config, and where it came from."""

    network: Baseline
    cfg: Config
    checkpoint_path: Path
    epoch: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    source_format: str = REIDLAB
    config_note: str = ""  # the fast-reid keys the config load ignored, in one line


def resolve_checkpoint_path(run_or_checkpoint: str | Path) -> Path:
    """A .pth as given; a reidlab run's best_model.pth; a fast-reid run's model_best.pth, else its model_final.pth."""
    path = Path(run_or_checkpoint)
    if path.is_file():
        return path
    if not path.exists():
        raise LoadError(f"{path}: run directory not found (give a run directory of `reidlab train` or fast-reid, or a .pth checkpoint)")
    if not path.is_dir():
        raise LoadError(f"{path}: neither a run directory nor a checkpoint file")
    for name in (BEST_MODEL_FILE, FASTREID_BEST_FILE):
        if (path / name).is_file():
            return path / name
    final = path / FINAL_MODEL_FILE
    if final.is_file() and not (path / MODEL_INFO_FILE).is_file():  # a fast-reid run without a best model
        return final
    hint = f"; to use the weights at the end of training, give {final}" if final.is_file() else ""
    raise LoadError(f"{path}: no {BEST_MODEL_FILE} (reidlab) or {FASTREID_BEST_FILE} (fast-reid) in this folder (no epoch was evaluated, or it is not a run directory){hint}")


def load_network(run_or_checkpoint: str | Path, config_file: str | Path | None = None) -> LoadedNetwork:
    """The network (eval mode, CPU) of a reidlab or fast-reid run folder or checkpoint.

    `config_file` replaces the config: a reidlab checkpoint's stored one, or a fast-reid run's config.yaml.
    """
    path = resolve_checkpoint_path(run_or_checkpoint)
    data = load_torch_file(path)
    if is_reidlab_checkpoint(data):
        return _reidlab_network(path, data, config_file)
    state = fastreid_state(data)
    if state is None:
        raise LoadError(f"{path}: neither a reidlab nor a fast-reid checkpoint ({describe_contents(data)}); give a .pth written by `reidlab train` or by fast-reid")
    return _fastreid_network(path, state, config_file)


def _reidlab_network(path: Path, checkpoint: dict, config_file: str | Path | None) -> LoadedNetwork:
    missing = [key for key in ("model", "config") if key not in checkpoint]
    if missing:
        raise LoadError(f"{path}: checkpoint has no {' or '.join(missing)}; give a best_model.pth or model_final.pth written by reidlab train")
    cfg = _load_config_file(config_file) if config_file else config_from_text(checkpoint["config"], f"{path} (stored config)")
    network = build_model(_without_imagenet(cfg), int(checkpoint.get("num_classes") or 0))
    try:
        network.load_state_dict(checkpoint["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise LoadError(f"{path}: weights do not fit the model its config describes ({first[:200]})") from None
    network.eval()
    return LoadedNetwork(network, cfg, path, checkpoint.get("epoch"), dict(checkpoint.get("metrics") or {}), REIDLAB, ignored_keys_note(cfg))


def _fastreid_network(path: Path, state: dict, config_file: str | Path | None) -> LoadedNetwork:
    config = Path(config_file) if config_file else path.parent / CONFIG_FILE
    if not config_file and not config.is_file():
        raise LoadError(f"{path}: a fast-reid checkpoint carries no config and there is no {CONFIG_FILE} beside it; pass --config-file (the run's config.yaml)")
    cfg = _without_imagenet(_load_config_file(config))
    cfg.MODEL.BACKBONE.WITH_NL = has_non_local(state)  # fast-reid builds none for 18x/34x whatever WITH_NL says
    network = build_model(cfg, fastreid_classes(state) or 1)
    mapped = map_fastreid_state(state, network, str(path))
    if "head.classifier.weight" not in mapped:  # a checkpoint without its classifier still embeds
        mapped["head.classifier.weight"] = network.state_dict()["head.classifier.weight"]
    match_fastreid_layout(network, mapped)
    load_exactly(network, mapped, f"{path} with {config}")
    network.eval()
    return LoadedNetwork(network, cfg, path, None, {}, FASTREID, ignored_keys_note(cfg, str(config)))


def _load_config_file(path: str | Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise LoadError(f"{exc} (is it a reidlab or fast-reid config?)") from None


def config_from_text(text: str, source: str) -> Config:
    """The validated config from resolved YAML text."""
    try:
        return build_config(yaml.safe_load(text) or {}, source)
    except (ConfigError, yaml.YAMLError) as exc:
        raise LoadError(f"{source}: unusable config ({str(exc).splitlines()[0][:200]})") from None


def _without_imagenet(cfg: Config) -> Config:
    """A copy with ImageNet loading switched off: the checkpoint has the weights."""
    cfg = cfg.model_copy(deep=True)
    cfg.MODEL.BACKBONE.PRETRAIN = False
    return cfg


def describe_contents(data: Any) -> str:
    """What a .pth that is no checkpoint of ours holds, in a few words (for the error that refuses it)."""
    if not isinstance(data, dict):
        return f"it holds a {type(data).__name__}"
    keys = sorted(str(k) for k in data)[:4]
    looks = "; it looks like a torchreid checkpoint" if "state_dict" in data else ""
    return f"its top-level keys: {', '.join(keys)}{looks}"
