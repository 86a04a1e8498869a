"""`reidlab compare`: rank runs by best mAP without crowning noise, and write what to deploy.

`compare_runs` reads the runs (`reidlab.research.runs`), selects the model (`selection`: bootstrap
intervals and paired tests on per-query AP, within one `query_sets` group), and writes BEST_MODEL_SELECTION.txt/.json (`report`),
the plots (`plots`), report.html (`html`) and the terminal table (`console`).
"""

from reidlab.research.compare.command import (
    HTML_REPORT_FILE,
    SELECTION_JSON_FILE,
    SELECTION_TEXT_FILE,
    CompareError,
    ComparisonResult,
    compare_main,
    compare_runs,
)
from reidlab.research.compare.selection import Selection, StatisticsSettings, select_model

__all__ = [
    "HTML_REPORT_FILE",
    "SELECTION_JSON_FILE",
    "SELECTION_TEXT_FILE",
    "CompareError",
    "ComparisonResult",
    "Selection",
    "StatisticsSettings",
    "compare_main",
    "compare_runs",
    "select_model",
]
