"""model_info.json: the machine-readable summary of a run, written at its start and at its end."""

from __future__ import annotations

import platform
import socket
from datetime import datetime, timezone

import torch
import torchvision

import reidlab
from reidlab.config import Config

# The keys a researcher compares runs by; compare and diagnose read them from here.
HYPERPARAMETER_KEYS = (
    "MODEL.BACKBONE.DEPTH",
    "MODEL.BACKBONE.PRETRAIN",
    "MODEL.HEADS.POOL_LAYER",
    "MODEL.LOSSES.NAME",
    "MODEL.LOSSES.CE.EPSILON",
    "MODEL.LOSSES.CE.SCALE",
    "MODEL.LOSSES.TRI.MARGIN",
    "MODEL.LOSSES.TRI.SCALE",
    "MODEL.LOSSES.TRI.HARD_MINING",
    "INPUT.SIZE_TRAIN",
    "DATALOADER.SAMPLER_TRAIN",
    "DATALOADER.NUM_INSTANCE",
    "SOLVER.OPT",
    "SOLVER.BASE_LR",
    "SOLVER.IMS_PER_BATCH",
    "SOLVER.MAX_EPOCH",
    "SOLVER.SCHED",
    "SOLVER.STEPS",
    "SOLVER.GAMMA",
    "SOLVER.WARMUP_ITERS",
    "SOLVER.WEIGHT_DECAY",
    "SOLVER.AMP.ENABLED",
    "SOLVER.EARLY_STOP.PATIENCE",
    "TEST.EVAL_PERIOD",
    "SEED",
)


def config_value(cfg: Config, dotted: str):
    node = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def hyperparameters(cfg: Config) -> dict:
    return {key: config_value(cfg, key) for key in HYPERPARAMETER_KEYS}


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def versions() -> dict:
    return {
        "reidlab": reidlab.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
    }


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads, {platform.machine()}, {socket.gethostname()})"
