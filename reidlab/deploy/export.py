"""Export a trained model to ONNX or TorchScript, and check the export against PyTorch.

The exported graph is ReIDModel.forward: float32 RGB images on the 0-255 scale, already
resized to INPUT.SIZE_TEST, in (batch, 3, H, W) with a dynamic batch size -> L2-normalised
float32 embeddings (batch, D), pixel normalisation and the flip test included. Resizing stays
outside (the caller's image library does it).
The export is built in memory and checked on random images at batch sizes other than the
traced one: ONNX with onnxruntime when it is installed (the structure only, with onnx's
checker, when it is not), TorchScript (traced, then frozen for inference) by loading it back. Only an export within the
tolerance is written (atomically); otherwise ExportCheckError.
ONNX uses torch's TorchScript-based exporter (dynamo=False): it needs no onnxscript and
handles this model fully.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from reidlab.deploy.errors import DeployError, ExportCheckError
from reidlab.deploy.model import ReIDModel
from reidlab.rundir import write_bytes_atomic

EXPORT_FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
MAX_ABS_DIFF = 1e-4
TRACE_BATCH_SIZE = 2
CHECK_BATCH_SIZES = (1, 3)  # differ from the traced size: proves the batch dimension is dynamic
ONNX_OPSET = 17
INPUT_NAME, OUTPUT_NAME = "images", "embeddings"
TORCHSCRIPT_INFO_FILE = "reidlab.json"


@dataclass
class ExportResult:
    """Where the export went and how it compared with PyTorch."""

    path: Path
    format: str
    max_abs_diff: float | None  # None: no numeric check was possible
    checked_with: str
    tolerance: float = MAX_ABS_DIFF

    def summary(self) -> str:
        if self.max_abs_diff is None:
            return f"wrote {self.path} ({self.format}); not checked numerically: {self.checked_with}"
        return (
            f"wrote {self.path} ({self.format}); max abs difference from PyTorch {self.max_abs_diff:.3g} "
            f"({self.checked_with}, random batches of {' and '.join(map(str, CHECK_BATCH_SIZES))}; tolerance {self.tolerance:g})"
        )


def default_export_path(model: ReIDModel, fmt: str) -> Path:
    """Beside the checkpoint, same stem: RUN_DIR/best_model.onnx, RUN_DIR/best_model.torchscript.pt."""
    source = Path(model.source) if model.source else Path("model.pth")
    return source.with_name(source.stem + SUFFIXES[fmt])


def export_model(
    model_or_run: ReIDModel | str | Path,
    fmt: str = "onnx",
    out: str | Path | None = None,
    tolerance: float = MAX_ABS_DIFF,
    config_file: str | Path | None = None,
) -> ExportResult:
    """Export (ONNX or TorchScript) with a dynamic batch size, check it, write it; ExportCheckError above `tolerance`."""
    if fmt not in EXPORT_FORMATS:
        raise DeployError(f"export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if isinstance(model_or_run, ReIDModel):
        model = copy.deepcopy(model_or_run).cpu().eval()
    else:
        model = ReIDModel.from_run(model_or_run, device="cpu", config_file=config_file)
    path = Path(out) if out is not None else default_export_path(model, fmt)
    example = random_images(model, TRACE_BATCH_SIZE, seed=0)
    info = export_info(model)
    data = _onnx_bytes(model, example, info) if fmt == "onnx" else _torchscript_bytes(model, example, info)
    run_export, checked_with = _onnx_runner(data) if fmt == "onnx" else _torchscript_runner(data)
    max_diff = None if run_export is None else compare_with_pytorch(model, run_export)
    if max_diff is not None and not max_diff <= tolerance:
        raise ExportCheckError(
            f"{fmt} export of {model.source or 'the model'} differs from PyTorch by {max_diff:.3g} (tolerance {tolerance:g}); nothing written"
        )
    write_bytes_atomic(path, data)
    return ExportResult(path, fmt, max_diff, checked_with, tolerance)


def random_images(model: ReIDModel, batch_size: int, seed: int) -> torch.Tensor:
    """Seeded random float32 RGB 0-255 images at the model's input size."""
    generator = torch.Generator().manual_seed(seed)
    height, width = model.input_size
    return torch.randint(0, 256, (batch_size, 3, height, width), generator=generator).float()


