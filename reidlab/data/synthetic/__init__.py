"""A synthetic pedestrian data set in the Market-1501 layout (numpy + PIL only)."""

from reidlab.data.synthetic.writer import SyntheticDataset, synth_main, write_synthetic_dataset

__all__ = ["SyntheticDataset", "synth_main", "write_synthetic_dataset"]
