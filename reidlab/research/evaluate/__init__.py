"""`reidlab eval`: evaluate a reidlab or fast-reid checkpoint on the config's test sets, without training.

`command` loads the network, runs training's own evaluation (flip, AQE, re-ranking as configured)
and writes an eval folder (metrics.json, per_query.npz, config.yaml) that `compare` ranks beside runs.
"""

from reidlab.research.evaluate.command import EvalResult, eval_main, evaluate_checkpoint

__all__ = ["EvalResult", "eval_main", "evaluate_checkpoint"]
