"""`reidlab eval`: argument parsing only; the handler is one lazily imported call into reidlab.research.evaluate."""

from __future__ import annotations

import argparse

from reidlab.cli.common import add_config_file, add_out, add_overrides, overrides

DESCRIPTION = (
    "Evaluate a reidlab run's best_model.pth, a fast-reid run's model_best.pth (else model_final.pth), or a .pth, "
    "on the config's DATASETS.TESTS exactly as training evaluates (TEST.FLIP, TEST.AQE, TEST.RERANK, TEST.METRIC as given). "
    "Prints the mAP/CMC/mINP table and writes metrics.json, per_query.npz and config.yaml into an eval folder that "
    "`reidlab compare` ranks beside runs. KEY VALUE overrides after the options change the test keys, e.g. "
    "TEST.RERANK.ENABLED True DATASETS.ROOT /data."
)


def add_eval_command(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser("eval", help="evaluate a reidlab or fast-reid checkpoint on the config's test sets, without training", description=DESCRIPTION)
    evaluate.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="run directory (reidlab or fast-reid) or a .pth checkpoint")
    add_config_file(evaluate, required=False, help="config to evaluate with (default: the reidlab checkpoint's own, or the fast-reid run's config.yaml)")
    add_out(evaluate, "eval folder (default: logs/eval/<run>-<test sets>[-flip][-aqe][-rerank], numbered when taken)")
    add_overrides(evaluate)
    evaluate.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    from reidlab.research.evaluate import eval_main

    # The KEY VALUE pairs follow RUN_OR_CHECKPOINT, and so may the options: `reidlab eval RUN --out DIR KEY VALUE`.
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("--config-file")
    late.add_argument("--out")
    options, pairs = late.parse_known_args(overrides(args.opts))
    return eval_main(args.run, options.config_file or args.config_file, overrides(pairs), options.out or args.out)
