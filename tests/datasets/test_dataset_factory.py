"""get_dataset: the registry, TF-Slim's split tables, and decoding converted records through each decoder."""

import gzip
import io
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from slim.data.tfrecord import TFRecordWriter, tf_record_iterator
from slim.datasets import (
    dataset_factory,
    dataset_utils,
    download_and_convert_cifar10,
    download_and_convert_flowers,
    download_and_convert_mnist,
)

# TF-Slim's split tables (reference §2.4).
SPLITS = {
    "flowers": {"train": 3320, "validation": 350},
    "cifar10": {"train": 50000, "test": 10000},
    "mnist": {"train": 60000, "test": 10000},
    "imagenet": {"train": 1281167, "validation": 50000},
    "visualwakewords": {"train": 82783, "val": 40504},
}
NUM_CLASSES = {"flowers": 5, "cifar10": 10, "mnist": 10, "imagenet": 1001, "visualwakewords": 2}
PATTERNS = {
    "flowers": "flowers_%s_*.tfrecord",
    "cifar10": "cifar10_%s.tfrecord",
    "mnist": "mnist_%s.tfrecord",
    "imagenet": "%s-*",
    "visualwakewords": "%s.record-*",
}


def test_registry_names():
    assert dataset_factory.dataset_names() == [
        "cifar10",
        "digits",
        "flowers",
        "image_folder",
        "imagenet",
        "mnist",
        "visualwakewords",
    ]


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_split_tables(name, tmp_path):
    for split, size in SPLITS[name].items():
        dataset = dataset_factory.get_dataset(name, split, str(tmp_path))
        assert dataset.num_samples == size
        assert dataset.num_classes == NUM_CLASSES[name]
        assert dataset.data_sources == str(tmp_path / (PATTERNS[name] % split))
        assert dataset.labels_to_names is None  # no labels.txt
        assert set(dataset.items_to_descriptions) == set(dataset.decoder.list_items())


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_unknown_split_names_the_splits(name, tmp_path):
    splits = ", ".join(repr(s) for s in SPLITS[name])
    with pytest.raises(
        ValueError, match=f"split name bogus was not recognized. Dataset '{name}' has the splits {splits}"
    ):
        dataset_factory.get_dataset(name, "bogus", str(tmp_path))


def test_unknown_dataset_lists_names():
    with pytest.raises(
        ValueError, match="Name of dataset unknown flower. Known datasets: cifar10, digits, flowers, image_folder"
    ):
        dataset_factory.get_dataset("flower", "train", "/tmp")


def test_file_pattern_override_and_labels(tmp_path):
    dataset_utils.write_label_file({0: "a", 1: "b:c"}, str(tmp_path))
    dataset = dataset_factory.get_dataset("flowers", "train", str(tmp_path), file_pattern="my_%s-*")
    assert dataset.data_sources == str(tmp_path / "my_train-*")
    assert dataset.labels_to_names == {0: "a", 1: "b:c"}
    with pytest.raises(ValueError, match="must contain '%s'"):
        dataset_factory.get_dataset("flowers", "train", str(tmp_path), file_pattern="fixed.tfrecord")


def _decode_all(dataset, items=("image", "label")):
    records = [r for path in sorted(_glob(dataset.data_sources)) for r in tf_record_iterator(path)]
    return [dataset.decoder.decode(record, list(items)) for record in records]


def _glob(pattern):
    import glob

    return glob.glob(pattern)


def test_flowers_records_decode(tmp_path, images):
    folder = tmp_path / "flower_photos" / "roses"
    folder.mkdir(parents=True)
    pixels = images.pattern(5, 4, 3)
    path = folder / "a.jpg"
    Image.fromarray(pixels).save(path, quality=100)
    download_and_convert_flowers.convert_dataset("train", [str(path)], {"daisy": 0, "roses": 2}, str(tmp_path), 1)
    dataset = dataset_factory.get_dataset("flowers", "train", str(tmp_path))
    [(image, label)] = _decode_all(dataset)
    assert image.dtype == torch.uint8 and tuple(image.shape) == (5, 4, 3)
    assert int(label) == 2
    # The stored bytes are the file's own, decoded as TF decodes JPEG (slim.data.image_codec: TF's fast IDCT).
    from slim.data import image_codec

    want = image_codec.decode_jpeg(path.read_bytes(), channels=3).astype(int)
    assert np.array_equal(image.numpy().astype(int), want)


def test_cifar10_records_decode(tmp_path):
    rng = np.random.default_rng(0)
    images_hwc = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    batch = tmp_path / "data_batch_1"
    rows = images_hwc.transpose(0, 3, 1, 2).reshape(2, -1)
    batch.write_bytes(pickle.dumps({b"data": rows, b"labels": [7, 1]}, protocol=2))
    with TFRecordWriter(str(tmp_path / "cifar10_test.tfrecord")) as writer:
        download_and_convert_cifar10.add_to_tfrecord(str(batch), writer)
    decoded = _decode_all(dataset_factory.get_dataset("cifar10", "test", str(tmp_path)))
    assert [int(label) for _, label in decoded] == [7, 1]
    for (image, _), want in zip(decoded, images_hwc):
        np.testing.assert_array_equal(image.numpy(), want)


def test_mnist_records_decode(tmp_path):
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    with gzip.open(tmp_path / "img.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + digits.tobytes())
    with gzip.open(tmp_path / "lbl.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + bytes([3, 9]))
    with TFRecordWriter(str(tmp_path / "mnist_train.tfrecord")) as writer:
        download_and_convert_mnist.add_to_tfrecord(str(tmp_path / "img.gz"), str(tmp_path / "lbl.gz"), writer)
    decoded = _decode_all(dataset_factory.get_dataset("mnist", "train", str(tmp_path)))
    assert [tuple(label.shape) for _, label in decoded] == [(), ()]  # [1] feature reshaped to a scalar
    assert [int(label) for _, label in decoded] == [3, 9]
    for (image, _), want in zip(decoded, digits):
        assert tuple(image.shape) == (28, 28, 1)
        np.testing.assert_array_equal(image.numpy()[:, :, 0], want)


def test_png_bytes_decode_whatever_the_format_field_says(tmp_path, images):
    # Flowers records say 'jpg'; the decoder goes by the bytes (TF-Slim's Image handler does too).
    data = images.png(3, 2, 0)
    example = dataset_utils.image_to_tfexample(data, b"jpg", 3, 2, 1)
    with TFRecordWriter(str(tmp_path / "flowers_validation_00000-of-00001.tfrecord")) as writer:
        writer.write(example.SerializeToString())
    [(image, label)] = _decode_all(dataset_factory.get_dataset("flowers", "validation", str(tmp_path)))
    np.testing.assert_array_equal(image.numpy(), np.asarray(Image.open(io.BytesIO(data))))
    assert int(label) == 1
