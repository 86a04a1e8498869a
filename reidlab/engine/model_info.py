"""What model_info.json says of the machine and the software a run used (its fields beyond the config)."""

from __future__ import annotations

import platform
import socket
from datetime import datetime, timezone

import torch
import torchvision

import reidlab


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
