"""Downloads COCO 2014 and derives the Visual Wake Words dataset from it (TF-Slim's converter, same output).

Visual Wake Words is a two-class dataset (does the image contain the foreground class, by default a person, or
not) for tiny models. Steps, as in TF-Slim:

1. Download and unpack ``train2014.zip``, ``val2014.zip`` and ``annotations_trainval2014.zip`` into
   ``<dataset_dir>/coco_dataset``.
2. Write ``labels.txt`` (``0:background``, ``1:<foreground class>``).
3. Filter the COCO annotations: an image is labelled 1 if it has at least one object of the foreground class whose
   area is more than ``small_object_area_threshold`` of the image area; those objects' boxes are kept. The result
   goes to ``instances_visualwakewords_{train,val}2014.json``.
4. Write ``train.record-%05d-of-00100`` and ``val.record-%05d-of-00010`` (image ``i`` to shard ``i % num_shards``).

Beyond TF-Slim: an unknown ``foreground_class_of_interest`` is an error listing COCO's category names (TF-Slim
silently used category 1, person), and a second run with all shards present exits early.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from typing import Any

from slim.datasets import dataset_utils
from slim.datasets.images import inspect_image

__all__ = [
    "run",
    "download_coco_dataset",
    "create_labels_file",
    "create_visual_wakeword_annotations",
    "create_tf_record_for_visualwakewords_dataset",
    "filter_annotations",
    "create_tf_example",
]

logger = logging.getLogger(__name__)

COCO_TRAIN_URL = "http://images.cocodataset.org/zips/train2014.zip"
COCO_VALIDATION_URL = "http://images.cocodataset.org/zips/val2014.zip"
COCO_ANNOTATIONS_URL = "http://images.cocodataset.org/annotations/annotations_trainval2014.zip"
COCO_DIRNAME = "coco_dataset"
TRAIN_SHARDS = 100
VAL_SHARDS = 10


def download_coco_dataset(
    dataset_dir: str,
    coco_train_url: str = COCO_TRAIN_URL,
    coco_validation_url: str = COCO_VALIDATION_URL,
    coco_annotations_url: str = COCO_ANNOTATIONS_URL,
) -> list[str]:
    """Downloads and unpacks the three COCO 2014 zips into ``dataset_dir``; returns the zip paths."""
    return [
        dataset_utils.download_and_uncompress_zipfile(url, dataset_dir)
        for url in (coco_train_url, coco_validation_url, coco_annotations_url)
    ]


def create_labels_file(foreground_class_of_interest: str, visualwakewords_labels_file: str) -> None:
    """Writes ``0:background`` and ``1:<foreground class>`` to ``visualwakewords_labels_file``."""
    dataset_utils.write_label_file(
        {0: "background", 1: foreground_class_of_interest},
        os.path.dirname(visualwakewords_labels_file) or ".",
        os.path.basename(visualwakewords_labels_file),
    )


def filter_annotations(
    annotations: Mapping[str, Any],
    image: Mapping[str, Any],
    small_object_area_threshold: float,
    foreground_class_of_interest_id: int,
) -> dict[str, Any]:
    """Keeps the foreground objects larger than the threshold; label 1 if any remain.

    Args:
      annotations: ``{'objects': [COCO annotations of the image]}`` (each with 'category_id', 'area',
        'bbox' = [x, y, width, height] in pixels).
      image: the COCO image entry ('height', 'width', ...).
      small_object_area_threshold: the fraction of the image area an object must exceed.
      foreground_class_of_interest_id: the COCO category id of the foreground class.

    Returns:
      ``{'objects': [{'area', 'bbox'}], 'label': 0 or 1}``.
    """
    objects = []
    image_area = image["height"] * image["width"]
    for annotation in annotations.get("objects", []):
        normalized_object_area = annotation["area"] / image_area
        if int(annotation["category_id"]) == foreground_class_of_interest_id and (
            normalized_object_area > small_object_area_threshold
        ):
            objects.append({"area": annotation["area"], "bbox": annotation["bbox"]})
    return {"objects": objects, "label": 1 if objects else 0}


def create_visual_wakeword_annotations(
    annotations_file: str,
    visualwakewords_annotations_file: str,
    small_object_area_threshold: float,
    foreground_class_of_interest: str,
) -> dict[str, int]:
    """Filters a COCO ``instances_*.json`` into the Visual Wake Words annotations file.

    Returns:
      ``{'images': n, 'positives': m}``.

    Raises:
      ValueError: ``foreground_class_of_interest`` is not a COCO category name (the message lists them).
    """
    with open(annotations_file, encoding="utf-8") as fid:
        groundtruth_data = json.load(fid)
    images = groundtruth_data["images"]
    categories = groundtruth_data["categories"]
    category_index = {c["id"]: c for c in categories if c["name"] == foreground_class_of_interest}
    if not category_index:
        names = ", ".join(sorted(c["name"] for c in categories))
        raise ValueError(
            f"--foreground_class_of_interest={foreground_class_of_interest!r} is not a category of "
            f"{annotations_file}. Categories: {names}."
        )
    foreground_id = next(iter(category_index))
    logger.info("Building annotations index...")
    annotations_index: dict[int, dict[str, list]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for annotation in groundtruth_data["annotations"]:
        annotations_index[annotation["image_id"]]["objects"].append(annotation)
    logger.info("%d images are missing annotations.", len(images) - len(annotations_index))
    filtered = {
        image["id"]: filter_annotations(
            annotations_index.get(image["id"], {}), image, small_object_area_threshold, foreground_id
        )
        for image in images
    }
    with open(visualwakewords_annotations_file, "w", encoding="utf-8") as fp:
        json.dump({"images": images, "annotations": filtered, "categories": category_index}, fp)
    return {"images": len(images), "positives": sum(a["label"] for a in filtered.values())}


def create_tf_example(image: Mapping[str, Any], annotations: Mapping[str, Any], image_dir: str) -> Any:
    """The Example of one image: JPEG bytes, size, ids, label, and the kept boxes as relative [ymin, xmin, ...]."""
    image_height = image["height"]
    image_width = image["width"]
    filename = image["file_name"]
    full_path = os.path.join(image_dir, filename)
    with open(full_path, "rb") as fid:
        encoded_jpg = fid.read()
    info = inspect_image(encoded_jpg, full_path, verify=False)
    if info.format != "jpeg":
        raise ValueError(f"{full_path} is a {info.format} image, expected JPEG.")
    key = hashlib.sha256(encoded_jpg).hexdigest()
    xmin, xmax, ymin, ymax, area = [], [], [], [], []
    for obj in annotations["objects"]:
        x, y, width, height = obj["bbox"]
        xmin.append(float(x) / image_width)
        xmax.append(float(x + width) / image_width)
        ymin.append(float(y) / image_height)
        ymax.append(float(y + height) / image_height)
        area.append(obj["area"])
    f = dataset_utils
    return f.make_example(
        {
            "image/height": f.int64_feature(image_height),
            "image/width": f.int64_feature(image_width),
            "image/filename": f.bytes_feature(filename),
            "image/source_id": f.bytes_feature(str(image["id"])),
            "image/key/sha256": f.bytes_feature(key),
            "image/encoded": f.bytes_feature(encoded_jpg),
            "image/format": f.bytes_feature(b"jpeg"),
            "image/class/label": f.int64_feature(annotations["label"]),
            "image/object/bbox/xmin": f.float_list_feature(xmin),
            "image/object/bbox/xmax": f.float_list_feature(xmax),
            "image/object/bbox/ymin": f.float_list_feature(ymin),
            "image/object/bbox/ymax": f.float_list_feature(ymax),
            "image/object/area": f.float_list_feature(area),
        }
    )


def create_tf_record_for_visualwakewords_dataset(
    annotations_file: str, image_dir: str, output_path: str, num_shards: int
) -> int:
    """Writes the images of a Visual Wake Words annotations file to ``<output_path>-%05d-of-%05d`` (round robin)."""
    with open(annotations_file, encoding="utf-8") as fid:
        groundtruth_data = json.load(fid)
    images = groundtruth_data["images"]
    annotations_index = {int(k): v for k, v in groundtruth_data["annotations"].items()}
    with contextlib.ExitStack() as stack:
        output_tfrecords = dataset_utils.open_sharded_output_tfrecords(stack, output_path, num_shards)
        for idx, image in enumerate(images):
            if idx % 100 == 0:
                logger.info("On image %d of %d", idx, len(images))
            example = create_tf_example(image, annotations_index[image["id"]], image_dir)
            output_tfrecords[idx % num_shards].write(example.SerializeToString())
    return len(images)


def _dataset_exists(dataset_dir: str, train_shards: int, val_shards: int) -> bool:
    paths = dataset_utils.sharded_filenames(os.path.join(dataset_dir, "train.record"), train_shards)
    paths += dataset_utils.sharded_filenames(os.path.join(dataset_dir, "val.record"), val_shards)
    return all(os.path.exists(p) for p in paths)


def run(
    dataset_dir: str,
    small_object_area_threshold: float = 0.005,
    foreground_class_of_interest: str = "person",
    coco_train_url: str = COCO_TRAIN_URL,
    coco_validation_url: str = COCO_VALIDATION_URL,
    coco_annotations_url: str = COCO_ANNOTATIONS_URL,
    coco_dirname: str = COCO_DIRNAME,
    train_shards: int = TRAIN_SHARDS,
    val_shards: int = VAL_SHARDS,
    cleanup: bool = True,
) -> bool:
    """Runs the download and conversion operation.

    Args:
      dataset_dir: the folder the records, labels.txt and the filtered annotations are written to.
      small_object_area_threshold: objects at most this fraction of the image area do not count.
      foreground_class_of_interest: the COCO category that makes label 1.
      coco_train_url, coco_validation_url, coco_annotations_url: where the COCO 2014 zips are downloaded from.
      coco_dirname: the sub-folder of ``dataset_dir`` the COCO data is unpacked to.
      train_shards, val_shards: shards per split.
      cleanup: delete the unpacked COCO folder at the end (the zips are deleted as soon as they are unpacked).

    Returns:
      True if the dataset was written, False if its files already existed.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if _dataset_exists(dataset_dir, train_shards, val_shards):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False
    coco_dir = os.path.join(dataset_dir, coco_dirname)
    os.makedirs(coco_dir, exist_ok=True)
    for path in download_coco_dataset(coco_dir, coco_train_url, coco_validation_url, coco_annotations_url):
        os.remove(path)

    splits = {
        "train": ("train2014", train_shards),
        "val": ("val2014", val_shards),
    }
    logger.info("Creating a labels file...")
    create_labels_file(foreground_class_of_interest, os.path.join(dataset_dir, dataset_utils.LABELS_FILENAME))
    for split, (coco_split, num_shards) in splits.items():
        annotations = os.path.join(dataset_dir, f"instances_visualwakewords_{coco_split}.json")
        logger.info("Creating %s VisualWakeWords annotations...", split)
        counts = create_visual_wakeword_annotations(
            os.path.join(coco_dir, "annotations", f"instances_{coco_split}.json"),
            annotations,
            small_object_area_threshold,
            foreground_class_of_interest,
        )
        logger.info(
            "%s: %d images, %d with a %s.", split, counts["images"], counts["positives"], foreground_class_of_interest
        )
        logger.info("Creating %s TFRecords for VisualWakeWords dataset...", split)
        create_tf_record_for_visualwakewords_dataset(
            annotations, os.path.join(coco_dir, coco_split), os.path.join(dataset_dir, f"{split}.record"), num_shards
        )
    if cleanup:
        shutil.rmtree(coco_dir, ignore_errors=True)
    print("\nFinished converting the Visual WakeWords dataset!")
    return True
