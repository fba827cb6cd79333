"""Downloads and converts Flowers data to TFRecords of TF-Example protos (TF-Slim's converter, same output).

Downloads ``flower_photos.tgz``, writes ``flowers_<split>_%05d-of-00005.tfrecord`` for ``train`` (3320 photos) and
``validation`` (350 photos) plus ``labels.txt`` (``0:daisy`` ... ``4:tulips``), and deletes the download.

Reproducibility fix: TF-Slim listed the photos in ``os.listdir`` order, which differs between filesystems, before
its seeded shuffle, so the same seed gave different splits on different machines. Here the list is sorted first;
the split is then the same everywhere (and equals TF-Slim's wherever ``os.listdir`` happened to return sorted names).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import shutil
from collections.abc import Sequence

from slim.data.tfrecord import TFRecordWriter
from slim.datasets import dataset_utils
from slim.datasets.images import inspect_image

__all__ = ["run", "get_filenames_and_classes", "convert_dataset", "dataset_filename"]

logger = logging.getLogger(__name__)

# The URL where the Flowers data can be downloaded.
_DATA_URL = "http://download.tensorflow.org/example_images/flower_photos.tgz"

# The number of images in the validation set.
_NUM_VALIDATION = 350

# Seed for repeatability.
_RANDOM_SEED = 0

# The number of shards per dataset split.
_NUM_SHARDS = 5

_SPLITS = ("train", "validation")


def dataset_filename(dataset_dir: str, split_name: str, shard_id: int, num_shards: int = _NUM_SHARDS) -> str:
    """``<dataset_dir>/flowers_<split>_<shard:05d>-of-<num_shards:05d>.tfrecord``."""
    return os.path.join(dataset_dir, f"flowers_{split_name}_{shard_id:05d}-of-{num_shards:05d}.tfrecord")


def get_filenames_and_classes(dataset_dir: str) -> tuple[list[str], list[str]]:
    """The photo paths under ``dataset_dir/flower_photos/<class>/`` (sorted) and the sorted class names."""
    flower_root = os.path.join(dataset_dir, "flower_photos")
    if not os.path.isdir(flower_root):
        raise FileNotFoundError(f"{flower_root} does not exist: the flowers archive did not unpack as expected.")
    class_names = sorted(d for d in os.listdir(flower_root) if os.path.isdir(os.path.join(flower_root, d)))
    photo_filenames = []
    for class_name in class_names:
        directory = os.path.join(flower_root, class_name)
        for filename in sorted(os.listdir(directory)):
            path = os.path.join(directory, filename)
            if os.path.isfile(path):
                photo_filenames.append(path)
    return photo_filenames, class_names


def convert_dataset(
    split_name: str,
    filenames: Sequence[str],
    class_names_to_ids: dict[str, int],
    dataset_dir: str,
    num_shards: int = _NUM_SHARDS,
) -> None:
    """Writes ``filenames`` into ``num_shards`` shards of ``ceil(n / num_shards)`` images each, as TF-Slim did."""
    if split_name not in _SPLITS:
        raise ValueError(f"split_name must be one of {_SPLITS}, got {split_name!r}.")
    num_per_shard = int(math.ceil(len(filenames) / float(num_shards)))
    for shard_id in range(num_shards):
        output_filename = dataset_filename(dataset_dir, split_name, shard_id, num_shards)
        with TFRecordWriter(output_filename) as writer:
            start = shard_id * num_per_shard
            end = min((shard_id + 1) * num_per_shard, len(filenames))
            for index in range(start, end):
                with open(filenames[index], "rb") as f:
                    image_data = f.read()
                info = inspect_image(image_data, filenames[index])
                class_name = os.path.basename(os.path.dirname(filenames[index]))
                example = dataset_utils.image_to_tfexample(
                    image_data, b"jpg", info.height, info.width, class_names_to_ids[class_name]
                )
                writer.write(example.SerializeToString())
        logger.info(">> Converted shard %d of %d of the %s split", shard_id + 1, num_shards, split_name)


def _dataset_exists(dataset_dir: str, num_shards: int = _NUM_SHARDS) -> bool:
    return all(
        os.path.exists(dataset_filename(dataset_dir, split, shard, num_shards))
        for split in _SPLITS
        for shard in range(num_shards)
    )


def _clean_up_temporary_files(dataset_dir: str, archive_path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(archive_path)
    shutil.rmtree(os.path.join(dataset_dir, "flower_photos"), ignore_errors=True)


def run(
    dataset_dir: str,
    data_url: str = _DATA_URL,
    num_validation: int = _NUM_VALIDATION,
    random_seed: int = _RANDOM_SEED,
    num_shards: int = _NUM_SHARDS,
) -> bool:
    """Runs the download and conversion operation.

    Args:
      dataset_dir: the folder the TFRecords and labels.txt are written to (created if needed).
      data_url: where ``flower_photos.tgz`` is downloaded from (any URL ``urllib`` opens, ``file://`` included).
      num_validation: photos in the validation split (the rest are train).
      random_seed: the seed of the shuffle that splits train from validation.
      num_shards: shards per split.

    Returns:
      True if the dataset was written, False if its files already existed (nothing is redone then).
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if _dataset_exists(dataset_dir, num_shards):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False
    archive_path = dataset_utils.download_and_uncompress_tarball(data_url, dataset_dir)
    photo_filenames, class_names = get_filenames_and_classes(dataset_dir)
    if len(photo_filenames) <= num_validation:
        raise ValueError(
            f"{data_url} holds {len(photo_filenames)} photos, not more than num_validation={num_validation}; "
            "nothing would be left for training."
        )
    class_names_to_ids = dict(zip(class_names, range(len(class_names))))

    # Divide into train and test (sorted above, so that the seeded shuffle gives the same split everywhere).
    random.Random(random_seed).shuffle(photo_filenames)  # = random.seed(seed); random.shuffle(...), no global state
    training_filenames = photo_filenames[num_validation:]
    validation_filenames = photo_filenames[:num_validation]

    convert_dataset("train", training_filenames, class_names_to_ids, dataset_dir, num_shards)
    convert_dataset("validation", validation_filenames, class_names_to_ids, dataset_dir, num_shards)

    labels_to_class_names = dict(zip(range(len(class_names)), class_names))
    dataset_utils.write_label_file(labels_to_class_names, dataset_dir)

    _clean_up_temporary_files(dataset_dir, archive_path)
    print("\nFinished converting the Flowers dataset!")
    return True
