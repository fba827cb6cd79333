r"""ImageNet's bounding-box XML annotations → the CSV ``build_imagenet_data`` reads (TF-Slim's process_bounding_boxes).

    python -m slim.datasets.process_bounding_boxes /data/bbox_train_dir [imagenet_lsvrc_2015_synsets.txt] \
        > imagenet_2012_bounding_boxes.csv
    python -m slim.datasets.process_bounding_boxes /data/bbox_train_dir --output imagenet_2012_bounding_boxes.csv

The directory is ``ILSVRC2012_bbox_train_v2.tar.gz`` extracted (``n01440764/n01440764_10040.xml`` ...); XML files
directly inside it (the validation annotations' layout) are read too. Each kept box becomes a line
``<image>.JPEG,<xmin>,<ymin>,<xmax>,<ymax>`` with coordinates relative to the image size, clipped to [0, 1] and printed
with four decimals. As in TF-Slim, the image name comes from the XML file's name (the ``<filename>`` element is
sometimes wrong in the data), boxes of synsets outside the optional synsets file are skipped, degenerate boxes
(``xmin >= xmax`` or ``ymin >= ymax`` after scaling) are skipped, and a summary goes to stderr.

Differences from TF-Slim, on purpose: a file that is not valid XML or lacks a positive image size is an error naming
the file (TF-Slim stopped with an assertion or a division by zero), and ``--output`` writes the CSV atomically.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["BoundingBox", "process_xml_annotation", "find_xml_files", "process_bounding_boxes", "main"]


@dataclass(frozen=True)
class BoundingBox:
    """One annotated object: its synset label and its box, relative to the image size."""

    label: str
    xmin_scaled: float
    ymin_scaled: float
    xmax_scaled: float
    ymax_scaled: float

    def csv_line(self, image_filename: str) -> str:
        return (
            f"{image_filename}.JPEG,{self.xmin_scaled:.4f},{self.ymin_scaled:.4f},"
            f"{self.xmax_scaled:.4f},{self.ymax_scaled:.4f}"
        )


def _int_of(element: ElementTree.Element, tag: str, path: str) -> int:
    node = element.find(tag)
    if node is None or node.text is None:
        raise ValueError(f"{path}: <{element.tag}> has no <{tag}>.")
    try:
        return int(float(node.text.strip()))
    except ValueError as error:
        raise ValueError(f"{path}: <{tag}> is not a number: {node.text!r}.") from error


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def process_xml_annotation(xml_file: str) -> list[BoundingBox]:
    """The boxes of one PASCAL-VOC-style annotation file, scaled by the image's ``<size>``.

    Raises:
      ValueError: the file is not XML, or lacks ``<size>`` with a positive width and height, or a box coordinate.
    """
    try:
        root = ElementTree.parse(xml_file).getroot()
    except ElementTree.ParseError as error:
        raise ValueError(f"{xml_file} is not a valid XML annotation: {error}") from error
    size = root.find("size")
    if size is None:
        raise ValueError(f"{xml_file}: the annotation has no <size> element.")
    width, height = _int_of(size, "width", xml_file), _int_of(size, "height", xml_file)
    if width <= 0 or height <= 0:
        raise ValueError(f"{xml_file}: image size {width}x{height} must be positive to scale the boxes.")
    boxes = []
    for obj in root.iter("object"):
        name = obj.find("name")
        box = obj.find("bndbox")
        if box is None:
            raise ValueError(f"{xml_file}: an <object> has no <bndbox>.")
        boxes.append(
            BoundingBox(
                label=(name.text or "").strip() if name is not None else "",
                xmin_scaled=_clip(_int_of(box, "xmin", xml_file) / width),
                ymin_scaled=_clip(_int_of(box, "ymin", xml_file) / height),
                xmax_scaled=_clip(_int_of(box, "xmax", xml_file) / width),
                ymax_scaled=_clip(_int_of(box, "ymax", xml_file) / height),
            )
        )
    return boxes


def find_xml_files(directory: str) -> list[str]:
    """``<directory>/*/*.xml`` (training layout) and ``<directory>/*.xml`` (validation layout), sorted."""
    if not os.path.isdir(directory):
        raise ValueError(f"{directory} is not a directory of bounding-box XML files.")
    files = glob.glob(os.path.join(directory, "*", "*.xml")) + glob.glob(os.path.join(directory, "*.xml"))
    if not files:
        raise ValueError(f"No XML files found in {directory} or its sub-folders.")
    return sorted(files)


def process_bounding_boxes(
    directory: str, synsets_file: str | None = None, stats: dict[str, int] | None = None
) -> Iterable[str]:
    """Yields the CSV lines for every kept box of every XML file under ``directory``.

    Args:
      directory: the extracted bounding-box archive.
      synsets_file: optional; boxes whose label is not one of its synsets (one per line) are skipped.
      stats: optional dict that receives the counts TF-Slim printed (files and boxes saved and skipped).
    """
    labels = None
    if synsets_file:
        with open(synsets_file, encoding="utf-8") as handle:
            labels = {line.strip() for line in handle if line.strip()}
    counts = dict.fromkeys(("xml_files", "saved_files", "skipped_files", "saved_boxes", "skipped_boxes"), 0)
    for xml_file in find_xml_files(directory):
        counts["xml_files"] += 1
        image_filename = os.path.splitext(os.path.basename(xml_file))[0]
        found_box = False
        for box in process_xml_annotation(xml_file):
            if labels is not None and box.label not in labels:
                counts["skipped_boxes"] += 1
                continue
            if box.xmin_scaled >= box.xmax_scaled or box.ymin_scaled >= box.ymax_scaled:
                counts["skipped_boxes"] += 1
                continue
            counts["saved_boxes"] += 1
            found_box = True
            yield box.csv_line(image_filename)
        counts["saved_files" if found_box else "skipped_files"] += 1
    if stats is not None:
        stats.update(counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m slim.datasets.process_bounding_boxes", description=__doc__.splitlines()[0]
    )
    parser.add_argument("directory", help="the extracted ILSVRC2012_bbox_train_v2 (or validation) annotations")
    parser.add_argument("synsets_file", nargs="?", default=None, help="keep only boxes of these synsets")
    parser.add_argument("--output", default=None, help="write the CSV here (atomically) instead of to stdout")
    args = parser.parse_args(argv)
    stats: dict[str, int] = {}
    lines = process_bounding_boxes(args.directory, args.synsets_file, stats)
    if args.output:
        partial = args.output + ".partial"
        with open(partial, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
        os.replace(partial, args.output)
    else:
        for line in lines:
            print(line)
    print(
        f"Finished processing {stats['xml_files']} XML files. Saved {stats['saved_boxes']} bounding boxes from "
        f"{stats['saved_files']} files; skipped {stats['skipped_boxes']} boxes and {stats['skipped_files']} files "
        "without a kept box.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
