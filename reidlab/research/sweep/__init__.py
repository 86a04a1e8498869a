"""`reidlab sweep`: train several configs, keep going past failures, and pick the best.

`plan` finds the configs and reconciles sweep.json with the run folders; `command` drives the runs
sequentially or by successive halving (`halving` holds the rung rules);
`runs` trains one run further from what its folder shows; `state` is sweep.json.
"""

from reidlab.research.sweep.command import HALVING, SEQUENTIAL, STRATEGIES, SweepError, SweepResult, sweep, sweep_main
from reidlab.research.sweep.state import SWEEP_FILE, SweepRun, SweepState

__all__ = ["HALVING", "SEQUENTIAL", "STRATEGIES", "SWEEP_FILE", "SweepError", "SweepResult", "SweepRun", "SweepState", "sweep", "sweep_main"]
