"""A factory-pattern class which returns classification image/label pairs (TF-Slim's ``dataset_factory``).

    dataset = dataset_factory.get_dataset("flowers", "train", "/tmp/flowers")

Every dataset module registers itself (see :mod:`slim.datasets.registry`); importing this module imports them all.
"""

from __future__ import annotations

from typing import Any

# Imported for their registration side effect.
from slim.datasets import cifar10, digits, flowers, image_folder, imagenet, mnist, visualwakewords  # noqa: F401
from slim.datasets.registry import dataset_names, get_split_fn, registry

__all__ = ["get_dataset", "dataset_names", "datasets_map"]

# TF-Slim's name for the table (name -> get_split here, name -> module there).
datasets_map = registry


def get_dataset(
    name: str, split_name: str, dataset_dir: str, file_pattern: str | None = None, reader: Any = None
) -> Any:
    """Given a dataset name and a split_name returns a Dataset.

    Args:
      name: the dataset name: one of :func:`dataset_names` ('cifar10', 'flowers', 'image_folder', 'imagenet',
        'mnist', 'visualwakewords').
      split_name: a split of that dataset ('train', 'validation', 'test', 'val'; each dataset names its own).
      dataset_dir: the folder holding the dataset's files (TFRecords, labels.txt).
      file_pattern: a pattern with one ``%s`` for the split, relative to ``dataset_dir``; None for the dataset's own.
      reader: the record reader; None for TFRecords.

    Returns:
      A :class:`slim.data.dataset.Dataset` with ``num_classes`` and ``labels_to_names`` attributes.

    Raises:
      ValueError: an unknown dataset name or split name (the message lists the known ones).
    """
    return get_split_fn(name)(split_name, dataset_dir, file_pattern, reader)
