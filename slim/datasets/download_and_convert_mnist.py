"""Downloads and converts MNIST data to TFRecords of TF-Example protos (TF-Slim's converter, same output).

Downloads the four IDX files, writes ``mnist_train.tfrecord`` (60000 images) and ``mnist_test.tfrecord`` (10000)
with each 28x28x1 image PNG-encoded, plus ``labels.txt``, and deletes the downloads.

``yann.lecun.com`` has stopped serving the files to scripts, so each file is tried at TF-Slim's URL first and then at
the public mirrors PyTorch and TensorFlow use; every copy is checked against the files' well-known MD5 sums. The
class names keep TF-Slim's spelling, including its ``'size'`` for six, so label files match TF-Slim's.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
from collections.abc import Sequence

import numpy as np

from slim.data.tfrecord import TFRecordWriter
from slim.datasets import dataset_utils
from slim.datasets.download import ChecksumError, DownloadError
from slim.datasets.images import encode_png

__all__ = ["run", "extract_images", "extract_labels", "add_to_tfrecord", "output_filename", "CLASS_NAMES"]

logger = logging.getLogger(__name__)

# The URLs where the MNIST data can be downloaded (TF-Slim's first, then mirrors).
_DATA_URL = "http://yann.lecun.com/exdb/mnist/"
_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
_TRAIN_DATA_FILENAME = "train-images-idx3-ubyte.gz"
_TRAIN_LABELS_FILENAME = "train-labels-idx1-ubyte.gz"
_TEST_DATA_FILENAME = "t10k-images-idx3-ubyte.gz"
_TEST_LABELS_FILENAME = "t10k-labels-idx1-ubyte.gz"
_MD5 = {
    _TRAIN_DATA_FILENAME: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    _TRAIN_LABELS_FILENAME: "d53e105ee54ea40749a09fcbcd1e9432",
    _TEST_DATA_FILENAME: "9fb629c4189551a2d022fa330f9573f3",
    _TEST_LABELS_FILENAME: "ec29112dd5afa0611ce80d1b7f02629c",
}

_IMAGE_SIZE = 28
_NUM_CHANNELS = 1
_IMAGES_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions
_LABELS_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension

# The names of the classes (TF-Slim's, "size" included).
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "size", "seven", "eight", "nine"]


def _read_header(stream: gzip.GzipFile, filename: str, magic: int, num_dims: int) -> list[int]:
    header = stream.read(4 * (1 + num_dims))
    if len(header) != 4 * (1 + num_dims):
        raise ValueError(f"{filename} is too short to hold an IDX header.")
    values = [int.from_bytes(header[i : i + 4], "big") for i in range(0, len(header), 4)]
    if values[0] != magic:
        raise ValueError(f"{filename}: IDX magic number {values[0]}, expected {magic}; is this the right file?")
    return values[1:]


def extract_images(filename: str, num_images: int | None = None) -> np.ndarray:
    """Reads the images of an IDX3 gz file (16-byte header) into ``[N, 28, 28, 1]`` uint8.

    Args:
      filename: the ``*-images-idx3-ubyte.gz`` file.
      num_images: the expected count (TF-Slim's argument); None takes the count from the header.
    """
    logger.info("Extracting images from: %s", filename)
    with gzip.open(filename, "rb") as stream:
        count, rows, cols = _read_header(stream, filename, _IMAGES_MAGIC, 3)
        if (rows, cols) != (_IMAGE_SIZE, _IMAGE_SIZE):
            raise ValueError(f"{filename}: images are {rows}x{cols}, expected {_IMAGE_SIZE}x{_IMAGE_SIZE}.")
        if num_images is not None and num_images != count:
            raise ValueError(f"{filename} holds {count} images, expected {num_images}.")
        buf = stream.read(rows * cols * count * _NUM_CHANNELS)
    if len(buf) != rows * cols * count:
        raise ValueError(
            f"{filename} ends after {len(buf)} bytes of pixels; its header promises {rows * cols * count}."
        )
    return np.frombuffer(buf, dtype=np.uint8).reshape(count, rows, cols, _NUM_CHANNELS)


def extract_labels(filename: str, num_labels: int | None = None) -> np.ndarray:
    """Reads the labels of an IDX1 gz file (8-byte header) into an int64 vector."""
    logger.info("Extracting labels from: %s", filename)
    with gzip.open(filename, "rb") as stream:
        (count,) = _read_header(stream, filename, _LABELS_MAGIC, 1)
        if num_labels is not None and num_labels != count:
            raise ValueError(f"{filename} holds {count} labels, expected {num_labels}.")
        buf = stream.read(count)
    if len(buf) != count:
        raise ValueError(f"{filename} ends after {len(buf)} labels; its header promises {count}.")
    return np.frombuffer(buf, dtype=np.uint8).astype(np.int64)


def add_to_tfrecord(data_filename: str, labels_filename: str, tfrecord_writer: TFRecordWriter) -> int:
    """Writes the images and labels of one split as PNG Examples; returns how many."""
    images = extract_images(data_filename)
    labels = extract_labels(labels_filename)
    if len(images) != len(labels):
        raise ValueError(f"{data_filename} holds {len(images)} images but {labels_filename} {len(labels)} labels.")
    for image, label in zip(images, labels):
        example = dataset_utils.image_to_tfexample(encode_png(image), b"png", _IMAGE_SIZE, _IMAGE_SIZE, int(label))
        tfrecord_writer.write(example.SerializeToString())
    return len(images)


def output_filename(dataset_dir: str, split_name: str) -> str:
    """``<dataset_dir>/mnist_<split>.tfrecord``."""
    return os.path.join(dataset_dir, f"mnist_{split_name}.tfrecord")


def _download_dataset(dataset_dir: str, base_urls: Sequence[str], check_md5: bool) -> list[str]:
    paths = []
    for filename in (_TRAIN_DATA_FILENAME, _TRAIN_LABELS_FILENAME, _TEST_DATA_FILENAME, _TEST_LABELS_FILENAME):
        md5 = _MD5[filename] if check_md5 else None
        failures = []
        for base_url in base_urls:
            url = base_url.rstrip("/") + "/" + filename
            try:
                paths.append(dataset_utils.download_url(url, os.path.join(dataset_dir, filename), md5=md5))
                break
            except (DownloadError, ChecksumError) as error:
                logger.warning("%s", error)
                failures.append(f"{url}: {error}")
        else:
            raise DownloadError(f"Could not download {filename} from any of: " + "; ".join(failures))
    return paths


def run(dataset_dir: str, base_urls: Sequence[str] | None = None, check_md5: bool = True) -> bool:
    """Runs the download and conversion operation.

    Args:
      dataset_dir: the folder the TFRecords and labels.txt are written to (created if needed).
      base_urls: folders holding the four ``.gz`` files, tried in order; None for TF-Slim's URL and the mirrors.
      check_md5: check each file against the published MD5 sums.

    Returns:
      True if the dataset was written, False if its files already existed.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    training_filename = output_filename(dataset_dir, "train")
    testing_filename = output_filename(dataset_dir, "test")
    if os.path.exists(training_filename) and os.path.exists(testing_filename):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False
    base_urls = list(base_urls) if base_urls else [_DATA_URL, *_MIRRORS]
    downloads = _download_dataset(dataset_dir, base_urls, check_md5)
    train_data, train_labels, test_data, test_labels = downloads

    with TFRecordWriter(training_filename) as writer:
        add_to_tfrecord(train_data, train_labels, writer)
    with TFRecordWriter(testing_filename) as writer:
        add_to_tfrecord(test_data, test_labels, writer)

    dataset_utils.write_label_file(dict(zip(range(len(CLASS_NAMES)), CLASS_NAMES)), dataset_dir)
    for path in downloads:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    print("\nFinished converting the MNIST dataset!")
    return True