def compare_with_pytorch(model: ReIDModel, run_export: Callable[[np.ndarray], np.ndarray]) -> float:
    """Largest absolute difference between the export's and PyTorch's embeddings over the check batches."""
    worst = 0.0
    for seed, batch_size in enumerate(CHECK_BATCH_SIZES, start=1):
        images = random_images(model, batch_size, seed)
        expected = model.embed_batch(images).numpy()
        got = np.asarray(run_export(images.numpy()))
        if got.shape != expected.shape:
            raise ExportCheckError(f"export returned shape {got.shape} for a batch of {batch_size}, PyTorch {expected.shape}; the batch size is not dynamic")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export_info(model: ReIDModel) -> dict[str, str]:
    """What a deployment needs to feed the export correctly, stored inside it."""
    height, width = model.input_size
    return {
        "producer": "reidlab",
        "input": f"{INPUT_NAME}: float32 (batch, 3, {height}, {width}) RGB on the 0-255 scale, resized to {height}x{width} (bicubic, antialiased)",
        "output": f"{OUTPUT_NAME}: float32 (batch, {model.embedding_dim}) L2-normalised; cosine similarity = dot product",
        "flip_test": str(model.flip_test).lower(),
        "source": str(model.source or ""),
        "fingerprint": model.fingerprint,
    }


# ---------------------------------------------------------------- ONNX
def _onnx_bytes(model: ReIDModel, example: torch.Tensor, info: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "legacy exporter": the one that needs no onnxscript
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=ONNX_OPSET,
            )
    except ImportError as exc:
        raise DeployError(f"ONNX export needs the onnx package ({exc}): pip install onnx onnxruntime") from None
    return _with_onnx_metadata(buffer.getvalue(), info)


def _with_onnx_metadata(data: bytes, info: dict[str, str]) -> bytes:
    try:
        import onnx
    except ImportError:
        return data
    proto = onnx.load_from_string(data)
    for key, value in info.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def _onnx_runner(data: bytes) -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    try:
        import onnxruntime
    except ImportError:
        return None, _onnx_structure_check(data)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return (lambda images: session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]), "onnxruntime"


def _onnx_structure_check(data: bytes) -> str:
    try:
        import onnx
    except ImportError:
        return "neither onnxruntime nor onnx is installed (pip install onnxruntime)"
    try:
        onnx.checker.check_model(onnx.load_from_string(data))
    except onnx.checker.ValidationError as exc:
        raise ExportCheckError(f"the ONNX export is invalid: {str(exc).splitlines()[0]}") from None
    return "onnxruntime is not installed, onnx's checker found the graph valid (pip install onnxruntime to compare outputs)"


# ---------------------------------------------------------------- TorchScript
def _torchscript_bytes(model: ReIDModel, example: torch.Tensor, info: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with torch.no_grad(), _quiet_torchscript():
        frozen = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))  # inference graph: conv+BN folded
        torch.jit.save(frozen, buffer, _extra_files={TORCHSCRIPT_INFO_FILE: json.dumps(info)})
    return buffer.getvalue()


def _torchscript_runner(data: bytes) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    with _quiet_torchscript():
        loaded = torch.jit.load(io.BytesIO(data), map_location="cpu")

    def run(images: np.ndarray) -> np.ndarray:
        # Without the graph executor's profiling passes, which cost seconds per new batch size here.
        with torch.no_grad(), torch.jit.optimized_execution(False):
            return loaded(torch.from_numpy(images)).numpy()

    return run, "torch.jit.load"


@contextlib.contextmanager
def _quiet_torchscript() -> Iterator[None]:
    """torch.jit warns that it is deprecated in favour of torch.export; it is still what C++ and mobile runtimes load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
