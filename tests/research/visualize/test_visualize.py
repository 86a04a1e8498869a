"""`reidlab visualize` on a trained run: frame colours agree with the ground truth, the breakdowns recompute
from per-query data, the mAP is evaluation's, and bad input is one line."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reidlab.cli.main import main
from reidlab.engine.train import train
from reidlab.errors import UserError
from reidlab.evaluation.rank_pictures import DROPPED, FRAME, TRUE_MATCH, WRONG
from reidlab.research.visualize import VisualizeError, camera_summary, visualize

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from conftest import TINY_CONFIG, tiny_override_list  # noqa: E402


@pytest.fixture(scope="module")
def drawn(tmp_path_factory, tiny_data_root):
    out = tmp_path_factory.mktemp("visualize") / "run"
    overrides = tiny_override_list(tiny_data_root, out, {"TEST.IMS_PER_BATCH": 128})  # the demo config's evaluation batch, as before
    run = train(TINY_CONFIG, overrides=overrides).run_dir
    return run, visualize(run, "worst", top=8)


def test_frame_colours_agree_with_the_ground_truth(drawn):
    run, result = drawn
    test = result.ranking.test_set
    seen = set()
    for query in result.queries:
        picture = np.asarray(Image.open(result.folder / "grids" / f"query_{query}.png").convert("RGB"))
        for tile in result.tiles[query]:
            position = test.num_query + tile.gallery_index
            same_id, same_cam = test.pids[position] == test.pids[query], test.camids[position] == test.camids[query]
            expected = WRONG if not same_id else (DROPPED if same_cam else TRUE_MATCH)
            pixel = tuple(int(v) for v in picture[tile.top + FRAME // 2, tile.left + FRAME // 2])  # inside the frame band
            assert pixel == expected, (query, tile)
            seen.add(expected)
    assert {TRUE_MATCH, WRONG} <= seen  # both kinds were drawn and checked


def test_the_worst_come_first_and_the_map_is_evaluations(drawn):
    run, result = drawn
    best = json.loads((run / "model_info.json").read_text(encoding="utf-8"))["best"]
    assert result.numbers["mAP"] == pytest.approx(best["mAP"], abs=1e-6)
    pq = result.ranking.per_query
    aps = [pq.ap[np.flatnonzero(pq.query_index == q)[0]] for q in result.queries]
    assert aps == sorted(aps) and (result.folder / "worst_queries.png").is_file()


def test_camera_breakdown_recomputes_from_per_query_data(drawn):
    run, result = drawn
    pq = result.ranking.per_query
    numbers = json.loads((result.folder / "breakdowns.json").read_text(encoding="utf-8"))
    for camera, row in numbers["per_query_camera"].items():
        chosen = pq.valid & (pq.camid == int(camera))
        assert row["queries"] == chosen.sum()
        assert row["mAP"] == pytest.approx(pq.ap[chosen].mean()) and row["rank1"] == pytest.approx((pq.first_match_rank[chosen] == 1).mean())
    assert camera_summary(pq) == numbers["per_query_camera"]
    assert len(numbers["cmc"]) == 50 and 0 <= numbers["distances"]["overlap"] <= 1
    assert sum(numbers["ap_histogram"]["counts"]) == pq.valid.sum()
    for name in ("per_camera.png", "camera_pairs.png", "ap_distribution.png", "cmc.png", "distances.png", "report.html"):
        assert (result.folder / name).stat().st_size > 0
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_bad_input_is_one_line(drawn, tmp_path, capsys):
    run, _ = drawn
    assert main(["visualize", str(run), "--top", "100000"]) == 2
    assert "gallery of Market1501 has only" in capsys.readouterr().err
    assert main(["visualize", str(tmp_path)]) == 2
    assert "no evaluated model to visualize" in capsys.readouterr().err
    with pytest.raises(VisualizeError, match="no query has identity 99999"):
        visualize(run, "99999", top=3, out=tmp_path / "v")
    assert main(["visualize", str(run), "--out", str(tmp_path / "v"), "--top", "3"]) == 0  # the data where the run left it
    moved = tmp_path / "moved_away"
    with pytest.raises(UserError, match="moved_away"):  # the run's images are no longer where its config says
        visualize(run, "worst", top=3, out=tmp_path / "v2", overrides=["DATASETS.ROOT", str(moved)])


def test_an_eval_folder_is_visualized_with_the_checkpoint_it_evaluated(drawn, tmp_path):
    from reidlab.research.evaluate import evaluate_checkpoint

    run, from_run = drawn
    evaluated = evaluate_checkpoint(run, out=tmp_path / "ev", say=lambda line: None)
    result = visualize(evaluated.folder, "best", top=4)
    assert result.folder == evaluated.folder / "visualize"
    assert result.numbers["mAP"] == pytest.approx(evaluated.metrics["mAP"], abs=1e-6) == pytest.approx(from_run.numbers["mAP"], abs=1e-6)


def test_with_re_ranking_on_the_rank_lists_are_the_re_ranked_ones(drawn, tmp_path):
    from reidlab.research.evaluate import evaluate_checkpoint

    run, plain = drawn
    rerank = ["TEST.RERANK.ENABLED", "True"]
    evaluated = evaluate_checkpoint(run, out=tmp_path / "ev", overrides=rerank, say=lambda line: None)
    result = visualize(run, "worst", top=4, out=tmp_path / "v", overrides=rerank)
    assert result.numbers["metric"].endswith("re-ranked")
    assert result.numbers["mAP"] == pytest.approx(evaluated.metrics["mAP"], abs=1e-6)
    assert result.numbers["mAP"] != pytest.approx(plain.numbers["mAP"], abs=1e-4)  # re-ranking did change the ranking
