"""Export: ONNX and TorchScript with a dynamic batch, equal to PyTorch; a failed check writes nothing."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
import torch

try:
    import onnxruntime
except ImportError:  # the optional onnx extra; the other formats are still tested
    onnxruntime = None

import reidlab.deploy.export as export_module
from reidlab.deploy import DeployError, ExportCheckError, export_model
from reidlab.deploy.export import random_images


@pytest.mark.skipif(onnxruntime is None, reason="needs the onnx extra (onnx, onnxruntime)")
def test_onnx_export_matches_pytorch_at_any_batch_size(trained_run, model, tmp_path):
    result = export_model(trained_run, "onnx", tmp_path / "model.onnx")
    assert result.path.is_file() and result.checked_with == "onnxruntime"
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    images = random_images(model, 5, seed=7)
    [embeddings] = session.run(None, {"images": images.numpy()})
    np.testing.assert_allclose(embeddings, model.embed(images), atol=1e-4)
    metadata = session.get_modelmeta().custom_metadata_map
    assert metadata["flip_test"] == "true" and "64x32" in metadata["input"]


def test_torchscript_export_matches_pytorch_at_any_batch_size(model, tmp_path):
    result = export_model(model, "torchscript", tmp_path / "model.pt")
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    extra = {"reidlab.json": ""}
    with warnings.catch_warnings():  # torch.jit warns that it is deprecated upstream; loading works
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(io.BytesIO(result.path.read_bytes()), _extra_files=extra)
    assert json.loads(extra["reidlab.json"])["fingerprint"] == model.fingerprint
    images = random_images(model, 4, seed=3)
    with torch.no_grad(), torch.jit.optimized_execution(False):
        np.testing.assert_allclose(loaded(images).numpy(), model.embed(images), atol=1e-4)


def test_an_export_that_differs_from_pytorch_fails_and_writes_nothing(model, tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "_onnx_bytes", lambda model, example, info: b"fake")
    monkeypatch.setattr(export_module, "_onnx_runner", lambda data: (lambda images: np.zeros((len(images), 512), np.float32), "fake"))
    with pytest.raises(ExportCheckError, match="differs from PyTorch"):
        export_model(model, "onnx", tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_export_refuses_an_unknown_format_and_a_missing_run(model, tmp_path):
    with pytest.raises(DeployError, match="onnx, torchscript"):
        export_model(model, "tflite")
    with pytest.raises(DeployError, match="not found"):
        export_model(tmp_path / "missing", "onnx")
