"""`reidlab diagnose` on fast-reid output folders written in fast-reid's own format (see fastreid_fixtures)."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import pytest

from reidlab.cli.main import main
from reidlab.config import load_config
from reidlab.modeling.chance import chance_cross_entropy
from reidlab.research.diagnose import DiagnoseError, Severity, diagnose, find_findings
from reidlab.research.runs import read_fastreid_log, read_run_evidence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared run-folder fixtures
from fastreid_fixtures import MARKET_IDS, fastreid_config, write_fastreid_folder  # noqa: E402

CHANCE = math.log(MARKET_IDS)  # 6.62


def noisy(center: float, spread: float, seed: int):
    rng = random.Random(seed)
    return lambda iteration: center + rng.uniform(-spread, spread)


def stuck_run(folder: Path, *, overrides: dict | None = None, **kwargs) -> Path:
    """The zero_grad signature: CE at ln(751) and triplet flat from the first iteration, accuracy 0, mAP about 2 %."""
    kwargs.setdefault("loss_cls", noisy(CHANCE + 0.005, 0.01, 1))
    kwargs.setdefault("loss_triplet", noisy(2.9, 0.05, 2))
    config = fastreid_config({"TEST.EVAL_PERIOD": 10, **(overrides or {})})
    return write_fastreid_folder(folder, epochs=25, cls_accuracy=lambda i: 0.0, mAP=lambda i: 2.1, config=config, **kwargs)


def learning_run(folder: Path, **kwargs) -> Path:
    """A healthy bag-of-tricks run: CE and triplet fall, accuracy rises to ~1, mAP climbs towards 85 %."""
    return write_fastreid_folder(
        folder, epochs=25, config=fastreid_config({"TEST.EVAL_PERIOD": 5}),
        loss_cls=lambda i: 1.05 + (CHANCE - 1.05) * math.exp(-i / 500), loss_triplet=lambda i: 0.05 + 2.85 * math.exp(-i / 500),
        cls_accuracy=lambda i: 1 - math.exp(-i / 700), mAP=lambda i: 85 * (1 - math.exp(-i / 2500)), **kwargs,
    )


def findings_of(folder: Path):
    return find_findings(read_run_evidence(folder))


def codes(folder: Path) -> list[str]:
    return [f.code for f in findings_of(folder)]


# ---------------------------------------------------------------- log.txt
def test_versions_and_the_training_set_come_from_fastreids_log_tables(tmp_path):
    log = read_fastreid_log(stuck_run(tmp_path / "run"))
    assert log.versions == {"fastreid": "1.4.0", "torch": "2.1.0+cu121"}
    assert (log.train_ids, log.train_images, log.auto_num_classes) == (751, 12936, 751)  # query/gallery rows ignored
    assert log.problems == [] and log.non_finite_iteration is None


def test_a_resumed_log_is_read_from_its_last_session(tmp_path):
    run = stuck_run(tmp_path / "run", torch="1.13.1+cu117")
    first = (run / "log.txt").read_text(encoding="utf-8")
    second = first.replace("1.13.1+cu117", "2.0.1+cu118").replace("| 751     | 12936", "| 702     | 16522")
    (run / "log.txt").write_text(first + second, encoding="utf-8")  # fast-reid appends to log.txt on --resume
    log = read_fastreid_log(run)
    assert log.versions["torch"] == "2.0.1+cu118" and (log.train_ids, log.train_images) == (702, 16522)


# ---------------------------------------------------------------- the zero_grad bug and other flat runs
def test_fastreid_on_torch_2_with_ce_flat_at_chance_is_the_zero_grad_bug(tmp_path):
    run = stuck_run(tmp_path / "run", overrides={"MODEL.HEADS.NUM_CLASSES": 0})  # ids from the log's table, not the config
    findings = findings_of(run)
    top = findings[0]
    assert top.code == "weights_not_updating" and top.severity is Severity.CRITICAL
    assert top.evidence["cause"] == "fastreid_zero_grad" and top.evidence["training_ids"] == 751
    assert (top.evidence["fastreid_version"], top.evidence["torch_version"]) == ("1.4.0", "2.1.0+cu121")
    assert "zero_grad bug" in top.title and "ln(751) = 6.621" in top.title
    assert "optimizer.zero_grad(set_to_none=False)" in top.fix and "fastreid/engine/train_loop.py" in top.fix and "reidlab train" in top.fix
    assert "ContiguousParams" in top.cause and "Known causes" in top.cause
    assert "ce_at_chance" in [f.code for f in findings]
    assert "weights appear not to move" in next(f for f in findings if f.code == "ce_at_chance").cause
    chance = next(f for f in findings if f.code == "ce_at_chance")
    assert "model_XXXX.pth" in chance.fix and "reidlab doctor --config-file" in chance.fix and "training_history.json" not in chance.fix


def test_flat_ce_on_torch_1_names_the_weights_but_not_the_zero_grad_bug(tmp_path):
    top = findings_of(stuck_run(tmp_path / "run", torch="1.13.1+cu117"))[0]
    assert top.code == "weights_not_updating" and top.evidence["cause"] == "unknown"
    assert "appear not to update" in top.title and "zero_grad bug" not in top.title
    assert "Ruled out:" in top.cause and "PyTorch 1.13.1+cu117 keeps gradients" in top.cause
    assert "set_to_none=False)" not in top.fix


def test_an_old_fastreid_is_not_blamed_either(tmp_path):
    top = findings_of(stuck_run(tmp_path / "run", fastreid="1.0.0"))[0]
    assert top.evidence["cause"] == "unknown" and "predates the flattened parameter buffer" in top.cause


def test_every_layer_frozen_by_the_fastreid_config_is_named(tmp_path):
    overrides = {"MODEL.FREEZE_LAYERS": ["backbone", "heads"], "SOLVER.FREEZE_ITERS": 100000}
    top = findings_of(stuck_run(tmp_path / "run", torch="1.13.1", overrides=overrides))[0]
    assert top.evidence["cause"] == "all_frozen" and "SOLVER.FREEZE_ITERS 100000 covers all" in top.cause


def test_a_zero_heads_lr_factor_is_named(tmp_path):
    top = findings_of(stuck_run(tmp_path / "run", overrides={"SOLVER.HEADS_LR_FACTOR": 0.0}))[0]
    assert top.evidence["cause"] == "zero_lr" and "HEADS_LR_FACTOR is 0" in top.cause
    assert "Also:" in top.cause and "ContiguousParams" in top.cause  # the zero_grad bug applies as well


def test_without_log_txt_the_versions_are_unknown_and_the_report_says_so(tmp_path):
    run = stuck_run(tmp_path / "run", write_log=False)  # ids from MODEL.HEADS.NUM_CLASSES 751
    top = findings_of(run)[0]
    assert top.code == "weights_not_updating" and top.evidence["cause"] == "unknown"
    assert "version is not in log.txt" in top.cause
    text = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path).text
    assert "COULD NOT BE READ" in text and "log.txt is missing" in text and "versions not in log.txt" in text


def test_unknown_identities_are_said_instead_of_guessed(tmp_path):
    """No chance level without ids; a CE that never falls with a batch accuracy of 0 still shows the standstill."""
    run = stuck_run(tmp_path / "run", write_log=False, overrides={"MODEL.HEADS.NUM_CLASSES": 0})
    found = findings_of(run)
    assert "ce_at_chance" not in [f.code for f in found]
    assert found[0].code == "weights_not_updating" and found[0].evidence["training_ids"] == "unknown"
    assert "stays flat" in found[0].title and "accuracy of about 0" in found[0].title
    text = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path).text
    assert "number of training identities unknown" in text and "chance-level cross-entropy cannot be judged" in text


def test_a_flat_curve_without_ids_and_with_an_accurate_classifier_is_no_standstill(tmp_path):
    """A late, flat stretch of a run that learned (accuracy ~1) is not a standstill, ids or not."""
    run = stuck_run(tmp_path / "run", write_log=False, overrides={"MODEL.HEADS.NUM_CLASSES": 0},
                    loss_cls=noisy(1.1, 0.01, 5), loss_triplet=noisy(0.05, 0.01, 6))
    (run / "metrics.json").write_text((run / "metrics.json").read_text(encoding="utf-8").replace('"cls_accuracy": 0.0', '"cls_accuracy": 0.99'), encoding="utf-8")
    assert "weights_not_updating" not in codes(run)


# fast-reid's SBS classifier in its config.yaml: chance is the CircleSoftmax CE at cosine 0, not ln(751).
FASTREID_SBS = {"MODEL.HEADS.CLS_LAYER": "CircleSoftmax", "MODEL.HEADS.SCALE": 64, "MODEL.HEADS.MARGIN": 0.35, "MODEL.LOSSES.TRI.MARGIN": 0.0}
SBS_CHANCE = chance_cross_entropy("CircleSoftmax", MARKET_IDS, 64, 0.35, 0.1)  # bag of tricks' CE.EPSILON 0.1: 50.1


def test_a_fastreid_sbs_run_flat_at_its_cosine_chance_is_the_zero_grad_bug(tmp_path):
    run = stuck_run(tmp_path / "run", overrides=FASTREID_SBS, loss_cls=noisy(SBS_CHANCE + 0.3, 0.05, 7), loss_triplet=noisy(0.693, 0.005, 8))
    findings = findings_of(run)
    top = findings[0]
    assert top.code == "weights_not_updating" and top.evidence["cause"] == "fastreid_zero_grad"
    assert top.evidence["chance_ce"] == pytest.approx(SBS_CHANCE, abs=1e-3) and "CircleSoftmax CE at cosine 0 (SCALE 64, MARGIN 0.35" in top.title
    chance = next(f for f in findings if f.code == "ce_at_chance")
    assert chance.evidence["chance_ce_basis"].startswith("CircleSoftmax") and chance.evidence["ln_ids"] == pytest.approx(CHANCE, abs=1e-3)
    assert "triplet_at_margin" in [f.code for f in findings]  # soft margin: stuck at ln 2


def test_a_fastreid_sbs_run_flat_at_ln_ids_is_not_at_chance(tmp_path):
    """With CircleSoftmax, a CE of 6.6 means the classifier learned a great deal."""
    run = stuck_run(tmp_path / "run", overrides=FASTREID_SBS, loss_triplet=noisy(0.3, 0.01, 9))
    assert not {"weights_not_updating", "ce_at_chance"} & set(codes(run))


# ---------------------------------------------------------------- healthy and diverged runs
def test_a_healthy_fastreid_run_gets_no_weights_or_chance_finding(tmp_path):
    found = codes(learning_run(tmp_path / "run"))
    assert not {"weights_not_updating", "ce_at_chance", "triplet_at_margin", "divergence"} & set(found)


def test_a_diverged_fastreid_run(tmp_path):
    def loss_cls(i: int) -> float:
        return 1.5 + 5.1 * math.exp(-i / 400) if i < 2000 else 1.5 * 1.004 ** (i - 2000)

    run = write_fastreid_folder(
        tmp_path / "run", epochs=25, config=fastreid_config({"TEST.EVAL_PERIOD": 5}), diverged_at=3021,
        loss_cls=loss_cls, loss_triplet=lambda i: loss_cls(i) / 5, cls_accuracy=lambda i: 0.5, mAP=lambda i: 40.0,
    )
    evidence = read_run_evidence(run)
    assert evidence.stop_reason == "diverged" and "iteration=3021" in evidence.stop_message
    top = find_findings(evidence)[0]
    assert top.code == "divergence" and top.severity is Severity.CRITICAL
    assert top.evidence["stop_reason"] == "diverged" and top.remedies[0].name == "fix_divergence"


def test_a_loss_that_explodes_while_finite_is_divergence(tmp_path):
    run = write_fastreid_folder(
        tmp_path / "run", epochs=20, config=fastreid_config({"TEST.EVAL_PERIOD": 5}),
        loss_cls=lambda i: 1.5 + 5.1 * math.exp(-i / 300) if i < 1500 else 1.5 * 1.002 ** (i - 1500),
        loss_triplet=lambda i: 0.1, cls_accuracy=lambda i: 0.5, mAP=lambda i: 40.0,
    )
    assert codes(run)[0] == "divergence"


# ---------------------------------------------------------------- damaged folders
def test_an_empty_metrics_json_is_a_one_line_error_naming_the_folder(tmp_path):
    run = stuck_run(tmp_path / "run")
    (run / "metrics.json").write_text("", encoding="utf-8")
    with pytest.raises(DiagnoseError) as caught:
        diagnose(run, out_configs=tmp_path / "c")
    message = str(caught.value)
    assert "\n" not in message and str(run) in message and "metrics.json holds no training line" in message


def test_damaged_metrics_lines_are_skipped_and_reported(tmp_path):
    run = stuck_run(tmp_path / "run")
    text = (run / "metrics.json").read_text(encoding="utf-8")
    (run / "metrics.json").write_text("not json\n" + text + '{"iteration": 5059, "loss_cl', encoding="utf-8")  # a crash mid-write
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    assert result.findings[0].evidence["cause"] == "fastreid_zero_grad"
    assert "metrics.json: 2 damaged lines skipped" in result.text


def test_cli_diagnose_of_a_fastreid_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = stuck_run(tmp_path / "logs" / "market1501" / "bagtricks_R50")
    assert main(["diagnose", str(run), "--out-configs", "c"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "VERDICT: fast-reid's zero_grad bug" in out and "Source: a fast-reid output folder" in out
    assert "reidlab train --config-file c/fastreid_base/bagtricks_R50.yml --run-name bagtricks_R50_reidlab" in out
    (run / "metrics.json").write_text("\n\n", encoding="utf-8")
    assert main(["diagnose", str(run), "--out-configs", "c"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("reidlab diagnose: error:") and "metrics.json" in err[0]


# ---------------------------------------------------------------- the seed's own numbers
@pytest.mark.parametrize("with_log", [True, False])
def test_the_seeds_numbers_on_market_are_chance_level(tmp_path, with_log):
    """CE 6.7 and total loss 9.5 with Market-1501's 751 ids (ln 751 = 6.62)."""
    run = stuck_run(tmp_path / "run", loss_cls=noisy(6.7, 0.03, 3), loss_triplet=noisy(2.8, 0.05, 4), torch="2.0.1+cu117", write_log=with_log)
    findings = findings_of(run)
    chance = next(f for f in findings if f.code == "ce_at_chance")
    assert chance.evidence["training_ids"] == 751 and chance.evidence["mean_ce_last_epochs"] == pytest.approx(6.7, abs=0.02)
    assert findings[0].code == "weights_not_updating"
    assert (findings[0].evidence["cause"] == "fastreid_zero_grad") is with_log


