"""Reading run folders, whichever tool wrote them: reidlab's (model_info.json, training_history.json)
and fast-reid's (metrics.json, config.yaml, log.txt).

`find_run_folders` expands what the user typed; `read_run` gives compare's `RunSummary`;
`read_run_evidence` gives diagnose's `RunEvidence` (history, settings, data-set size). Readers never
raise for a damaged folder: what could not be read becomes a line in `problems`.
"""

from reidlab.config.tree import flatten_config, nested, read_yaml_mapping, same_value
from reidlab.research.runs.evidence import RunEvidence, RunReadError, read_run_evidence
from reidlab.research.runs.fastreid_config import ReidlabCopy, reidlab_copy
from reidlab.research.runs.fastreid_log import FASTREID_LOG_FILE, parse_version, read_fastreid_log
from reidlab.research.runs.fastreid_run import is_fastreid_run, read_fastreid_run
from reidlab.research.runs.folders import common_parent, find_run_folders, is_run_folder, read_run, run_labels
from reidlab.research.runs.reidlab_run import read_reidlab_run
from reidlab.research.runs.summary import (
    DAMAGED,
    FAILED,
    FAILURE_REASONS,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    SOURCE_EVAL,
    SOURCE_FASTREID,
    SOURCE_REIDLAB,
    UNKNOWN,
    BestResult,
    RunSummary,
)

__all__ = [
    "DAMAGED",
    "FAILED",
    "FAILURE_REASONS",
    "FASTREID_LOG_FILE",
    "FINISHED",
    "INTERRUPTED",
    "RUNNING",
    "SOURCE_EVAL",
    "SOURCE_FASTREID",
    "SOURCE_REIDLAB",
    "UNKNOWN",
    "BestResult",
    "ReidlabCopy",
    "RunEvidence",
    "RunReadError",
    "RunSummary",
    "common_parent",
    "find_run_folders",
    "flatten_config",
    "is_fastreid_run",
    "is_run_folder",
    "nested",
    "parse_version",
    "read_fastreid_log",
    "read_fastreid_run",
    "read_reidlab_run",
    "read_run",
    "read_run_evidence",
    "read_yaml_mapping",
    "reidlab_copy",
    "run_labels",
    "same_value",
]
