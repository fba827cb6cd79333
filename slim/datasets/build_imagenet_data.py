"""Converts ILSVRC-2012 (ImageNet) to sharded TFRecords, as TF-Slim's ``build_imagenet_data.py`` wrote them.

    python -m slim.datasets.build_imagenet_data \
        --train_directory=/data/ILSVRC2012_img_train.tar --validation_directory=/data/ILSVRC2012_img_val.tar \
        --validation_labels_file=imagenet_2012_validation_synset_labels.txt \
        --output_directory=/data/imagenet-tfrecords --labels_file=imagenet_lsvrc_2015_synsets.txt \
        --imagenet_metadata_file=imagenet_metadata.txt --bounding_box_file=imagenet_2012_bounding_boxes.csv

Inputs (downloading ImageNet needs an account at image-net.org, so this starts from files you already have):

- ``--train_directory``: a folder of synset sub-folders (``n01440764/*.JPEG``) or ``ILSVRC2012_img_train.tar``
  (a tar of per-synset tars), extracted into a temporary folder that is deleted at the end.
- ``--validation_directory``: a folder of synset sub-folders, or a flat folder / ``ILSVRC2012_img_val.tar`` of
  ``ILSVRC2012_val_%08d.JPEG`` files together with ``--validation_labels_file`` (one synset per line, in file
  number order: TF-Slim's ``imagenet_2012_validation_synset_labels.txt``).
- ``--labels_file``: the 1000 challenge synsets; label ``i`` (1..1000) is the synset on line ``i`` (0 is left to
  the background class of the 1001-class checkpoints).
- ``--imagenet_metadata_file``: ``<synset>\\t<human readable name>`` lines; gives ``image/class/text`` and the
  ``labels.txt`` written next to the records (``0:background``, ``1:tench, Tinca tinca``, ...).
- ``--bounding_box_file``: ``<file name>,<xmin>,<ymin>,<xmax>,<ymax>`` lines (relative coordinates), as
  ``python -m slim.datasets.process_bounding_boxes`` (TF-Slim's ``process_bounding_boxes.py``) writes them from
  the ``ILSVRC2012_bbox_train_v2.tar.gz`` XML files; optional.

Outputs ``train-%05d-of-01024`` and ``validation-%05d-of-00128`` (no extension) with the same features as TF-Slim's
records (``image/encoded`` JPEG, ``image/height``, ``image/width``, ``image/colorspace`` 'RGB', ``image/channels`` 3,
``image/format`` 'JPEG', ``image/filename``, ``image/class/label``, ``image/class/synset``, ``image/class/text``,
``image/object/bbox/{xmin,xmax,ymin,ymax}``, ``image/object/bbox/label``). The images are shuffled with
``random.seed(12345)`` and split over ``num_threads`` workers and their shards exactly as TF-Slim did.

Differences from TF-Slim, on purpose: the CMYK JPEGs and PNG-in-disguise files are found by their content (not by a
list of 23 file names), so other copies of ImageNet are fixed too; each synset's files are sorted before the shuffle
(TF-Slim used ``glob`` order, which depends on the filesystem), so the shards are the same on every machine; the
image size is read from the image header instead of a full decode.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import random
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slim.data.tfrecord import TFRecordWriter
from slim.datasets import dataset_utils
from slim.datasets.archive import extract_tar
from slim.datasets.images import encode_jpeg, inspect_image, sniff_format
from slim.scripts.flagspec import Flag, parse_argv, resolve_kwargs

__all__ = [
    "FLAGS",
    "ImageRecord",
    "build_imagenet_data",
    "find_image_files",
    "build_bounding_box_lookup",
    "build_synset_lookup",
    "process_image",
    "convert_to_example",
    "shard_assignment",
    "main",
]

logger = logging.getLogger(__name__)

_SHUFFLE_SEED = 12345
_IMAGE_EXTENSIONS = (".jpeg", ".jpg")
_VAL_NAME = re.compile(r"ILSVRC2012_val_(\d{8})\.JPEG$", re.IGNORECASE)


FLAGS = (
    Flag("train_directory", "/tmp/", "string", "Training data directory (or ILSVRC2012_img_train.tar)"),
    Flag("validation_directory", "/tmp/", "string", "Validation data directory (or ILSVRC2012_img_val.tar)"),
    Flag("output_directory", "/tmp/", "string", "Output data directory"),
    Flag("train_shards", 1024, "integer", "Number of shards in training TFRecord files."),
    Flag("validation_shards", 128, "integer", "Number of shards in validation TFRecord files."),
    Flag("num_threads", 8, "integer", "Number of threads to preprocess the images."),
    Flag(
        "labels_file",
        "imagenet_lsvrc_2015_synsets.txt",
        "string",
        "Labels file: one synset per line (n01440764); line i is label i, 1..1000.",
    ),
    Flag(
        "imagenet_metadata_file",
        "imagenet_metadata.txt",
        "string",
        "ImageNet metadata file: '<synset>\\t<human readable label>' per line.",
    ),
    Flag(
        "bounding_box_file",
        "./imagenet_2012_bounding_boxes.csv",
        "string",
        "Bounding box file: '<file name>,<xmin>,<ymin>,<xmax>,<ymax>' per box (empty: no boxes).",
    ),
    Flag(
        "validation_labels_file",
        "",
        "string",
        "For a flat validation folder or ILSVRC2012_img_val.tar: one synset per line in file-number order "
        "(imagenet_2012_validation_synset_labels.txt).",
    ),
)


@dataclass
class ImageRecord:
    """One image to convert: path, label (1..1000), synset, human-readable text, bounding boxes."""

    filename: str
    label: int
    synset: str
    human: str = ""
    bboxes: list[list[float]] = field(default_factory=list)  # [[xmin, ymin, xmax, ymax], ...]


def _read_lines(path: str, what: str) -> list[str]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The {what} {path} does not exist.")
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def build_synset_lookup(imagenet_metadata_file: str) -> dict[str, str]:
    """``{synset: human readable name}`` from ``<synset>\\t<name>`` lines."""
    synset_to_human = {}
    for number, line in enumerate(_read_lines(imagenet_metadata_file, "ImageNet metadata file"), start=1):
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{imagenet_metadata_file}, line {number}: expected '<synset>\\t<name>', got {line!r}.")
        synset_to_human[parts[0]] = parts[1]
    return synset_to_human


def build_bounding_box_lookup(bounding_box_file: str) -> dict[str, list[list[float]]]:
    """``{image file name: [[xmin, ymin, xmax, ymax], ...]}`` from the CSV of ``process_bounding_boxes``."""
    images_to_bboxes: dict[str, list[list[float]]] = {}
    num_bbox = 0
    for number, line in enumerate(_read_lines(bounding_box_file, "bounding box file"), start=1):
        parts = line.split(",")
        if len(parts) != 5:
            raise ValueError(
                f"{bounding_box_file}, line {number}: expected '<file>,<xmin>,<ymin>,<xmax>,<ymax>', got {line!r}."
            )
        try:
            box = [float(value) for value in parts[1:]]
        except ValueError:
            raise ValueError(
                f"{bounding_box_file}, line {number}: coordinates must be numbers, got {line!r}."
            ) from None
        images_to_bboxes.setdefault(parts[0], []).append(box)
        num_bbox += 1
    logger.info("Loaded %d bounding boxes for %d images.", num_bbox, len(images_to_bboxes))
    return images_to_bboxes


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(_IMAGE_EXTENSIONS)


def _unpack_train_archive(archive: str, scratch: str) -> str:
    """Extracts ILSVRC2012_img_train.tar (per-synset tars inside) into ``scratch/train/<synset>/``."""
    root = os.path.join(scratch, "train")
    for member in extract_tar(archive, root):
        inner = os.path.join(root, member)
        if member.lower().endswith(".tar") and os.path.isfile(inner):
            extract_tar(inner, os.path.join(root, os.path.basename(member)[: -len(".tar")]))
            os.remove(inner)
    return root


def _flat_validation_files(directory: str, validation_labels_file: str) -> dict[str, list[str]]:
    """``{synset: [paths]}`` for ``ILSVRC2012_val_%08d.JPEG`` files labelled by line number."""
    if not validation_labels_file:
        raise ValueError(
            f"{directory} has no synset sub-folders; pass --validation_labels_file (one synset per line, in "
            "file-number order: imagenet_2012_validation_synset_labels.txt) to label its images."
        )
    labels = _read_lines(validation_labels_file, "validation labels file")
    by_synset: dict[str, list[str]] = {}
    for name in sorted(os.listdir(directory)):
        match = _VAL_NAME.search(name)
        if not match:
            if _is_image_name(name):
                raise ValueError(f"{os.path.join(directory, name)} is not named ILSVRC2012_val_<8 digits>.JPEG.")
            continue
        index = int(match.group(1))
        if not 1 <= index <= len(labels):
            raise ValueError(f"{name}: image number {index} has no line in {validation_labels_file}.")
        by_synset.setdefault(labels[index - 1], []).append(os.path.join(directory, name))
    return by_synset


def find_image_files(
    data_dir: str, labels_file: str, validation_labels_file: str = "", seed: int = _SHUFFLE_SEED
) -> list[ImageRecord]:
    """Lists the images of the synsets in ``labels_file`` (label = line number, 1..N) and shuffles them.

    ``data_dir`` holds ``<synset>/*.JPEG`` folders, or (with ``validation_labels_file``) flat validation images.
    """
    challenge_synsets = _read_lines(labels_file, "labels file")
    logger.info("Determining list of input files and labels from %s.", data_dir)
    has_synset_dirs = any(os.path.isdir(os.path.join(data_dir, synset)) for synset in challenge_synsets)
    flat = None if has_synset_dirs else _flat_validation_files(data_dir, validation_labels_file)
    records: list[ImageRecord] = []
    missing = []
    for label_index, synset in enumerate(challenge_synsets, start=1):
        if flat is not None:
            paths = flat.get(synset, [])
        else:
            folder = os.path.join(data_dir, synset)
            names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            paths = [os.path.join(folder, name) for name in names if _is_image_name(name)]
        if not paths:
            missing.append(synset)
        records.extend(ImageRecord(path, label_index, synset) for path in paths)
    if not records:
        raise ValueError(f"No images of the synsets in {labels_file} found in {data_dir}.")
    if missing:
        logger.warning("%d synsets have no images in %s: %s", len(missing), data_dir, ", ".join(missing[:10]))
    # Shuffle the ordering of all image files in order to guarantee random ordering of the images with respect to
    # label in the saved TFRecord files (TF-Slim shuffles an index list with random.seed(12345)).
    shuffled_index = list(range(len(records)))
    random.Random(seed).shuffle(shuffled_index)
    records = [records[i] for i in shuffled_index]
    logger.info("Found %d JPEG files across %d labels inside %s.", len(records), len(challenge_synsets), data_dir)
    return records


def process_image(filename: str) -> tuple[bytes, int, int]:
    """Reads an image: ``(JPEG bytes, height, width)``; PNGs and CMYK JPEGs are re-encoded as RGB JPEG (quality 100).

    Raises:
      ValueError: the file is not a JPEG or PNG image (the message names it).
    """
    with open(filename, "rb") as f:
        image_data = f.read()
    info = inspect_image(image_data, filename, verify=False)
    if info.format == "png":
        logger.info("Converting PNG to JPEG for %s", filename)
        image_data = encode_jpeg(image_data)
    elif info.format == "jpeg" and info.mode == "CMYK":
        logger.info("Converting CMYK to RGB for %s", filename)
        image_data = encode_jpeg(image_data)
    elif info.format != "jpeg":
        raise ValueError(f"{filename} is a {info.format} image; ImageNet images must be JPEG (or PNG).")
    if sniff_format(image_data) != "jpeg":  # pragma: no cover - encode_jpeg always writes JPEG
        raise ValueError(f"{filename}: re-encoding did not produce a JPEG.")
    return image_data, info.height, info.width


def convert_to_example(record: ImageRecord, image_buffer: bytes, height: int, width: int) -> Any:
    """The Example TF-Slim's builder writes for one image."""
    xmin, ymin, xmax, ymax = [], [], [], []
    for box in record.bboxes:
        for coordinates, value in zip((xmin, ymin, xmax, ymax), box):
            coordinates.append(value)
    f = dataset_utils
    return f.make_example(
        {
            "image/height": f.int64_feature(height),
            "image/width": f.int64_feature(width),
            "image/colorspace": f.bytes_feature(b"RGB"),
            "image/channels": f.int64_feature(3),
            "image/class/label": f.int64_feature(record.label),
            "image/class/synset": f.bytes_feature(record.synset),
            "image/class/text": f.bytes_feature(record.human),
            "image/object/bbox/xmin": f.float_list_feature(xmin),
            "image/object/bbox/xmax": f.float_list_feature(xmax),
            "image/object/bbox/ymin": f.float_list_feature(ymin),
            "image/object/bbox/ymax": f.float_list_feature(ymax),
            "image/object/bbox/label": f.int64_feature([record.label] * len(xmin)),
            "image/format": f.bytes_feature(b"JPEG"),
            "image/filename": f.bytes_feature(os.path.basename(record.filename)),
            "image/encoded": f.bytes_feature(image_buffer),
        }
    )


def shard_assignment(num_images: int, num_shards: int, num_threads: int) -> list[tuple[int, int]]:
    """``[(start, end)]`` image ranges of each shard, as TF-Slim's builder computes them.

    The images are cut into ``num_threads`` ranges (``np.linspace``, truncated to integers), and each range into
    ``num_shards / num_threads`` shards the same way; shard ``t * per_thread + s`` is range ``t``'s ``s``-th part.
    """
    if num_shards % num_threads:
        raise ValueError(
            f"Please make the number of threads ({num_threads}) commensurate with the number of shards "
            f"({num_shards}): num_shards % num_threads must be 0."
        )
    spacing = np.linspace(0, num_images, num_threads + 1).astype(int)
    per_thread = num_shards // num_threads
    shards = []
    for thread in range(num_threads):
        bounds = np.linspace(spacing[thread], spacing[thread + 1], per_thread + 1).astype(int)
        shards.extend((int(bounds[s]), int(bounds[s + 1])) for s in range(per_thread))
    return shards


def _output_name(output_directory: str, name: str, shard: int, num_shards: int) -> str:
    return os.path.join(output_directory, f"{name}-{shard:05d}-of-{num_shards:05d}")


def _process_image_files(
    name: str, records: Sequence[ImageRecord], num_shards: int, num_threads: int, output_directory: str
) -> None:
    shards = shard_assignment(len(records), num_shards, num_threads)
    per_thread = num_shards // num_threads

    def run_thread(thread: int) -> int:
        written = 0
        for shard in range(thread * per_thread, (thread + 1) * per_thread):
            start, end = shards[shard]
            with TFRecordWriter(_output_name(output_directory, name, shard, num_shards)) as writer:
                for record in records[start:end]:
                    image_buffer, height, width = process_image(record.filename)
                    writer.write(convert_to_example(record, image_buffer, height, width).SerializeToString())
                    written += 1
            logger.info("[thread %d]: Wrote %d images to shard %d of %s.", thread, end - start, shard, name)
        return written

    with concurrent.futures.ThreadPoolExecutor(max_workers=num_threads) as pool:
        total = sum(pool.map(run_thread, range(num_threads)))
    logger.info("Finished writing all %d images in data set %s.", total, name)


def _prepare_directory(path: str, scratch: str, kind: str) -> str:
    if os.path.isdir(path):
        return path
    if os.path.isfile(path):
        if kind == "train":
            return _unpack_train_archive(path, scratch)
        root = os.path.join(scratch, kind)
        extract_tar(path, root)
        return root
    raise FileNotFoundError(f"--{kind}_directory {path} is neither a folder nor an archive.")


def _dataset_exists(output_directory: str, train_shards: int, validation_shards: int) -> bool:
    names = [("train", s, train_shards) for s in range(train_shards)]
    names += [("validation", s, validation_shards) for s in range(validation_shards)]
    return all(os.path.exists(_output_name(output_directory, n, s, total)) for n, s, total in names)


def _process_dataset(
    name: str,
    directory: str,
    num_shards: int,
    flags: Mapping[str, Any],
    synset_to_human: Mapping[str, str],
    image_to_bboxes: Mapping[str, list[list[float]]],
) -> None:
    records = find_image_files(
        directory, flags["labels_file"], flags["validation_labels_file"] if name == "validation" else ""
    )
    for record in records:
        record.human = synset_to_human.get(record.synset, "")
        record.bboxes = list(image_to_bboxes.get(os.path.basename(record.filename), []))
    with_boxes = sum(1 for record in records if record.bboxes)
    logger.info("Found %d images with bounding boxes out of %d in %s.", with_boxes, len(records), name)
    _process_image_files(name, records, num_shards, flags["num_threads"], flags["output_directory"])


def build_imagenet_data(**kwargs: Any) -> bool:
    """Python entry point taking the flags as keyword arguments; returns False if the files already existed."""
    flags = resolve_kwargs(FLAGS, kwargs, "build_imagenet_data")
    for name in ("train_shards", "validation_shards"):
        if flags[name] % flags["num_threads"]:
            raise ValueError(
                f"Please make the FLAGS.num_threads ({flags['num_threads']}) commensurate with FLAGS.{name} "
                f"({flags[name]})."
            )
    output_directory = flags["output_directory"]
    os.makedirs(output_directory, exist_ok=True)
    if _dataset_exists(output_directory, flags["train_shards"], flags["validation_shards"]):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False
    synsets = _read_lines(flags["labels_file"], "labels file")
    synset_to_human = build_synset_lookup(flags["imagenet_metadata_file"])
    missing = [s for s in synsets if s not in synset_to_human]
    if missing:
        raise ValueError(f"{flags['imagenet_metadata_file']} has no name for synsets {', '.join(missing[:10])}.")
    image_to_bboxes = {}
    if flags["bounding_box_file"]:
        if not os.path.isfile(flags["bounding_box_file"]):
            raise FileNotFoundError(
                f"--bounding_box_file {flags['bounding_box_file']} does not exist; pass --bounding_box_file= to "
                "convert without bounding boxes."
            )
        image_to_bboxes = build_bounding_box_lookup(flags["bounding_box_file"])

    scratch = tempfile.mkdtemp(prefix=".imagenet_unpack_", dir=output_directory)
    try:
        validation_dir = _prepare_directory(flags["validation_directory"], scratch, "validation")
        _process_dataset(
            "validation", validation_dir, flags["validation_shards"], flags, synset_to_human, image_to_bboxes
        )
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(os.path.join(scratch, "validation"))
        train_dir = _prepare_directory(flags["train_directory"], scratch, "train")
        _process_dataset("train", train_dir, flags["train_shards"], flags, synset_to_human, image_to_bboxes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    labels_to_names = {0: "background"}
    labels_to_names.update({i: synset_to_human[synset] for i, synset in enumerate(synsets, start=1)})
    dataset_utils.write_label_file(labels_to_names, output_directory)
    return True


DESCRIPTION = "Converts ImageNet data to TFRecords file format with Example protos."


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    build_imagenet_data(**parse_argv(FLAGS, argv, "build_imagenet_data", DESCRIPTION))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
