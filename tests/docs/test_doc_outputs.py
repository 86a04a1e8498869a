"""The excerpts in docs/outputs.md come from real runs and match what the tools write today.

Each excerpt follows a marker `<!-- excerpt: NAME -->`. A tiny real run is trained here (two
epochs on the tiny synthetic set, seconds), then diagnosed and compared; each excerpt must carry
exactly the field names, headings and line shapes that those real files carry. The excerpts must
also agree with each other (one run's best mAP in model_info.json, the history and
STOPPING_REASON.txt), which hand-written examples would not.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_commands import REPO  # noqa: E402

OUTPUTS = REPO / "docs" / "outputs.md"
TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
_MARKER = re.compile(r"<!-- excerpt: ([\w./-]+) -->\s*\n```[a-z]*\n(.*?)\n```", re.DOTALL)


def excerpts() -> dict[str, str]:
    found = {name: body for name, body in _MARKER.findall(OUTPUTS.read_text(encoding="utf-8"))}
    assert found, f"{OUTPUTS} holds no <!-- excerpt: NAME --> code block"
    return found


@pytest.fixture(scope="module")
def real(tmp_path_factory, tiny_data_root) -> dict:
    """A tiny real run (epoch 1 not evaluated, epoch 2 evaluated), its diagnosis and its comparison."""
    from rich.console import Console

    from reidlab.engine.train import train
    from reidlab.research.compare import StatisticsSettings, compare_runs
    from reidlab.research.diagnose import diagnose

    root = tmp_path_factory.mktemp("docs_real_run")
    overrides = {
        "DATASETS.ROOT": tiny_data_root.as_posix(), "OUTPUT_DIR": (root / "logs" / "tiny").as_posix(),
        "INPUT.SIZE_TRAIN": "[64, 32]", "INPUT.SIZE_TEST": "[64, 32]", "SOLVER.IMS_PER_BATCH": "8",
        "DATALOADER.NUM_INSTANCE": "2", "SOLVER.MAX_EPOCH": "2", "SOLVER.WARMUP_ITERS": "2",
        "TEST.EVAL_PERIOD": "2", "TEST.IMS_PER_BATCH": "32",
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(TINY_CONFIG, None, [item for pair in overrides.items() for item in pair])
    finally:
        torch.set_num_threads(threads)
    run = result.run_dir
    diagnosis = diagnose(run, out_configs=root / "custom_configs", workdir=root)
    comparison = compare_runs([run], root / "compare", Console(file=open(root / "console.txt", "w")), StatisticsSettings(200, 400))
    return {
        "run": run,
        "history": json.loads((run / "training_history.json").read_text(encoding="utf-8")),
        "model_info": json.loads((run / "model_info.json").read_text(encoding="utf-8")),
        "stopping_reason": (run / "STOPPING_REASON.txt").read_text(encoding="utf-8"),
        "log": (run / "log.txt").read_text(encoding="utf-8"),
        "analysis_txt": diagnosis.text,
        "analysis_json": json.loads(diagnosis.files["analysis.json"].read_text(encoding="utf-8")),
        "selection_txt": comparison.files["BEST_MODEL_SELECTION.txt"].read_text(encoding="utf-8"),
        "selection_json": json.loads(comparison.files["BEST_MODEL_SELECTION.json"].read_text(encoding="utf-8")),
    }


def _keys(value) -> set:
    return set(value) if isinstance(value, dict) else set()


def _headings(text: str) -> list[str]:
    """Lines in capitals that open a section (STOPPING_REASON.txt, BEST_MODEL_SELECTION.txt, analysis.txt)."""
    return [line.strip() for line in text.splitlines() if re.fullmatch(r"[A-Z][A-Z ()\-]{3,}", line.strip())]


def _shape(line: str) -> str:
    """A log line with its timestamp and numbers blanked: what stays is the wording the reader relies on."""
    line = re.sub(r"^\[[^\]]*\]\s*", "", line)
    line = re.sub(r"\S*/\S*", "<path>", line)  # run folders differ
    return re.sub(r"[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+)", "#", line)


# ------------------------------------------------------------------ the run folder
def test_training_history_excerpt_has_the_real_fields(real):
    documented = json.loads(excerpts()["training_history.json"])
    evaluated = [r for r in real["history"] if "mAP" in r]
    plain = [r for r in real["history"] if "mAP" not in r]
    assert evaluated and plain
    assert any("mAP" in r for r in documented) and any("mAP" not in r for r in documented)
    for record in documented:
        expected = evaluated[0] if "mAP" in record else plain[0]
        assert list(record) == list(expected), "the documented record's fields differ from a real one's"


def test_model_info_excerpt_has_the_real_fields(real):
    documented = json.loads(excerpts()["model_info.json"])
    actual = real["model_info"]
    assert list(documented) == list(actual)
    for key in ("best", "final", "stop", "versions", "hyperparameters"):
        assert _keys(documented[key]) == _keys(actual[key]), key


def test_stopping_reason_excerpt_has_the_real_sections(real):
    documented = excerpts()["STOPPING_REASON.txt"]
    assert documented.startswith("STOPPING REASON: ")
    assert _headings(documented) == _headings(real["stopping_reason"])


def test_the_run_folder_excerpts_come_from_one_run():
    found = excerpts()
    info = json.loads(found["model_info.json"])
    history = json.loads(found["training_history.json"])
    best = info["best"]
    assert any(r.get("mAP") == best["mAP"] and r["epoch"] == best["epoch"] for r in history), "history and model_info disagree"
    assert f"Best mAP: {best['mAP']:.4f} at epoch {best['epoch']}" in found["STOPPING_REASON.txt"]
    assert f"STOPPING REASON: {info['stop']['reason']}" in found["STOPPING_REASON.txt"]
    epoch_lines = [line for line in found["log.txt"].splitlines() if f"epoch {best['epoch']}/" in line]
    assert epoch_lines and f"mAP {best['mAP']:.4f}" in epoch_lines[0], "log.txt and model_info disagree"


def test_log_excerpt_lines_have_the_shape_of_real_lines(real):
    real_shapes = {_shape(line) for line in real["log"].splitlines()}
    documented = [line for line in excerpts()["log.txt"].splitlines() if re.match(r"^\[[^\]]*\] (epoch|Stopped|Best mAP)", line)]
    assert len(documented) >= 3
    for line in documented:
        assert _shape(line) in real_shapes, f"no real log line has this shape: {line}"


def test_checkpoint_and_per_query_excerpts_name_the_real_contents(real):
    found = excerpts()
    checkpoint = torch.load(real["run"] / "best_model.pth", weights_only=True, map_location="cpu")
    assert re.findall(r"^(\w+):", found["best_model.pth"], re.MULTILINE) == list(checkpoint)
    arrays = np.load(real["run"] / "eval" / "best_per_query.npz")
    assert re.findall(r"^(\w+) ", found["best_per_query.npz"], re.MULTILINE) == list(arrays.files)


# ------------------------------------------------------------------ compare and diagnose
def test_selection_excerpts_have_the_real_fields_and_sections(real):
    found = excerpts()
    documented = json.loads(found["BEST_MODEL_SELECTION.json"])
    assert list(documented) == list(real["selection_json"])
    assert _keys(documented["runs"][0]) == _keys(real["selection_json"]["runs"][0])
    documented_sections = _headings(found["BEST_MODEL_SELECTION.txt"])
    real_sections = _headings(real["selection_txt"])
    assert documented_sections and set(documented_sections) <= set(real_sections)


def test_analysis_excerpts_have_the_real_fields_and_sections(real):
    found = excerpts()
    assert list(json.loads(found["analysis.json"])) == list(real["analysis_json"])
    real_sections = _headings(real["analysis_txt"])
    for section in _headings(found["analysis.txt"]):
        assert section in real_sections
    assert found["analysis.txt"].startswith("DIAGNOSIS OF ") and "\nVERDICT: " in found["analysis.txt"]


# ------------------------------------------------------------------ sweep and doctor (formats, no run needed)
def test_sweep_excerpt_has_the_fields_sweep_json_holds():
    from reidlab.research.sweep import SweepRun, SweepState

    documented = json.loads(excerpts()["sweep.json"])
    state = SweepState(strategy="halving", overrides=[], runs=[SweepRun("a", "a.yml", "runs/a")])
    assert list(documented) == list(state.to_dict())
    for run in documented["runs"]:
        assert list(run) == [f.name for f in dataclasses.fields(SweepRun)]


def test_doctor_excerpts_have_the_fields_and_checks_doctor_writes():
    from reidlab.research.doctor import CHECK_ORDER, CheckResult, DoctorReport, Status

    found = excerpts()
    documented = json.loads(found["doctor.json"])
    assert list(documented) == list(DoctorReport("c.yml", [], "cpu", "off").to_dict())
    order = [name for name, _ in CHECK_ORDER]
    names = [c["name"] for c in documented["checks"]]
    assert names and names == sorted(names, key=order.index), "unknown check names, or out of order"
    for check in documented["checks"]:
        assert list(check) == list(CheckResult("n", "t", Status.PASS, "s").to_dict())
    text = found["doctor.txt"]
    for _, title in CHECK_ORDER:
        assert re.search(rf"^(PASS|WARN|FAIL|SKIP)\s+{re.escape(title)}\s", text, re.MULTILINE), title
