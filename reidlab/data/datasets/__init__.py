"""Data set readers: each returns train / query / gallery records (path, pid, camid).

Importing this package registers Market1501, DukeMTMC, MSMT17 and Folder.
"""

from reidlab.data.datasets import dukemtmc, folder, market1501, msmt17  # noqa: F401  (registration)
from reidlab.data.datasets.dukemtmc import read_dukemtmc
from reidlab.data.datasets.folder import read_folder
from reidlab.data.datasets.market1501 import read_market1501
from reidlab.data.datasets.msmt17 import read_msmt17
from reidlab.data.datasets.registry import dataset_names, read_dataset, register_dataset

__all__ = [
    "dataset_names",
    "read_dataset",
    "read_dukemtmc",
    "read_folder",
    "read_market1501",
    "read_msmt17",
    "register_dataset",
]
