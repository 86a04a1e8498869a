"""Argument checks shared by the evaluation entry points.

Every check raises ValueError with a message that names the offending argument,
so a caller can tell at a glance which input is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_label_array(name: str, values: Any) -> np.ndarray:
    """Return ``values`` as a 1-D int64 numpy array (pids or camera ids)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(array.shape)}")
    if array.dtype.kind in "iub":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64)
    raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")


def check_length(name: str, array: np.ndarray, expected: int, what: str) -> None:
    """Raise if ``array`` does not have ``expected`` entries (``what`` says what it must match)."""
    if len(array) != expected:
        raise ValueError(f"{name} has {len(array)} entries but {what}")


def checked_labels(
    q_pids: Any, g_pids: Any, q_camids: Any, g_camids: Any, num_q: int, num_g: int, query_rows: str, gallery_rows: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four label arrays as int64, each checked against the count it must match (e.g. "distmat has 6 rows")."""
    q_p, g_p = as_label_array("q_pids", q_pids), as_label_array("g_pids", g_pids)
    q_c, g_c = as_label_array("q_camids", q_camids), as_label_array("g_camids", g_camids)
    check_length("q_pids", q_p, num_q, query_rows)
    check_length("q_camids", q_c, num_q, query_rows)
    check_length("g_pids", g_p, num_g, gallery_rows)
    check_length("g_camids", g_c, num_g, gallery_rows)
    return q_p, g_p, q_c, g_c


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, raising unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_features(name: str, feats: Any) -> torch.Tensor:
    """Return ``feats`` as a 2-D floating torch tensor with finite entries and at least one row."""
    tensor = torch.as_tensor(feats)
    if tensor.ndim != 2:
        raise ValueError(f"{name} must be 2-D (num_images, dim), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    if not tensor.is_floating_point():
        tensor = tensor.float()
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return tensor
