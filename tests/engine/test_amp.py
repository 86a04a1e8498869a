"""SOLVER.AMP.ENABLED on a CPU: bf16 autocast only where the CPU computes bf16 natively; elsewhere float32, said once."""

import json

import torch

from reidlab.engine import amp as amp_module
from reidlab.engine.amp import AmpSettings
from reidlab.engine.train import train

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"  # SOLVER.AMP.ENABLED True


def test_a_cpu_with_native_bf16_gets_bf16_autocast(monkeypatch):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    settings = AmpSettings.for_device(True, torch.device("cpu"))
    assert settings.enabled and settings.dtype == torch.bfloat16 and not settings.note


def test_a_cpu_without_native_bf16_trains_in_float32_and_says_so(monkeypatch, tmp_path, tiny_overrides):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)  # an AVX2-only CPU
    settings = AmpSettings.for_device(True, torch.device("cpu"))
    assert not settings.enabled and settings.dtype == torch.float32 and "no native bf16" in settings.note
    assert AmpSettings.for_device(True, torch.device("cuda")).dtype == torch.float16  # CUDA is unaffected

    result = train(CONFIG, overrides=tiny_overrides(tmp_path / "run", {"SOLVER.MAX_EPOCH": 1}))
    info = json.loads((result.run_dir / "model_info.json").read_text(encoding="utf-8"))
    assert info["amp"] == f"off (float32: {amp_module.NO_CPU_BF16})"
    log = (result.run_dir / "log.txt").read_text(encoding="utf-8")
    assert log.count("no native bf16") == 1
