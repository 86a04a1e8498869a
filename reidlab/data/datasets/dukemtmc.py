"""DukeMTMC-reID (Ristani et al. 2016; Zheng et al. 2017).

Looked for under DATASETS.ROOT as DukeMTMC-reID/ (fast-reid), dukemtmcreid/DukeMTMC-reID/
(torchreid) or dukemtmc-reid/DukeMTMC-reID/, each holding bounding_box_train/, query/,
bounding_box_test/ with names like 0001_c2_f0046182.jpg: pid 0001, camera 2 (stored as camid 1).
"""

from __future__ import annotations

from pathlib import Path

from reidlab.data.datasets.bounding_box import read_bounding_box_dataset
from reidlab.data.datasets.registry import register_dataset
from reidlab.data.records import ReidDataset

DUKE_FOLDER = "DukeMTMC-reID"
CANDIDATES = (DUKE_FOLDER, f"dukemtmcreid/{DUKE_FOLDER}", f"dukemtmc-reid/{DUKE_FOLDER}")
NAME_PATTERN = "PPPP_cC_<rest>.jpg, e.g. 0001_c2_f0046182.jpg (pid, then _c and the 1-based camera)"


@register_dataset("DukeMTMC")
def read_dukemtmc(root: Path) -> ReidDataset:
    """DukeMTMC-reID records from under DATASETS.ROOT."""
    return read_bounding_box_dataset(Path(root), "DukeMTMC", CANDIDATES, NAME_PATTERN)
