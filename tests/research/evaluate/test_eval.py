"""`reidlab eval`: training's own evaluation of a checkpoint, an eval folder compare ranks, and deployment steps that work."""

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlab.cli.main import main
from reidlab.config import load_config
from reidlab.engine.train import train
from reidlab.modeling import build_model
from reidlab.research.compare import compare_runs
from reidlab.research.compare.report import deploy_instructions
from reidlab.research.evaluate import evaluate_checkpoint

TESTS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "research"))
from conftest import TINY_CONFIG, tiny_override_list  # noqa: E402
from fastreid_fixtures import fastreid_config, write_fastreid_folder  # noqa: E402
from fastreid_names import fastreid_names  # noqa: E402

FIXTURE = TESTS.parents[1] / "shared" / "fixtures" / "fastreid-r18-bot"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_data_root) -> Path:
    out = tmp_path_factory.mktemp("eval") / "run"
    overrides = tiny_override_list(tiny_data_root, out, {"TEST.IMS_PER_BATCH": 128})  # the demo config's evaluation batch, as before
    return train(TINY_CONFIG, overrides=overrides).run_dir


def test_eval_reproduces_the_runs_best_map_and_writes_an_eval_folder(trained_run, tmp_path, capsys):
    best = json.loads((trained_run / "model_info.json").read_text(encoding="utf-8"))["best"]
    result = evaluate_checkpoint(trained_run, out=tmp_path / "ev")
    assert result.metrics["mAP"] == pytest.approx(best["mAP"], abs=1e-6) and result.metrics["rank1"] == pytest.approx(best["rank1"], abs=1e-6)
    record = json.loads((result.folder / "metrics.json").read_text(encoding="utf-8"))
    assert record["format"] == "reidlab-eval" and record["checkpoint_format"] == "reidlab" and record["checkpoint_epoch"] == best["epoch"]
    assert (result.folder / "per_query.npz").is_file() and load_config(result.folder / "config.yaml").TEST.METRIC == "cosine"
    table = capsys.readouterr().out
    assert "mAP" in table and "Rank-1" in table and f"{100 * best['mAP']:.2f}" in table
    again = evaluate_checkpoint(trained_run, out=tmp_path / "ev")
    assert again.folder.name == "ev-2"  # nothing is overwritten


def test_the_command_names_its_folder_and_takes_test_overrides(trained_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["eval", str(trained_run), "TEST.AQE.ENABLED", "True", "TEST.FLIP.ENABLED", "True"]) == 0
    assert main(["eval", str(trained_run), "--out", "late_option", "TEST.METRIC", "euclidean"]) == 0  # options may follow the run
    assert json.loads((tmp_path / "late_option" / "metrics.json").read_text(encoding="utf-8"))["options"]["metric"] == "euclidean"
    folder = tmp_path / "logs" / "eval" / "run-Market1501-flip-aqe"
    record = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert record["options"] == {"metric": "cosine", "flip": True, "aqe": True, "rerank": False}
    assert "wrote " in capsys.readouterr().out


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run directory not found" in err[0]


def test_compare_ranks_eval_folders_beside_runs_and_prints_steps_that_work(trained_run, tmp_path):
    evaluate_checkpoint(trained_run, out=tmp_path / "runs" / "eval_of_run")
    fastreid = fastreid_run(tmp_path / "runs" / "fastreid_r18", load_config(trained_run / "config.yaml"))
    result = compare_runs([tmp_path / "runs", trained_run], out=tmp_path / "report")
    sources = {r.run.label: r.run.source for r in result.selection.runs}
    assert set(sources.values()) == {"reidlab", "reidlab eval", "fast-reid"}
    text = (tmp_path / "report" / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    printed = next(line.split("ONNX export:", 1)[1].strip() for line in text.splitlines() if "ONNX export:" in line)
    assert printed == deploy_instructions(result.selection.winner.run)["export_onnx"]
    for index, ranked in enumerate(result.selection.runs):  # whichever wins, its printed steps work
        words = shlex.split(deploy_instructions(ranked.run)["export_onnx"])
        assert words[:2] == ["reidlab", "export"] and main([*words[1:], "--out", str(tmp_path / f"{index}.onnx")]) == 0, ranked.run.label
    assert fastreid in [r.run.path for r in result.selection.runs]
    assert (tmp_path / "report" / "per_query_ap_top_two.png").stat().st_size > 0  # the run and its eval share their queries


def fastreid_run(folder: Path, tiny_cfg) -> Path:
    """A fast-reid output folder (metrics.json, config.yaml, log.txt) with a model_final.pth that fits its config."""
    config = fastreid_config({"MODEL.BACKBONE.DEPTH": "18x", "MODEL.BACKBONE.FEAT_DIM": 512, "MODEL.HEADS.NUM_CLASSES": 8, "INPUT.SIZE_TEST": [64, 32], "MODEL.DEVICE": "cpu"})
    write_fastreid_folder(folder, epochs=2, loss_cls=lambda i: 2.0, loss_triplet=lambda i: 0.5, cls_accuracy=lambda i: 0.5, mAP=lambda i: 90.0, config=config)
    torch.manual_seed(0)
    torch.save({"model": fastreid_names(build_model(tiny_cfg, 8).state_dict()), "iteration": 100}, folder / "model_final.pth")
    return folder


def test_eval_of_the_fixture_fastreid_run(tmp_path, tiny_data_root, capsys):
    if not (FIXTURE / "model_final.pth").is_file():
        pytest.skip(f"the fast-reid fixture is absent: {FIXTURE}")
    overrides = ["DATASETS.ROOT", tiny_data_root.as_posix(), "INPUT.SIZE_TEST", "[128, 64]"]
    assert main(["eval", str(FIXTURE), "--out", str(tmp_path / "ev"), *overrides]) == 0
    out = capsys.readouterr().out
    assert "ignored 24 fast-reid keys" in out and "Market1501" in out
    record = json.loads((tmp_path / "ev" / "metrics.json").read_text(encoding="utf-8"))
    assert record["checkpoint_format"] == "fast-reid" and 0 <= record["metrics"]["mAP"] <= 1


def test_embed_takes_a_fastreid_run_folder(trained_run, tiny_data_root, tmp_path):
    folder = fastreid_run(tmp_path / "fastreid_r18", load_config(trained_run / "config.yaml"))
    images = next(tiny_data_root.rglob("bounding_box_test"))
    assert main(["embed", str(folder), str(images), "--out", str(tmp_path / "e.npz")]) == 0
    with np.load(tmp_path / "e.npz") as saved:
        vectors = next(saved[k] for k in saved.files if saved[k].ndim == 2)
    assert vectors.shape[1] == 512 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
