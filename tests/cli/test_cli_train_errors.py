"""`reidlab train` on bad input: one line on stderr, no traceback, a non-zero exit, nothing lost."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from reidlab.cli.main import main

CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["train", *argv])
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code: int, err: str, *expected: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("reidlab train: error: ")
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_and_misspelt_keys(capsys, tiny_data_root):
    code, err = run_cli(capsys, "--config-file", CONFIG, "SOLVER.BASE_LRATE", "0.1")
    assert_one_line_error(code, err, "unknown key SOLVER.BASE_LRATE", "did you mean SOLVER.BASE_LR?", "command line")


def test_wrong_type(capsys):
    code, err = run_cli(capsys, "--config-file", CONFIG, "SOLVER.IMS_PER_BATCH", "many")
    assert_one_line_error(code, err, "SOLVER.IMS_PER_BATCH", "'many'")


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"exp.yml": "_BASE_: missing.yml\n"}, "_BASE_ file not found"),
        ({"exp.yml": "_BASE_: other.yml\n", "other.yml": "_BASE_: exp.yml\n"}, "_BASE_ cycle"),
        ({"exp.yml": "SOLVER:\n  BASE_LR: [0.1\n"}, "malformed YAML"),
        ({"exp.yml": "MODEL:\n  BACKBONE:\n    WITH_SE: True\n"}, "not supported yet: MODEL.BACKBONE.WITH_SE"),
    ],
)
def test_bad_config_files(capsys, tmp_path, files, expected):
    for name, text in files.items():
        write(tmp_path / name, text)
    code, err = run_cli(capsys, "--config-file", str(tmp_path / "exp.yml"))
    assert_one_line_error(code, err, expected, "exp.yml")


def test_missing_and_empty_data_set_folders(capsys, tmp_path):
    code, err = run_cli(capsys, "--config-file", CONFIG, "DATASETS.ROOT", str(tmp_path / "nowhere"), "OUTPUT_DIR", str(tmp_path / "run"))
    assert_one_line_error(code, err, "DATASETS.ROOT", "reidlab data synth")
    empty = tmp_path / "empty" / "Market-1501-v15.09.15"
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (empty / split).mkdir(parents=True)
    code, err = run_cli(capsys, "--config-file", CONFIG, "DATASETS.ROOT", str(tmp_path / "empty"), "OUTPUT_DIR", str(tmp_path / "run"))
    assert_one_line_error(code, err, "bounding_box_train")
    assert not (tmp_path / "run").exists()  # bad input creates no run directory


def test_file_names_that_do_not_match_the_pattern(capsys, tmp_path, tiny_data_root):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_data_root, root)
    train_dir = root / "Market-1501-v15.09.15" / "bounding_box_train"
    first = sorted(train_dir.glob("*.jpg"))[0]
    first.rename(train_dir / "holiday_photo.jpg")
    code, err = run_cli(capsys, "--config-file", CONFIG, "DATASETS.ROOT", str(root), "OUTPUT_DIR", str(tmp_path / "run"))
    assert_one_line_error(code, err, "holiday_photo.jpg")


def test_run_name_that_would_escape_the_output_folder(capsys):
    code, err = run_cli(capsys, "--config-file", CONFIG, "--run-name", "../../etc")
    assert_one_line_error(code, err, "--run-name", "single folder name")


def test_checkpoints_that_are_not_ours_or_hold_a_pickle_payload(capsys, tmp_path, tiny_overrides):
    foreign = tmp_path / "foreign.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}}, foreign)
    code, err = run_cli(capsys, "--config-file", CONFIG, *tiny_overrides(tmp_path / "run", {"MODEL.WEIGHTS": foreign.as_posix()}))
    assert_one_line_error(code, err, "neither a reidlab nor a fast-reid checkpoint", "torchreid")

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps(Payload()))
    code, err = run_cli(capsys, "--config-file", CONFIG, *tiny_overrides(tmp_path / "run", {"MODEL.WEIGHTS": evil.as_posix()}))
    assert_one_line_error(code, err, "refused to load")


def test_resume_without_a_checkpoint(capsys, tmp_path, tiny_overrides):
    code, err = run_cli(capsys, "--config-file", CONFIG, "--resume", *tiny_overrides(tmp_path / "run"))
    assert_one_line_error(code, err, "--resume", "last_checkpoint.pth not found")


def test_cuda_requested_without_cuda(capsys, tmp_path, tiny_overrides):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, err = run_cli(capsys, "--config-file", CONFIG, *tiny_overrides(tmp_path / "run", {"MODEL.DEVICE": "cuda"}))
    assert_one_line_error(code, err, "MODEL.DEVICE cuda", "not available")
