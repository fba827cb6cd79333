"""Provides data for the Visual WakeWords Dataset with images+labels (TF-Slim's ``datasets/visualwakewords.py``).

Visual WakeWords derives from COCO to design tiny models classifying two classes, such as person / not-person;
boxes of objects smaller than ``small_object_area_threshold`` of the image are filtered out. See
``slim/datasets/download_and_convert_visualwakewords.py``, which builds the annotations and the TFRecords.
"""

from __future__ import annotations

from typing import Any

from slim.data import tfexample_decoder
from slim.data.parsing import FixedLenFeature
from slim.datasets import dataset_utils
from slim.datasets.decoders import BBOX_KEYS, bbox_features
from slim.datasets.registry import register_dataset

__all__ = ["get_split", "SPLITS_TO_SIZES", "NUM_CLASSES", "FILE_PATTERN"]

FILE_PATTERN = "%s.record-*"

SPLITS_TO_SIZES = {"train": 82783, "val": 40504}

NUM_CLASSES = 2

_ITEMS_TO_DESCRIPTIONS = {
    "image": "A color image of varying height and width.",
    "label": "The label id of the image, an integer in {0, 1}",
    "object/bbox": "A list of bounding boxes.",
}


def _decoder() -> tfexample_decoder.TFExampleDecoder:
    keys_to_features = {
        "image/encoded": FixedLenFeature((), "string", default_value=b""),
        "image/format": FixedLenFeature((), "string", default_value=b"jpeg"),
        "image/class/label": FixedLenFeature([], "int64", default_value=-1),
        **bbox_features(),
    }
    items_to_handlers = {
        "image": tfexample_decoder.Image("image/encoded", "image/format"),
        "label": tfexample_decoder.Tensor("image/class/label"),
        "object/bbox": tfexample_decoder.BoundingBox(BBOX_KEYS, "image/object/bbox/"),
    }
    return tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)


@register_dataset("visualwakewords")
def get_split(split_name: str, dataset_dir: str, file_pattern: str | None = None, reader: Any = None) -> Any:
    """Gets a dataset tuple with instructions for reading Visual WakeWords.

    Args:
      split_name: 'train' or 'val'.
      dataset_dir: The base directory of the dataset sources.
      file_pattern: The file pattern to use when matching the dataset sources, with a '%s' for the split name.
      reader: The record reader; None for TFRecords.

    Returns:
      A `Dataset`.

    Raises:
      ValueError: if `split_name` is not a valid train/val split (the message lists the splits).
    """
    return dataset_utils.make_dataset(
        "visualwakewords",
        split_name,
        dataset_dir,
        file_pattern,
        reader,
        default_file_pattern=FILE_PATTERN,
        splits_to_sizes=SPLITS_TO_SIZES,
        decoder=_decoder(),
        items_to_descriptions=_ITEMS_TO_DESCRIPTIONS,
        num_classes=NUM_CLASSES,
    )
