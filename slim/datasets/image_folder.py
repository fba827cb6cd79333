"""Provides data for your own folder of images, converted by ``slim/datasets/convert_image_folder.py``.

The converter records the split sizes, class names and file pattern in ``<dataset_dir>/image_folder.json`` (and the
class names in ``labels.txt``), so any folder of class sub-folders becomes a dataset without writing a dataset
module: ``get_dataset('image_folder', 'train', dataset_dir)``.
"""

from __future__ import annotations

from typing import Any

from slim.datasets import dataset_utils
from slim.datasets.convert_image_folder import read_metadata
from slim.datasets.decoders import classification_decoder
from slim.datasets.registry import register_dataset

__all__ = ["get_split"]


@register_dataset("image_folder")
def get_split(split_name: str, dataset_dir: str, file_pattern: str | None = None, reader: Any = None) -> Any:
    """Gets a dataset tuple with instructions for reading a converted image folder.

    Args:
      split_name: 'train' or 'validation' (the splits the converter wrote; see image_folder.json).
      dataset_dir: The folder the converter wrote.
      file_pattern: The file pattern to use when matching the dataset sources, with a '%s' for the split name.
      reader: The record reader; None for TFRecords.

    Returns:
      A `Dataset` with the converter's class count, class names and split sizes.

    Raises:
      FileNotFoundError: ``dataset_dir`` has no image_folder.json (the message says how to make it).
      ValueError: if `split_name` is not one of the converted splits (the message lists them).
    """
    metadata = read_metadata(dataset_dir)
    num_classes = metadata["num_classes"]
    return dataset_utils.make_dataset(
        "image_folder",
        split_name,
        dataset_dir,
        file_pattern,
        reader,
        default_file_pattern=metadata["file_pattern"],
        splits_to_sizes=metadata["splits_to_sizes"],
        decoder=classification_decoder(default_format="jpeg"),
        items_to_descriptions={
            "image": "A color image of varying size.",
            "label": f"A single integer between 0 and {num_classes - 1}",
        },
        num_classes=num_classes,
        labels_to_names=dict(enumerate(metadata["class_names"])),
    )
