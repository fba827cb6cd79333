"""Converts scikit-learn's handwritten digits to TFRecords in MNIST's format (nothing to download).

The 8x8 images (16 grey levels) are scaled to 0..255, resized to 20x20 and centred in a 28x28 frame, the way MNIST
centres its 20x20 digits, then PNG-encoded into the same Examples ``download_and_convert_mnist`` writes. The split
is fixed and stratified: in each class, a seeded shuffle puts the first 20 % (rounded down) into ``test``.
scikit-learn is only needed here: ``pip install scikit-learn`` (the project's ``demo`` extra).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from slim.data.tfrecord import TFRecordWriter
from slim.datasets import dataset_utils
from slim.datasets.digits import SPLITS_TO_SIZES
from slim.datasets.images import encode_png

__all__ = ["run", "load_digits", "to_mnist_layout", "split_indices", "output_filename", "CLASS_NAMES"]

CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_SEED = 0
_TEST_FRACTION = 0.2
_DIGIT_SIZE = 20  # MNIST's digits fit a 20x20 box ...
_IMAGE_SIZE = 28  # ... centred in 28x28


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images ``[1797, 8, 8]`` float (0..16) and labels ``[1797]`` int64."""
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as error:
        raise ImportError(
            "The digits dataset comes from scikit-learn, which is not installed: pip install scikit-learn "
            "(or the project's demo extra: pip install -e '.[demo]')."
        ) from error
    digits = sklearn_load_digits()
    return np.asarray(digits.images, np.float64), np.asarray(digits.target, np.int64)


def to_mnist_layout(image: np.ndarray) -> np.ndarray:
    """One 8x8 image with values 0..16 → a ``[28, 28, 1]`` uint8 image, the digit in the centred 20x20 box."""
    grey = Image.fromarray(np.clip(np.rint(image * (255.0 / 16.0)), 0, 255).astype(np.uint8))
    digit = np.asarray(grey.resize((_DIGIT_SIZE, _DIGIT_SIZE), Image.Resampling.BILINEAR))
    frame = np.zeros((_IMAGE_SIZE, _IMAGE_SIZE, 1), np.uint8)
    offset = (_IMAGE_SIZE - _DIGIT_SIZE) // 2
    frame[offset : offset + _DIGIT_SIZE, offset : offset + _DIGIT_SIZE, 0] = digit
    return frame


def split_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed stratified split: ``{'train': indices, 'test': indices}``, each sorted."""
    rng = np.random.RandomState(_SEED)
    test = []
    for label in range(len(CLASS_NAMES)):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        test.extend(members[: int(len(members) * _TEST_FRACTION)].tolist())
    test_set = set(test)
    train = [i for i in range(len(labels)) if i not in test_set]
    return {"train": np.array(sorted(train)), "test": np.array(sorted(test))}


def output_filename(dataset_dir: str, split_name: str) -> str:
    """``<dataset_dir>/digits_<split>.tfrecord``."""
    return os.path.join(dataset_dir, f"digits_{split_name}.tfrecord")


def run(dataset_dir: str) -> bool:
    """Writes ``digits_train.tfrecord``, ``digits_test.tfrecord`` and ``labels.txt`` into ``dataset_dir``.

    Returns:
      True if the dataset was written, False if its files already existed.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if all(os.path.exists(output_filename(dataset_dir, split)) for split in SPLITS_TO_SIZES):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False
    images, labels = load_digits()
    for split, indices in split_indices(labels).items():
        if len(indices) != SPLITS_TO_SIZES[split]:
            raise RuntimeError(
                f"The digits split {split!r} has {len(indices)} images, expected {SPLITS_TO_SIZES[split]}: "
                "has scikit-learn's dataset changed?"
            )
        path = output_filename(dataset_dir, split)
        with TFRecordWriter(path + ".partial") as writer:
            for index in indices:
                png = encode_png(to_mnist_layout(images[index]))
                example = dataset_utils.image_to_tfexample(png, b"png", _IMAGE_SIZE, _IMAGE_SIZE, int(labels[index]))
                writer.write(example.SerializeToString())
        os.replace(path + ".partial", path)
    dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES)), dataset_dir)
    print(f"\nFinished converting the digits dataset ({len(labels)} images) to {dataset_dir}!")
    return True
