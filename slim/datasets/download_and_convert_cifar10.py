"""Downloads and converts cifar10 data to TFRecords of TF-Example protos (TF-Slim's converter, same output).

Downloads ``cifar-10-python.tar.gz`` (checking the MD5 its authors publish), writes ``cifar10_train.tfrecord``
(``data_batch_1`` ... ``data_batch_5``, 50000 images) and ``cifar10_test.tfrecord`` (``test_batch``, 10000 images)
with each 32x32 image PNG-encoded, plus ``labels.txt``, and deletes the download.

The batches are Python pickles. Unpickling can run arbitrary code, so they are read with an unpickler that only
rebuilds NumPy arrays, lists, dicts, numbers and strings, and refuses anything else by name.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import shutil
from typing import Any

import numpy as np

from slim.data.tfrecord import TFRecordWriter
from slim.datasets import dataset_utils
from slim.datasets.images import encode_png

__all__ = ["run", "load_batch", "add_to_tfrecord", "output_filename", "CLASS_NAMES"]

logger = logging.getLogger(__name__)

# The URL where the CIFAR data can be downloaded, and the MD5 published on https://www.cs.toronto.edu/~kriz/cifar.html.
_DATA_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_DATA_MD5 = "c58f30108f718f92721af3b95e74349a"

# The number of training files.
_NUM_TRAIN_FILES = 5

# The height and width of each image.
_IMAGE_SIZE = 32

# The names of the classes.
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

_BATCHES_DIR = "cifar-10-batches-py"

# What a CIFAR batch pickle may reference: NumPy's array reconstruction (NumPy 1 and 2 module names) and the codec
# Python 3 uses for bytes pickled with protocol 2.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, stream: io.BufferedIOBase, path: str) -> None:
        super().__init__(stream, encoding="bytes")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            if module == "numpy.core.multiarray" and np.lib.NumpyVersion(np.__version__) >= "2.0.0":
                module = "numpy._core.multiarray"  # NumPy 2's name; the old one still works but warns.
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"{self._path} references {module}.{name}; a CIFAR-10 batch holds only arrays, lists and strings, so "
            "this file is refused (it could run code when unpickled)."
        )


def load_batch(path: str) -> tuple[np.ndarray, list[int]]:
    """Reads one CIFAR-10 python batch: ``(images [N, 32, 32, 3] uint8, labels)``."""
    with open(path, "rb") as f:
        data = _ArrayUnpickler(f, path).load()
    if not isinstance(data, dict) or b"data" not in data or b"labels" not in data:
        raise ValueError(f"{path} is not a CIFAR-10 python batch (no b'data' / b'labels' entries).")
    images = np.asarray(data[b"data"], dtype=np.uint8)
    num_images = images.shape[0]
    if images.size != num_images * 3 * _IMAGE_SIZE * _IMAGE_SIZE:
        raise ValueError(f"{path}: b'data' has shape {images.shape}; expected [N, 3072].")
    images = images.reshape((num_images, 3, _IMAGE_SIZE, _IMAGE_SIZE)).transpose(0, 2, 3, 1)
    labels = [int(label) for label in data[b"labels"]]
    if len(labels) != num_images:
        raise ValueError(f"{path}: {num_images} images but {len(labels)} labels.")
    return images, labels


def add_to_tfrecord(filename: str, tfrecord_writer: TFRecordWriter, offset: int = 0) -> int:
    """Writes every image of the batch file ``filename`` as a PNG Example; returns ``offset`` + images written."""
    images, labels = load_batch(filename)
    for image, label in zip(images, labels):
        png_string = encode_png(image)
        example = dataset_utils.image_to_tfexample(png_string, b"png", _IMAGE_SIZE, _IMAGE_SIZE, label)
        tfrecord_writer.write(example.SerializeToString())
    logger.info(">> Converted %d images of %s", len(labels), os.path.basename(filename))
    return offset + len(labels)


def output_filename(dataset_dir: str, split_name: str) -> str:
    """``<dataset_dir>/cifar10_<split>.tfrecord``."""
    return os.path.join(dataset_dir, f"cifar10_{split_name}.tfrecord")


def _clean_up_temporary_files(dataset_dir: str, archive_path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(archive_path)
    shutil.rmtree(os.path.join(dataset_dir, _BATCHES_DIR), ignore_errors=True)


def run(dataset_dir: str, data_url: str = _DATA_URL, md5: str | None = _DATA_MD5) -> bool:
    """Runs the download and conversion operation.

    Args:
      dataset_dir: the folder the TFRecords and labels.txt are written to (created if needed).
      data_url: where ``cifar-10-python.tar.gz`` is downloaded from.
      md5: the archive's expected MD5 (None skips the check, e.g. for a mirror holding another packaging).

    Returns:
      True if the dataset was written, False if its files already existed.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    training_filename = output_filename(dataset_dir, "train")
    testing_filename = output_filename(dataset_dir, "test")
    if os.path.exists(training_filename) and os.path.exists(testing_filename):
        print("Dataset files already exist. Exiting without re-creating them.")
        return False
    archive_path = dataset_utils.download_and_uncompress_tarball(data_url, dataset_dir, md5=md5)

    batches = os.path.join(dataset_dir, _BATCHES_DIR)
    with TFRecordWriter(training_filename) as writer:
        offset = 0
        for i in range(_NUM_TRAIN_FILES):
            offset = add_to_tfrecord(os.path.join(batches, f"data_batch_{i + 1}"), writer, offset)
    with TFRecordWriter(testing_filename) as writer:
        add_to_tfrecord(os.path.join(batches, "test_batch"), writer)

    dataset_utils.write_label_file(dict(zip(range(len(CLASS_NAMES)), CLASS_NAMES)), dataset_dir)
    _clean_up_temporary_files(dataset_dir, archive_path)
    print("\nFinished converting the Cifar10 dataset!")
    return True