# ---------------------------------------------------------------- remedies built on a fast-reid config
def test_remedies_for_a_fastreid_run_load_in_reidlab(tmp_path):
    run = stuck_run(tmp_path / "run")
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    base = tmp_path / "c" / "fastreid_base" / "run.yml"
    assert base.is_file() and load_config(base).SOLVER.BASE_LR == 0.00035
    assert len(result.remedies) >= 5 and not result.skipped
    for written in result.remedies:
        assert load_config(written.path).DATASETS.NAMES == ["Market1501"]
    facts = json.loads((run / "analysis.json").read_text(encoding="utf-8"))
    assert facts["source"] == "fast-reid" and facts["versions"]["fastreid"] == "1.4.0"
    assert facts["base_config"]["stripped"] > 0 and facts["base_config"]["dropped"] == []
    assert "reidlab copy of the fast-reid config.yaml" in result.text


def test_keys_reidlab_cannot_run_are_dropped_and_named_on_every_remedy(tmp_path):
    overrides = {"SOLVER.CLIP_GRADIENTS.ENABLED": True, "INPUT.AUGMIX.ENABLED": True}
    run = stuck_run(tmp_path / "run", overrides=overrides)
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    assert result.remedies and not result.skipped
    for written in result.remedies:
        text = " ".join(written.path.read_text(encoding="utf-8").replace("#", " ").split())
        assert "had to drop 2 key(s)" in text and "SOLVER.CLIP_GRADIENTS.ENABLED True" in text and "INPUT.AUGMIX.ENABLED True" in text
        load_config(written.path)
    report = " ".join(result.text.split())
    assert "dropped: INPUT.AUGMIX.ENABLED True (reidlab runs it only at False); SOLVER.CLIP_GRADIENTS.ENABLED True (not a reidlab key)" in report


def test_a_fastreid_config_reidlab_cannot_run_gets_no_remedy_and_says_why(tmp_path):
    run = stuck_run(tmp_path / "run", overrides={"MODEL.META_ARCHITECTURE": "MGN"})
    result = diagnose(run, out_configs=tmp_path / "c", workdir=tmp_path)
    assert not result.remedies and result.skipped
    assert all("cannot be run by reidlab" in s.reason and "META_ARCHITECTURE" in s.reason for s in result.skipped)
    assert result.findings[0].evidence["cause"] == "fastreid_zero_grad"  # the diagnosis itself still stands


def test_the_fastreid_defaults_table_lists_only_keys_reidlab_cannot_run_freely():
    """A key reidlab now runs at any value is kept as written; an entry for it would be dead and misleading."""
    from reidlab.config.fastreid_keys import FASTREID_DEFAULTS
    from reidlab.research.runs.fastreid_config import _reidlab_keys

    freely_run = [key for key in FASTREID_DEFAULTS if key in _reidlab_keys() and not _reidlab_keys()[key][1]]
    assert freely_run == []
