"""compare's inputs and outputs: globs and folders of runs, where files go, atomic writes, a self-contained page."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from pathlib import Path

from rich.console import Console

import reidlab.rundir.atomic as atomic
from reidlab.research.compare import StatisticsSettings, compare_runs
from reidlab.research.runs import common_parent, find_run_folders

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared run-folder fixtures
from run_fixtures import run_quality, write_fastreid_run, write_reidlab_run  # noqa: E402

FAST = StatisticsSettings(n_resamples=200, n_paired_resamples=400)
OUTPUTS = ("BEST_MODEL_SELECTION.txt", "BEST_MODEL_SELECTION.json", "map_by_epoch.png", "loss_by_epoch.png",
           "best_map_intervals.png", "report.html")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def quiet_compare(paths, **kwargs):
    return compare_runs([str(p) for p in paths], console=Console(file=io.StringIO(), width=250), settings=FAST, **kwargs)


def make_logs(root: Path) -> Path:
    """logs/market1501/{solution_1, solution_2, baseline}, logs/duke/{duke_run}, logs/notes (not a run)."""
    logs = root / "logs"
    write_reidlab_run(logs / "market1501", "solution_1", run_quality(0.1, 1))
    write_reidlab_run(logs / "market1501", "solution_2", run_quality(0.0, 2))
    write_reidlab_run(logs / "market1501", "baseline", run_quality(-0.1, 3))
    write_reidlab_run(logs / "duke", "duke_run", run_quality(0.0, 4, query_seed=3), test_set="DukeMTMC")
    (logs / "notes").mkdir()
    (logs / "notes" / "readme.txt").write_text("not a run")
    return logs


def names(found) -> list[str]:
    return [p.name for p in found.folders]


def test_folders_of_runs_are_searched_and_runs_not_descended_into(tmp_path):
    logs = make_logs(tmp_path)
    assert names(find_run_folders([logs])) == ["duke_run", "baseline", "solution_1", "solution_2"]
    assert names(find_run_folders([logs / "market1501"])) == ["baseline", "solution_1", "solution_2"]
    assert names(find_run_folders([logs / "market1501" / "solution_2"])) == ["solution_2"]


def test_globs_are_expanded_and_duplicates_dropped(tmp_path):
    logs = make_logs(tmp_path)
    found = find_run_folders([str(logs / "market1501" / "solution_*"), str(logs / "market1501" / "solution_1"), str(logs / "*" / "duke_*")])
    assert names(found) == ["solution_1", "solution_2", "duke_run"]
    missing = find_run_folders([str(logs / "market1501" / "nothing_*"), str(logs / "notes")])
    assert missing.folders == [] and len(missing.unmatched) == 2


def test_a_glob_over_a_folder_with_an_earlier_report_ignores_the_report_files(tmp_path):
    logs = make_logs(tmp_path)
    quiet_compare([logs / "market1501"])
    assert (logs / "market1501" / "report.html").is_file()
    result = quiet_compare([str(logs / "market1501" / "*")])
    assert sorted(r.label for r in result.runs) == ["baseline", "solution_1", "solution_2"]


def test_output_goes_to_the_common_parent_or_to_out(tmp_path):
    logs = make_logs(tmp_path)
    result = quiet_compare([logs / "market1501" / "solution_1", logs / "market1501" / "baseline"])
    assert result.output_dir.resolve() == (logs / "market1501").resolve()
    assert all((logs / "market1501" / name).is_file() for name in OUTPUTS)
    assert common_parent([logs / "market1501" / "solution_1", logs / "duke" / "duke_run"]) == logs.resolve()

    out = tmp_path / "reports" / "today"
    result = quiet_compare([logs / "market1501"], out=out)
    assert result.output_dir == out and all((out / name).is_file() for name in OUTPUTS)
    assert set(result.files) == set(OUTPUTS) | {"per_query_ap_top_two.png"}  # the two leaders share their queries
    facts = json.loads((out / "BEST_MODEL_SELECTION.json").read_text(encoding="utf-8"))
    assert facts["winner"]["run"] == "solution_1" and facts["format"] == "reidlab.best_model_selection"
    assert facts["files"]["report.html"] == (out / "report.html").resolve().as_posix()


def test_runs_in_different_folders_are_labelled_by_their_relative_path(tmp_path):
    logs = make_logs(tmp_path)
    write_reidlab_run(logs / "duke", "solution_1", run_quality(0.0, 5, query_seed=3), test_set="DukeMTMC")
    result = quiet_compare([logs])
    labels = sorted(r.label for r in result.runs)
    assert "market1501/solution_1" in labels and "duke/solution_1" in labels
    text = (logs / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    assert "DIFFERENT QUERY SETS" in text  # Duke and Market queries differ


def test_every_output_is_written_atomically(tmp_path, monkeypatch):
    logs = make_logs(tmp_path)
    renamed: list[Path] = []
    real_replace = atomic.os.replace

    def recording_replace(source, target):
        renamed.append(Path(target))
        return real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", recording_replace)
    result = quiet_compare([logs / "market1501"])
    assert {p.name for p in renamed} == set(OUTPUTS) | {"per_query_ap_top_two.png"}
    assert all(p.parent.resolve() == result.output_dir.resolve() for p in renamed)
    assert not list(result.output_dir.glob(".*.tmp"))


def test_plots_are_pngs_and_the_html_is_self_contained(tmp_path):
    logs = make_logs(tmp_path)
    write_fastreid_run(logs / "market1501", "fastreid_run", [(10, 30.0), (20, 35.0)], max_epoch=20)
    # Folder names are user input: they must come out escaped.
    write_reidlab_run(logs / "market1501", "run_<b>&\"x\"", run_quality(-0.2, 6))
    result = quiet_compare([logs / "market1501"])
    out = result.output_dir
    for name in ("map_by_epoch.png", "loss_by_epoch.png", "best_map_intervals.png", "per_query_ap_top_two.png"):
        assert (out / name).read_bytes().startswith(PNG_MAGIC)

    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # Offline: no scripts, no external resources; the four plots (the leaders' per-query AP too) and the
    # winner's three per-query breakdowns are embedded PNG data URIs.
    assert "<script" not in page.lower() and "<link" not in page.lower()
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert len(sources) == 7 and "Where solution_1 fails" in page and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(base64.b64decode(s.split(",", 1)[1]).startswith(PNG_MAGIC) for s in sources)
    assert "http://" not in page and "https://" not in page
    # Content: the winner, the table with every run, the deploy commands; text escaped.
    assert "Winner: solution_1" in page
    for run in ("solution_1", "solution_2", "baseline", "fastreid_run [fast-reid]"):
        assert f"<td>{run}</td>" in page
    assert "run_&lt;b&gt;&amp;&quot;x&quot;" in page and "run_<b>" not in page
    assert "ReIDModel.from_run" in page and "--format onnx" in page
    assert "Runs are compared only with runs evaluated on the same query set" in page
