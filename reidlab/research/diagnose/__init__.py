"""`reidlab diagnose`: say why a run plateaued, with evidence, and write the remedies to test.

The run is read as `RunEvidence` (`reidlab.research.runs`); `detectors/` holds one file per family
of findings (loss curves, progress, schedule, batch, weight health); `remedies/` builds the configs
(the seed's five and targeted ones); `launchers` writes the .sh/.bat that run them; `report`
writes analysis.txt/.json. `update_causes` lists why weights may never change (the doctor uses it too).
"""

from reidlab.research.diagnose.command import ANALYSIS_JSON_FILE, ANALYSIS_TEXT_FILE, DEFAULT_REMEDY_DIR, DiagnoseError, Diagnosis, diagnose, diagnose_main
from reidlab.research.diagnose.detectors import find_findings
from reidlab.research.diagnose.findings import Finding, Severity

__all__ = [
    "ANALYSIS_JSON_FILE",
    "ANALYSIS_TEXT_FILE",
    "DEFAULT_REMEDY_DIR",
    "DiagnoseError",
    "Diagnosis",
    "Finding",
    "Severity",
    "diagnose",
    "diagnose_main",
    "find_findings",
]
