r"""Downloads and converts a particular dataset (TF-Slim's ``download_and_convert_data.py``).

    python -m slim.scripts.download_and_convert_data --dataset_name=flowers --dataset_dir=/tmp/flowers
    python -m slim.scripts.download_and_convert_data --dataset_name=cifar10 --dataset_dir=/tmp/cifar10
    python -m slim.scripts.download_and_convert_data --dataset_name=mnist --dataset_dir=/tmp/mnist
    python -m slim.scripts.download_and_convert_data --dataset_name=visualwakewords --dataset_dir=/tmp/vww \
        --small_object_area_threshold=0.005 --foreground_class_of_interest=person

scikit-learn's handwritten digits (offline; the demo's data, in MNIST's format):

    python -m slim.scripts.download_and_convert_data --dataset_name=digits --dataset_dir=/tmp/digits

Your own images (one sub-folder per class) become a dataset that ``--dataset_name=image_folder`` reads:

    python -m slim.scripts.download_and_convert_data --dataset_name=image_folder --dataset_dir=/tmp/my_data \
        --image_folder=/path/to/my_photos --validation_fraction=0.1

ImageNet cannot be downloaded without an image-net.org account; convert the archives you have with
``python -m slim.datasets.build_imagenet_data``. From Python: ``download_and_convert_data(dataset_name="flowers",
dataset_dir="/tmp/flowers")``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slim.scripts.flagspec import Flag, parse_argv, resolve_kwargs

__all__ = ["FLAGS", "download_and_convert_data", "main"]

FLAGS = (
    Flag(
        "dataset_name",
        None,
        "string",
        'The name of the dataset to convert, one of "flowers", "cifar10", "mnist", "visualwakewords", "image_folder", '
        '"digits".',
    ),
    Flag("dataset_dir", None, "string", "The directory where the output TFRecords and temporary files are saved."),
    Flag(
        "small_object_area_threshold",
        0.005,
        "float",
        "For --dataset_name=visualwakewords only. Threshold of fraction of image area below which small objects "
        "are filtered",
    ),
    Flag(
        "foreground_class_of_interest",
        "person",
        "string",
        "For --dataset_name=visualwakewords only. Build a binary classifier based on the presence or absence of "
        "this object in the image.",
    ),
    # Beyond TF-Slim: converting a folder of one's own images.
    Flag(
        "image_folder",
        None,
        "string",
        "For --dataset_name=image_folder only. A folder with one sub-folder of images per class; the sub-folder "
        "names are the class names.",
    ),
    Flag(
        "validation_fraction",
        0.1,
        "float",
        "For --dataset_name=image_folder only. The share of the images that go to the validation split.",
    ),
    Flag(
        "num_validation",
        None,
        "integer",
        "For --dataset_name=image_folder only. An exact number of validation images (overrides "
        "--validation_fraction; 0 writes only a train split).",
    ),
    Flag("num_shards", 5, "integer", "For --dataset_name=image_folder only. TFRecord shards per split."),
)

DESCRIPTION = "Downloads and converts a particular dataset to TFRecords of TF-Example protos."

_CONVERTIBLE = ("flowers", "cifar10", "mnist", "visualwakewords", "image_folder", "digits")


def download_and_convert_data(**kwargs: Any) -> bool:
    """Python entry point taking the flags as keyword arguments.

    Returns:
      True if the dataset was written, False if its files already existed.

    Raises:
      ValueError: TF-Slim's messages for a missing ``dataset_name`` / ``dataset_dir`` or an unknown name.
    """
    flags = resolve_kwargs(FLAGS, kwargs, "download_and_convert_data")
    name = flags["dataset_name"]
    if not name:
        raise ValueError("You must supply the dataset name with --dataset_name")
    if not flags["dataset_dir"]:
        raise ValueError("You must supply the dataset directory with --dataset_dir")
    dataset_dir = flags["dataset_dir"]
    if name != "image_folder" and flags["image_folder"]:
        raise ValueError(
            f"--image_folder is for --dataset_name=image_folder; --dataset_name={name} downloads its data."
        )

    if name == "flowers":
        from slim.datasets import download_and_convert_flowers

        return download_and_convert_flowers.run(dataset_dir)
    if name == "cifar10":
        from slim.datasets import download_and_convert_cifar10

        return download_and_convert_cifar10.run(dataset_dir)
    if name == "mnist":
        from slim.datasets import download_and_convert_mnist

        return download_and_convert_mnist.run(dataset_dir)
    if name == "digits":
        from slim.datasets import download_and_convert_digits

        return download_and_convert_digits.run(dataset_dir)
    if name == "visualwakewords":
        from slim.datasets import download_and_convert_visualwakewords

        return download_and_convert_visualwakewords.run(
            dataset_dir, flags["small_object_area_threshold"], flags["foreground_class_of_interest"]
        )
    if name == "image_folder":
        if not flags["image_folder"]:
            raise ValueError(
                "You must supply the folder of images with --image_folder (one sub-folder of images per class)"
            )
        from slim.datasets import convert_image_folder

        return convert_image_folder.run(
            flags["image_folder"],
            dataset_dir,
            validation_fraction=flags["validation_fraction"],
            num_validation=flags["num_validation"],
            num_shards=flags["num_shards"],
        )
    hint = ""
    if name == "imagenet":
        hint = (
            " ImageNet needs an image-net.org account: convert your copy with "
            "python -m slim.datasets.build_imagenet_data."
        )
    raise ValueError(
        f"dataset_name [{name}] was not recognized. Convertible datasets: {', '.join(_CONVERTIBLE)}.{hint}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    download_and_convert_data(**parse_argv(FLAGS, argv, "download_and_convert_data", DESCRIPTION))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
