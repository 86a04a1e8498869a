"""compare's report shows where the winner fails: visualize's breakdowns when they belong to its best
model, else the plots its per-query results alone give, and says which."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from PIL import Image

from reidlab.research.breakdowns import PLOT_CAPTIONS, per_query_numbers
from reidlab.research.compare.winner_breakdowns import winner_breakdowns
from reidlab.research.runs import read_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared run-folder fixtures
from run_fixtures import run_quality, write_reidlab_run  # noqa: E402

PER_QUERY_PLOTS = ("per_camera.png", "ap_distribution.png", "cmc.png")


def _visualized(run: Path, mAP_shift: float = 0.0) -> None:
    summary = read_run(run, run.name)
    numbers = {**per_query_numbers(summary.per_query), "metric": "cosine", "per_camera_pair": {"0->1": {"queries": 3, "mAP": 0.5, "rank1": 0.6}},
               "distances": {"edges": [0.0, 1.0, 2.0], "true_matches": [3, 1], "impostors": [1, 5], "overlap": 0.4}}
    numbers["mAP"] += mAP_shift
    (run / "visualize").mkdir()
    (run / "visualize" / "breakdowns.json").write_text(json.dumps(numbers))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, format="PNG")
    (run / "visualize" / "worst_queries.png").write_bytes(buffer.getvalue())


def test_without_visualize_the_per_query_plots_are_shown_with_the_command_for_the_rest(tmp_path):
    run = write_reidlab_run(tmp_path, "a", run_quality(0.0, 1))
    shown = winner_breakdowns(read_run(run, "a"))
    assert list(shown.plots) == [PLOT_CAPTIONS[name] for name in PER_QUERY_PLOTS]
    assert all(png.startswith(b"\x89PNG") for png in shown.plots.values())
    assert f"reidlab visualize {run.as_posix()}" in shown.source


def test_visualize_s_breakdowns_of_the_best_model_are_shown_whole(tmp_path):
    run = write_reidlab_run(tmp_path, "a", run_quality(0.0, 1))
    _visualized(run)
    shown = winner_breakdowns(read_run(run, "a"))
    assert len(shown.plots) == 6 and PLOT_CAPTIONS["camera_pairs.png"] in shown.plots and PLOT_CAPTIONS["distances.png"] in shown.plots
    assert any("worst queries" in caption for caption in shown.plots) and "reidlab visualize" in shown.source


def test_breakdowns_of_another_model_are_not_used_and_that_is_said(tmp_path):
    run = write_reidlab_run(tmp_path, "a", run_quality(0.0, 1))
    _visualized(run, mAP_shift=-0.05)  # visualize ran before the run went on to a better epoch
    shown = winner_breakdowns(read_run(run, "a"))
    assert list(shown.plots) == [PLOT_CAPTIONS[name] for name in PER_QUERY_PLOTS]
    assert "is not used" in shown.source and "not the best epoch's" in shown.source


def test_a_winner_without_per_query_results_shows_nothing(tmp_path):
    run = write_reidlab_run(tmp_path, "a", None)
    assert winner_breakdowns(read_run(run, "a")).plots == {}
