"""Converts your own folder of images (one sub-folder per class) to TFRecords that ``image_folder`` reads.

    my_photos/
      cats/   a.jpg b.png ...
      dogs/   c.jpeg nested/d.jpg ...

    python -m slim.scripts.download_and_convert_data --dataset_name=image_folder \
        --image_folder=my_photos --dataset_dir=/tmp/my_photos_tfrecords --validation_fraction=0.1

The class of an image is the name of the top-level sub-folder it is in (images in nested folders count for that
class); classes are numbered 0.. in sorted name order. The images are listed in sorted order, shuffled with a fixed
seed, and the first ``num_validation`` (or ``validation_fraction`` of them) become the ``validation`` split, the rest
``train``. Each split is written to ``image_folder_<split>_%05d-of-%05d.tfrecord`` shards. JPEG and PNG files are
stored as they are, with their real format (by content, whatever their extension); CMYK JPEGs become RGB JPEGs and
other formats Pillow reads (GIF, BMP, WebP, TIFF, ...) become PNGs, so that any decoder reads them. Files that are
not images are skipped and reported by name. ``labels.txt`` and ``image_folder.json`` (split sizes, class names,
file pattern) are written last, so ``get_dataset('image_folder', split, dataset_dir)`` needs no code edits.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import logging
import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from slim.data.tfrecord import TFRecordWriter
from slim.datasets import dataset_utils
from slim.datasets.images import ImageInfo, NotAnImageError, encode_jpeg, encode_png, inspect_image

__all__ = ["run", "METADATA_FILENAME", "FILE_PATTERN", "read_metadata", "ImageFile"]

logger = logging.getLogger(__name__)

METADATA_FILENAME = "image_folder.json"
FILE_PATTERN = "image_folder_%s_*.tfrecord"
_FORMAT_VERSION = 1
_KEPT_FORMATS = ("jpeg", "png")


@dataclass(frozen=True)
class ImageFile:
    """One image of the folder: its path, class id and what :func:`inspect_image` found."""

    path: str
    class_id: int
    info: ImageInfo


def _shard_filename(dataset_dir: str, split_name: str, shard_id: int, num_shards: int) -> str:
    return os.path.join(dataset_dir, f"image_folder_{split_name}_{shard_id:05d}-of-{num_shards:05d}.tfrecord")


def _list_folder(image_folder: str) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """Class names, (path, class id) for every file under a class folder (sorted), and stray top-level files."""
    if not os.path.isdir(image_folder):
        raise FileNotFoundError(f"--image_folder {image_folder} is not a folder.")
    entries = sorted(os.listdir(image_folder))
    class_names = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(image_folder, e))]
    stray = [os.path.join(image_folder, e) for e in entries if os.path.isfile(os.path.join(image_folder, e))]
    if not class_names:
        raise ValueError(
            f"{image_folder} has no sub-folders. Put the images of each class in a sub-folder named after the class "
            f"({image_folder}/<class name>/<image>)."
        )
    files = []
    for class_id, class_name in enumerate(class_names):
        for root, dirs, names in os.walk(os.path.join(image_folder, class_name), followlinks=True):
            dirs.sort()
            files.extend((os.path.join(root, name), class_id) for name in sorted(names))
    return class_names, files, stray


def _inspect(path: str) -> ImageInfo | str:
    try:
        with open(path, "rb") as f:
            return inspect_image(f.read(), path)
    except NotAnImageError as error:
        return error.reason
    except OSError as error:
        return f"cannot be read ({error})"


def _encoded(image: ImageFile) -> tuple[bytes, bytes]:
    with open(image.path, "rb") as f:
        data = f.read()
    if image.info.format == "jpeg" and image.info.mode == "CMYK":
        return encode_jpeg(data), b"jpeg"
    if image.info.format in _KEPT_FORMATS:
        return data, image.info.format.encode()
    # Other formats: the first frame, as PNG.
    with Image.open(io.BytesIO(data)) as pil:
        has_alpha = "A" in pil.getbands() or "transparency" in pil.info
        pil = pil.convert("RGBA" if has_alpha else "RGB")
        return encode_png(np.asarray(pil)), b"png"


def _write_split(dataset_dir: str, split_name: str, images: Sequence[ImageFile], num_shards: int) -> int:
    num_shards = max(1, min(num_shards, len(images)))
    per_shard = int(math.ceil(len(images) / float(num_shards)))
    for shard_id in range(num_shards):
        with TFRecordWriter(_shard_filename(dataset_dir, split_name, shard_id, num_shards)) as writer:
            for image in images[shard_id * per_shard : (shard_id + 1) * per_shard]:
                data, image_format = _encoded(image)
                example = dataset_utils.image_to_tfexample(
                    data, image_format, image.info.height, image.info.width, image.class_id
                )
                writer.write(example.SerializeToString())
        logger.info(">> Converted shard %d of %d of the %s split", shard_id + 1, num_shards, split_name)
    return num_shards


def read_metadata(dataset_dir: str) -> dict:
    """The ``image_folder.json`` written by :func:`run`.

    Raises:
      FileNotFoundError: ``dataset_dir`` was not made by this converter (the message says how to make it).
    """
    path = os.path.join(dataset_dir, METADATA_FILENAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist: {dataset_dir} was not converted from a folder of images. Run "
            "`python -m slim.scripts.download_and_convert_data --dataset_name=image_folder "
            f"--image_folder=<folder of class sub-folders> --dataset_dir={dataset_dir}` first."
        )
    with open(path, encoding="utf-8") as f:
        metadata = json.load(f)
    if metadata.get("format_version") != _FORMAT_VERSION:
        raise ValueError(f"{path} has format_version {metadata.get('format_version')}, expected {_FORMAT_VERSION}.")
    return metadata


def _dataset_exists(dataset_dir: str) -> bool:
    try:
        metadata = read_metadata(dataset_dir)
    except (FileNotFoundError, ValueError):
        return False
    return all(os.path.exists(os.path.join(dataset_dir, name)) for name in metadata["files"])


def run(
    image_folder: str,
    dataset_dir: str,
    validation_fraction: float = 0.1,
    num_validation: int | None = None,
    num_shards: int = 5,
    random_seed: int = 0,
    num_workers: int | None = None,
) -> bool:
    """Converts ``image_folder`` into TFRecords in ``dataset_dir``.

    Args:
      image_folder: a folder with one sub-folder of images per class.
      dataset_dir: the output folder (created if needed).
      validation_fraction: the share of the images that go to the validation split (rounded to whole images).
      num_validation: an exact number of validation images; overrides ``validation_fraction``. 0 writes only
        the train split.
      num_shards: shards per split (fewer if a split has fewer images).
      random_seed: the seed of the train/validation shuffle.
      num_workers: threads that read and check the images (None: up to 8, by CPU count).

    Returns:
      True if the dataset was written, False if its files already existed.

    Raises:
      ValueError: no class folders, an empty class, or a validation size that leaves no training images.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}.")
    if num_validation is not None and num_validation < 0:
        raise ValueError(f"num_validation must be >= 0, got {num_validation}.")
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}.")
    os.makedirs(dataset_dir, exist_ok=True)
    if _dataset_exists(dataset_dir):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False

    class_names, files, stray = _list_folder(image_folder)
    workers = num_workers or min(8, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_inspect, [path for path, _ in files]))
    images = []
    skipped = {path: "not inside a class sub-folder" for path in stray}
    for (path, class_id), result in zip(files, results):
        if isinstance(result, ImageInfo):
            images.append(ImageFile(path, class_id, result))
        else:
            skipped[path] = result
    if skipped:
        report = "\n  ".join(f"{path}: {reason}" for path, reason in skipped.items())
        logger.warning("Skipped %d files that are not images of a class:\n  %s", len(skipped), report)
    counts = [0] * len(class_names)
    for image in images:
        counts[image.class_id] += 1
    empty = [name for name, count in zip(class_names, counts) if count == 0]
    if empty:
        raise ValueError(
            f"Class folders without any image in {image_folder}: {', '.join(empty)}. Add images or remove them."
        )

    if num_validation is None:
        num_validation = int(round(validation_fraction * len(images)))
    if num_validation >= len(images):
        raise ValueError(
            f"{image_folder} holds {len(images)} images; a validation split of {num_validation} leaves none for "
            "training. Lower --validation_fraction / --num_validation."
        )
    random.Random(random_seed).shuffle(images)  # after the sorted listing: the same split on every machine
    splits = {"train": images[num_validation:], "validation": images[:num_validation]}
    splits = {name: split for name, split in splits.items() if split}

    written = []
    for split_name, split in splits.items():
        shards = _write_split(dataset_dir, split_name, split, num_shards)
        written += [os.path.basename(_shard_filename(dataset_dir, split_name, i, shards)) for i in range(shards)]

    dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
    metadata = {
        "format_version": _FORMAT_VERSION,
        "file_pattern": FILE_PATTERN,
        "splits_to_sizes": {name: len(split) for name, split in splits.items()},
        "num_classes": len(class_names),
        "class_names": class_names,
        "images_per_class": dict(zip(class_names, counts)),
        "files": written,
        "source": os.path.abspath(image_folder),
        "random_seed": random_seed,
        "skipped_files": sorted(skipped),
    }
    tmp = os.path.join(dataset_dir, METADATA_FILENAME + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2)
    os.replace(tmp, os.path.join(dataset_dir, METADATA_FILENAME))
    sizes = ", ".join(f"{name} {len(split)}" for name, split in splits.items())
    print(f"\nFinished converting {image_folder}: {len(class_names)} classes, {sizes} images.")
    return True
