"""reidlab.data: data set readers, the synthetic data set, samplers, decoding, augmentation, loaders.

The engine calls build_train_data(cfg) and build_test_data(cfg); the CLI calls synth_main.
Batches carry uint8 RGB images (B, 3, H, W) on the 0-255 scale; the model normalises them.

Bad input: a missing or empty data set folder, or file names that do not parse, fail with one
DatasetError line naming the path and the fix (names: the count, the first bad one and the
expected pattern). A corrupt image is found when it is first decoded (every image is decoded
once when the data is built): it is left out, and one CorruptImagesSkipped warning counts them;
TrainData.skipped_corrupt / TestData.skipped_corrupt keep the count.
"""

from reidlab.data.batches import TestBatch, TrainBatch
from reidlab.data.build import TestData, TrainData, build_one_test_set, build_test_data, build_train_data
from reidlab.data.datasets import dataset_names, read_dataset, register_dataset
from reidlab.data.decoding import CorruptImageError, decode_file, load_image
from reidlab.data.errors import DatasetError
from reidlab.data.image_cache import CorruptImagesSkipped, available_memory_bytes, should_cache
from reidlab.data.records import ImageRecord, ReidDataset, format_summary_table, relabel_train, split_summary
from reidlab.data.sampler import BalancedIdentitySampler, NaiveIdentitySampler, TrainingSampler, build_train_sampler
from reidlab.data.synthetic import SyntheticDataset, synth_main, write_synthetic_dataset
from reidlab.data.transforms import TrainAugmentation, resize_image

__all__ = [
    "BalancedIdentitySampler",
    "CorruptImageError",
    "CorruptImagesSkipped",
    "DatasetError",
    "ImageRecord",
    "NaiveIdentitySampler",
    "ReidDataset",
    "SyntheticDataset",
    "TestBatch",
    "TestData",
    "TrainAugmentation",
    "TrainBatch",
    "TrainData",
    "TrainingSampler",
    "available_memory_bytes",
    "build_one_test_set",
    "build_test_data",
    "build_train_data",
    "build_train_sampler",
    "dataset_names",
    "decode_file",
    "format_summary_table",
    "load_image",
    "read_dataset",
    "register_dataset",
    "relabel_train",
    "resize_image",
    "should_cache",
    "split_summary",
    "synth_main",
    "write_synthetic_dataset",
]
