"""Contains utilities for downloading and converting datasets (TF-Slim's ``datasets/dataset_utils.py``).

Feature helpers (re-exported from :mod:`slim.data.example`) and ``image_to_tfexample`` build ``tf.train.Example``
protos without TensorFlow; label files are ``<int>:<name>`` lines; downloads resume and verify checksums
(:mod:`slim.datasets.download`); archives are extracted refusing members that escape the target
(:mod:`slim.datasets.archive`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from typing import Any

from slim.data.example import (
    bytes_feature,
    bytes_list_feature,
    float_feature,
    float_list_feature,
    int64_feature,
    make_example,
)
from slim.data.tfrecord import TFRecordWriter
from slim.datasets.archive import UnsafeArchiveError, extract_tar, extract_zip
from slim.datasets.download import ChecksumError, DownloadError, download_url

__all__ = [
    "LABELS_FILENAME",
    "int64_feature",
    "bytes_feature",
    "bytes_list_feature",
    "float_feature",
    "float_list_feature",
    "make_example",
    "image_to_tfexample",
    "download_url",
    "download_and_uncompress_tarball",
    "download_and_uncompress_zipfile",
    "write_label_file",
    "has_labels",
    "read_label_file",
    "open_sharded_output_tfrecords",
    "sharded_filenames",
    "check_split_name",
    "labels_to_names_if_present",
    "make_dataset",
    "ChecksumError",
    "DownloadError",
    "UnsafeArchiveError",
]

logger = logging.getLogger(__name__)

LABELS_FILENAME = "labels.txt"


def image_to_tfexample(image_data: bytes, image_format: bytes | str, height: int, width: int, class_id: int) -> Any:
    """The Example every classification converter writes: encoded image, format, label, height and width."""
    return make_example(
        {
            "image/encoded": bytes_feature(image_data),
            "image/format": bytes_feature(image_format),
            "image/class/label": int64_feature(class_id),
            "image/height": int64_feature(height),
            "image/width": int64_feature(width),
        }
    )


def download_and_uncompress_tarball(
    tarball_url: str, dataset_dir: str, sha256: str | None = None, md5: str | None = None
) -> str:
    """Downloads the tarball at ``tarball_url`` into ``dataset_dir`` and extracts it there (safely).

    Returns:
      The path of the downloaded archive (the converters delete it when they are done).
    """
    path = download_url(tarball_url, dataset_dir, sha256=sha256, md5=md5)
    extract_tar(path, dataset_dir)
    return path


def download_and_uncompress_zipfile(
    zip_url: str, dataset_dir: str, sha256: str | None = None, md5: str | None = None
) -> str:
    """Downloads the zip file at ``zip_url`` into ``dataset_dir`` and extracts it there (safely); returns its path."""
    path = download_url(zip_url, dataset_dir, sha256=sha256, md5=md5)
    extract_zip(path, dataset_dir)
    return path


def write_label_file(
    labels_to_class_names: Mapping[int, str], dataset_dir: str, filename: str = LABELS_FILENAME
) -> None:
    """Writes ``<label>:<class name>`` lines (UTF-8) to ``dataset_dir/filename``."""
    for label, name in labels_to_class_names.items():
        if "\n" in str(name):
            raise ValueError(f"Class name {name!r} of label {label} contains a newline; labels.txt cannot hold it.")
    path = os.path.join(dataset_dir, filename)
    with open(path, "w", encoding="utf-8") as f:
        for label, name in labels_to_class_names.items():
            f.write(f"{int(label)}:{name}\n")


def has_labels(dataset_dir: str, filename: str = LABELS_FILENAME) -> bool:
    """Whether ``dataset_dir`` holds a labels file."""
    return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir: str, filename: str = LABELS_FILENAME) -> dict[int, str]:
    """Reads ``<label>:<class name>`` lines into ``{label: class name}`` (a name may itself contain ':').

    Raises:
      ValueError: a non-empty line without ``<int>:`` (the message names the file and line).
    """
    path = os.path.join(dataset_dir, filename)
    labels_to_class_names: dict[int, str] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            label, sep, name = line.partition(":")
            try:
                if not sep:
                    raise ValueError
                labels_to_class_names[int(label)] = name
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}: expected '<integer label>:<class name>', got {line!r}."
                ) from None
    return labels_to_class_names


def sharded_filenames(base_path: str, num_shards: int) -> list[str]:
    """``<base_path>-00000-of-0000N`` names, as ``open_sharded_output_tfrecords`` writes them."""
    return [f"{base_path}-{index:05d}-of-{num_shards:05d}" for index in range(num_shards)]


def open_sharded_output_tfrecords(
    exit_stack: contextlib.ExitStack, base_path: str, num_shards: int
) -> list[TFRecordWriter]:
    """Opens ``num_shards`` TFRecord writers named ``<base_path>-%05d-of-%05d``, closed by ``exit_stack``."""
    return [exit_stack.enter_context(TFRecordWriter(path)) for path in sharded_filenames(base_path, num_shards)]


def check_split_name(split_name: str, splits_to_sizes: Mapping[str, int], dataset_name: str) -> None:
    """TF-Slim's "split name %s was not recognized." ValueError, plus the splits the dataset does have.

    This also names the way out of TF-Slim's ``eval_image_classifier --dataset_split_name=test`` default, which
    flowers and imagenet do not have.
    """
    if split_name not in splits_to_sizes:
        raise ValueError(
            f"split name {split_name} was not recognized. Dataset {dataset_name!r} has the splits "
            f"{', '.join(repr(s) for s in splits_to_sizes)} (pass one with --dataset_split_name)."
        )


def labels_to_names_if_present(dataset_dir: str, filename: str = LABELS_FILENAME) -> dict[int, str] | None:
    """``read_label_file(dataset_dir)`` when the labels file exists, else None (as TF-Slim's get_split does)."""
    return read_label_file(dataset_dir, filename) if has_labels(dataset_dir, filename) else None


def make_dataset(
    dataset_name: str,
    split_name: str,
    dataset_dir: str,
    file_pattern: str | None,
    reader: Any,
    *,
    default_file_pattern: str,
    splits_to_sizes: Mapping[str, int],
    decoder: Any,
    items_to_descriptions: Mapping[str, str],
    num_classes: int,
    labels_to_names: Mapping[int, str] | None = None,
) -> Any:
    """The ``slim.data.dataset.Dataset`` every ``get_split`` returns.

    ``data_sources`` is ``<dataset_dir>/<file_pattern % split_name>`` (a glob pattern; the data provider says so if
    it matches nothing); ``labels_to_names`` is read from ``labels.txt`` when not given and present.

    Raises:
      ValueError: ``split_name`` is not one of ``splits_to_sizes`` (the message lists them).
    """
    from slim.data.dataset import Dataset

    check_split_name(split_name, splits_to_sizes, dataset_name)
    pattern = file_pattern or default_file_pattern
    if "%s" not in pattern:
        raise ValueError(
            f"file_pattern {pattern!r} for dataset {dataset_name!r} must contain '%s', where the split name goes."
        )
    if labels_to_names is None:
        labels_to_names = labels_to_names_if_present(dataset_dir)
    return Dataset(
        data_sources=os.path.join(dataset_dir, pattern % split_name),
        reader=reader,
        decoder=decoder,
        num_samples=splits_to_sizes[split_name],
        items_to_descriptions=dict(items_to_descriptions),
        num_classes=num_classes,
        labels_to_names=dict(labels_to_names) if labels_to_names is not None else None,
    )
