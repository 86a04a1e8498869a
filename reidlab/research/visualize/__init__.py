"""`reidlab visualize`: which queries fail and why.

`ranking` ranks the test set again with the run's best model (block by block, evaluation's own
per-query results); evaluation's `rank_pictures` draws rank lists framed by ground truth; `breakdowns` has the numbers
and plots (per camera, per camera pair, AP spread, CMC, distances); `report` the run's report.html.
"""

from reidlab.research.breakdowns import camera_summary
from reidlab.research.visualize.command import VisualizeResult, visualize, visualize_main
from reidlab.research.visualize.ranking import VisualizeError

__all__ = ["VisualizeError", "VisualizeResult", "camera_summary", "visualize", "visualize_main"]
