"""Fine-tuning: `reidlab train ... MODEL.WEIGHTS path/to/fastreid/model_final.pth` loads the backbone and neck,
leaves a classifier for another number of identities fresh (saying so), trains, and records the source."""

import json
import sys
from pathlib import Path

import pytest
import torch

from reidlab.config import load_config
from reidlab.engine.train import build_training_model, train
from reidlab.errors import UserError
from reidlab.modeling import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import TINY_CONFIG  # noqa: E402
from fastreid_names import fastreid_names  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "fastreid-r18-bot"


@pytest.fixture
def fastreid_checkpoint(tmp_path) -> tuple[Path, dict]:
    """A fast-reid-format checkpoint (fvcore's {"model": ...}) of the demo's R18 with 20 identities."""
    torch.manual_seed(1)
    state = fastreid_names(build_model(load_config(TINY_CONFIG), 20).state_dict())
    path = tmp_path / "zoo" / "model_final.pth"
    path.parent.mkdir()
    torch.save({"model": state, "iteration": 9000}, path)
    return path, state


def test_fine_tuning_from_a_fastreid_checkpoint(tmp_path, tiny_overrides, fastreid_checkpoint, one_torch_thread):
    path, state = fastreid_checkpoint
    overrides = tiny_overrides(tmp_path / "run", {"MODEL.WEIGHTS": path.as_posix(), "SOLVER.MAX_EPOCH": 1})
    model, weights = build_training_model(load_config(TINY_CONFIG, overrides), 8, torch.device("cpu"))
    assert torch.equal(model.state_dict()["backbone.layer4.1.conv2.weight"], state["backbone.layer4.1.conv2.weight"])
    assert torch.equal(model.state_dict()["head.bottleneck.running_var"], state["heads.bottleneck.0.running_var"])
    assert model.state_dict()["head.classifier.weight"].shape == (8, 512)

    result = train(TINY_CONFIG, overrides=overrides)
    info = json.loads((result.run_dir / "model_info.json").read_text(encoding="utf-8"))
    recorded = info["initial_weights"]
    assert recorded["path"] == str(path) and recorded["format"] == "fast-reid" and recorded["loaded"] == weights.loaded > 100
    assert recorded["left_fresh"] == ["the classifier (the checkpoint has 20 identities, this run 8)"]
    log = (result.run_dir / "log.txt").read_text(encoding="utf-8")
    assert f"MODEL.WEIGHTS {path} (fast-reid checkpoint): loaded {weights.loaded} tensors; left fresh: the classifier" in log
    assert info["best"] is not None  # it trained and evaluated on the new data set


def test_fine_tuning_from_the_fixtures_fastreid_checkpoint(tmp_path, tiny_overrides):
    if not (FIXTURE / "model_final.pth").is_file():
        pytest.skip(f"the fast-reid fixture is absent: {FIXTURE}")
    cfg = load_config(TINY_CONFIG, tiny_overrides(tmp_path / "run", {"MODEL.WEIGHTS": (FIXTURE / "model_final.pth").as_posix()}))
    model, weights = build_training_model(cfg, 8, torch.device("cpu"))
    fastreid = torch.load(FIXTURE / "model_final.pth", weights_only=True)["model"]
    assert torch.equal(model.state_dict()["backbone.conv1.weight"], fastreid["backbone.conv1.weight"])
    assert weights.format == "fast-reid" and weights.left_fresh == ["the classifier (the checkpoint has 751 identities, this run 8)"]


def test_weights_of_another_depth_are_refused_in_one_line(tmp_path, fastreid_checkpoint):
    path, _ = fastreid_checkpoint
    cfg = load_config(TINY_CONFIG, ["MODEL.BACKBONE.DEPTH", "34x", "MODEL.WEIGHTS", path.as_posix()])
    with pytest.raises(UserError, match=r"MODEL.WEIGHTS does not fit this model \(.*layer1.2.*\); a checkpoint of another depth") as caught:
        build_training_model(cfg, 8, torch.device("cpu"))
    assert "\n" not in str(caught.value)
