"""`reidlab compare` parses its arguments and reports a lack of runs in one line."""

from reidlab.cli.main import build_parser, main


def test_compare_arguments_parse():
    args = build_parser().parse_args(["compare", "logs/market1501/", "logs/other/run_*", "--out", "report"])
    assert args.paths == ["logs/market1501/", "logs/other/run_*"] and args.out == "report"


def test_compare_with_no_runs_is_one_line(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("reidlab compare: error:")
