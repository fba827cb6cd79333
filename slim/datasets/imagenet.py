"""Provides data for the ImageNet ILSVRC 2012 Dataset plus some bounding boxes (TF-Slim's ``datasets/imagenet.py``).

The records are those ``slim/datasets/build_imagenet_data.py`` writes (as TF-Slim's builder did). There are 1001
classes: label 0 is a background class the published checkpoints reserve, labels 1..1000 are the synsets in
``imagenet_lsvrc_2015_synsets.txt`` order. Networks trained without the background class (VGG, ResNet v1) are used
with ``labels_offset=1``.

``labels_to_names`` comes from ``<dataset_dir>/labels.txt`` (``0:background``, ``1:tench, Tinca tinca``, ...),
which the builder writes. Unlike TF-Slim, ``get_split`` never downloads anything; to make ``labels.txt`` for a
dataset folder that lacks it, call ``write_label_file(create_readable_names_for_imagenet_labels(), dataset_dir)``.

TF-Slim's decoder reads ``object/label`` from ``image/object/class/label``, which its own builder never writes (the
builder writes ``image/object/bbox/label``), so that item was always empty; here it falls back to
``image/object/bbox/label``.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from slim.data import tfexample_decoder
from slim.data.parsing import FixedLenFeature, VarLenFeature
from slim.datasets import dataset_utils
from slim.datasets.decoders import BBOX_KEYS, bbox_features
from slim.datasets.registry import register_dataset

__all__ = [
    "get_split",
    "create_readable_names_for_imagenet_labels",
    "labels_to_names_from_files",
    "SPLITS_TO_SIZES",
    "NUM_CLASSES",
    "FILE_PATTERN",
]

FILE_PATTERN = "%s-*"

SPLITS_TO_SIZES = {"train": 1281167, "validation": 50000}

NUM_CLASSES = 1001

_ITEMS_TO_DESCRIPTIONS = {
    "image": "A color image of varying height and width.",
    "label": "The label id of the image, integer between 0 and 999",
    "label_text": "The text of the label.",
    "object/bbox": "A list of bounding boxes.",
    "object/label": "A list of labels, one per each object.",
}

# Where TF-Slim's create_readable_names_for_imagenet_labels downloads the synset list and the synset names.
_BASE_URL = "https://raw.githubusercontent.com/tensorflow/models/master/research/slim/datasets/"
_SYNSETS_FILENAME = "imagenet_lsvrc_2015_synsets.txt"
_METADATA_FILENAME = "imagenet_metadata.txt"
_NUM_SYNSETS = 1000


def labels_to_names_from_files(synsets_file: str, metadata_file: str) -> dict[int, str]:
    """``{0: 'background', 1..N: human-readable name}`` from a synsets file and ``<synset>\\t<name>`` metadata."""
    with open(synsets_file, encoding="utf-8") as f:
        synsets = [line.strip() for line in f if line.strip()]
    synset_to_human = {}
    with open(metadata_file, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 2:
                raise ValueError(f"{metadata_file}, line {number}: expected '<synset>\\t<name>', got {line!r}.")
            synset_to_human[parts[0]] = parts[1]
    missing = [s for s in synsets if s not in synset_to_human]
    if missing:
        raise ValueError(f"{metadata_file} has no name for synsets {', '.join(missing[:10])} of {synsets_file}.")
    labels_to_names = {0: "background"}
    labels_to_names.update({i: synset_to_human[s] for i, s in enumerate(synsets, start=1)})
    return labels_to_names


def create_readable_names_for_imagenet_labels(
    base_url: str = _BASE_URL, cache_dir: str | None = None
) -> dict[int, str]:
    """Create a dict mapping label id to human readable string (0: 'background', 1..1000: class names).

    Downloads ``imagenet_lsvrc_2015_synsets.txt`` and ``imagenet_metadata.txt`` from ``base_url`` (TF-Slim's
    models repository) into ``cache_dir`` (a temporary folder if None), as TF-Slim's function of the same name.

    Raises:
      ValueError: the synsets file does not list 1000 synsets.
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = cache_dir or tmp
        os.makedirs(folder, exist_ok=True)
        base = base_url.rstrip("/") + "/"
        synsets = dataset_utils.download_url(base + _SYNSETS_FILENAME, folder, progress=False)
        metadata = dataset_utils.download_url(base + _METADATA_FILENAME, folder, progress=False)
        labels_to_names = labels_to_names_from_files(synsets, metadata)
    if len(labels_to_names) != _NUM_SYNSETS + 1:
        raise ValueError(f"{base_url}{_SYNSETS_FILENAME} lists {len(labels_to_names) - 1} synsets, expected 1000.")
    return labels_to_names


def _decoder() -> tfexample_decoder.TFExampleDecoder:
    keys_to_features = {
        "image/encoded": FixedLenFeature((), "string", default_value=b""),
        "image/format": FixedLenFeature((), "string", default_value=b"jpeg"),
        "image/class/label": FixedLenFeature([], "int64", default_value=-1),
        "image/class/text": FixedLenFeature([], "string", default_value=b""),
        **bbox_features(),
        "image/object/class/label": VarLenFeature("int64"),
        "image/object/bbox/label": VarLenFeature("int64"),
    }
    items_to_handlers = {
        "image": tfexample_decoder.Image("image/encoded", "image/format"),
        "label": tfexample_decoder.Tensor("image/class/label"),
        "label_text": tfexample_decoder.Tensor("image/class/text"),
        "object/bbox": tfexample_decoder.BoundingBox(BBOX_KEYS, "image/object/bbox/"),
        "object/label": tfexample_decoder.BackupHandler(
            tfexample_decoder.Tensor("image/object/class/label"), tfexample_decoder.Tensor("image/object/bbox/label")
        ),
    }
    return tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)


@register_dataset("imagenet")
def get_split(split_name: str, dataset_dir: str, file_pattern: str | None = None, reader: Any = None) -> Any:
    """Gets a dataset tuple with instructions for reading ImageNet.

    Args:
      split_name: 'train' or 'validation'.
      dataset_dir: The base directory of the dataset sources.
      file_pattern: The file pattern to use when matching the dataset sources, with a '%s' for the split name.
      reader: The record reader; None for TFRecords.

    Returns:
      A `Dataset` with 1001 classes; `labels_to_names` from labels.txt if present, else None.

    Raises:
      ValueError: if `split_name` is not a valid train/validation split (the message lists the splits).
    """
    return dataset_utils.make_dataset(
        "imagenet",
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
