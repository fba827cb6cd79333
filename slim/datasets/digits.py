"""Provides data for the ``digits`` dataset: scikit-learn's handwritten digits, upscaled to MNIST's 28x28.

scikit-learn ships 1,797 real 8x8 scans of handwritten digits (the UCI "Optical Recognition of Handwritten Digits"
test set) inside its wheel, so this dataset exists on any machine without a network. It is the project's offline demo
data (``python -m slim``); ``download_and_convert_digits.py`` writes it in MNIST's TFRecord format, so everything that
reads MNIST (lenet, ``lenet`` preprocessing) reads it unchanged.
"""

from __future__ import annotations

from typing import Any

from slim.datasets import dataset_utils
from slim.datasets.decoders import classification_decoder
from slim.datasets.registry import register_dataset

__all__ = ["get_split", "SPLITS_TO_SIZES", "NUM_CLASSES", "FILE_PATTERN"]

FILE_PATTERN = "digits_%s.tfrecord"

# The converter's fixed, stratified split: 20 % of every class (rounded down) is held out for 'test'. The converter
# checks that it wrote exactly these counts.
SPLITS_TO_SIZES = {"train": 1442, "test": 355}

NUM_CLASSES = 10

_ITEMS_TO_DESCRIPTIONS = {
    "image": "A [28 x 28 x 1] grayscale image (an 8x8 scan upscaled to MNIST's layout).",
    "label": "A single integer between 0 and 9",
}


@register_dataset("digits")
def get_split(split_name: str, dataset_dir: str, file_pattern: str | None = None, reader: Any = None) -> Any:
    """Gets a dataset tuple with instructions for reading the digits dataset.

    Args:
      split_name: 'train' or 'test'.
      dataset_dir: The directory the converter wrote the TFRecords to.
      file_pattern: The file pattern to use when matching the dataset sources, with a '%s' for the split name.
      reader: The record reader; None for TFRecords.

    Returns:
      A `Dataset`.

    Raises:
      ValueError: if `split_name` is not a valid train/test split (the message lists the splits).
    """
    return dataset_utils.make_dataset(
        "digits",
        split_name,
        dataset_dir,
        file_pattern,
        reader,
        default_file_pattern=FILE_PATTERN,
        splits_to_sizes=SPLITS_TO_SIZES,
        decoder=classification_decoder(
            default_format="png", image_shape=[28, 28, 1], channels=1, label_shape=[], label_feature_shape=[1]
        ),
        items_to_descriptions=_ITEMS_TO_DESCRIPTIONS,
        num_classes=NUM_CLASSES,
    )
