"""Provides data for the Cifar10 dataset (TF-Slim's ``datasets/cifar10.py``).

The dataset scripts used to create the dataset can be found at
``slim/datasets/download_and_convert_cifar10.py``.
"""

from __future__ import annotations

from typing import Any

from slim.datasets import dataset_utils
from slim.datasets.decoders import classification_decoder
from slim.datasets.registry import register_dataset

__all__ = ["get_split", "SPLITS_TO_SIZES", "NUM_CLASSES", "FILE_PATTERN"]

FILE_PATTERN = "cifar10_%s.tfrecord"

SPLITS_TO_SIZES = {"train": 50000, "test": 10000}

NUM_CLASSES = 10

_ITEMS_TO_DESCRIPTIONS = {
    "image": "A [32 x 32 x 3] color image.",
    "label": "A single integer between 0 and 9",
}


@register_dataset("cifar10")
def get_split(split_name: str, dataset_dir: str, file_pattern: str | None = None, reader: Any = None) -> Any:
    """Gets a dataset tuple with instructions for reading cifar10.

    Args:
      split_name: 'train' or 'test'.
      dataset_dir: The base directory of the dataset sources.
      file_pattern: The file pattern to use when matching the dataset sources, with a '%s' for the split name.
      reader: The record reader; None for TFRecords.

    Returns:
      A `Dataset`.

    Raises:
      ValueError: if `split_name` is not a valid train/test split (the message lists the splits).
    """
    return dataset_utils.make_dataset(
        "cifar10",
        split_name,
        dataset_dir,
        file_pattern,
        reader,
        default_file_pattern=FILE_PATTERN,
        splits_to_sizes=SPLITS_TO_SIZES,
        decoder=classification_decoder(default_format="png", image_shape=[32, 32, 3]),
        items_to_descriptions=_ITEMS_TO_DESCRIPTIONS,
        num_classes=NUM_CLASSES,
    )
