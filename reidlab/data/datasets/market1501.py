"""Market-1501 (Zheng et al. 2015).

Looked for, in this order, under DATASETS.ROOT:
  Market-1501-v15.09.15/          (fast-reid's layout, and what `reidlab data synth` writes)
  market1501/Market-1501-v15.09.15/  (torchreid's layout)
  market1501/
  .                               (DATASETS.ROOT itself holds the split folders)
each holding bounding_box_train/, query/, bounding_box_test/ with names like
0002_c1s1_000451_03.jpg: pid 0002, camera 1 (stored 0-based as camid 0).
pid -1 (junk detections) is dropped everywhere; pid 0000 (distractors) stays in the gallery.
"""

from __future__ import annotations

from pathlib import Path

from reidlab.data.datasets.bounding_box import read_bounding_box_dataset
from reidlab.data.datasets.registry import register_dataset
from reidlab.data.records import ReidDataset

MARKET_FOLDER = "Market-1501-v15.09.15"
CANDIDATES = (MARKET_FOLDER, f"market1501/{MARKET_FOLDER}", "market1501", ".")
NAME_PATTERN = "PPPP_cC<rest>.jpg, e.g. 0002_c1s1_000451_03.jpg (pid or -1, then _c and the 1-based camera)"


@register_dataset("Market1501")
def read_market1501(root: Path) -> ReidDataset:
    """Market-1501 records from under DATASETS.ROOT."""
    return read_bounding_box_dataset(Path(root), "Market1501", CANDIDATES, NAME_PATTERN)
