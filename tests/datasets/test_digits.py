"""The digits dataset (scikit-learn's handwritten digits in MNIST's format): converter, split and reading."""

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("sklearn")

from slim.datasets import dataset_factory, download_and_convert_digits  # noqa: E402
from slim.datasets.digits import SPLITS_TO_SIZES  # noqa: E402


def test_to_mnist_layout_centres_the_digit_in_a_20x20_box():
    image = np.full((8, 8), 16.0)
    out = download_and_convert_digits.to_mnist_layout(image)
    assert out.shape == (28, 28, 1) and out.dtype == np.uint8
    assert (out[4:24, 4:24] == 255).all()
    assert out[:4].sum() == 0 and out[24:].sum() == 0 and out[:, :4].sum() == 0 and out[:, 24:].sum() == 0


def test_split_is_stratified_disjoint_and_has_the_declared_sizes():
    _, labels = download_and_convert_digits.load_digits()
    splits = download_and_convert_digits.split_indices(labels)
    assert {name: len(indices) for name, indices in splits.items()} == SPLITS_TO_SIZES
    assert not set(splits["train"]) & set(splits["test"])
    assert len(set(splits["train"]) | set(splits["test"])) == len(labels)
    per_class_test = np.bincount(labels[splits["test"]], minlength=10)
    per_class_all = np.bincount(labels, minlength=10)
    np.testing.assert_array_equal(per_class_test, per_class_all // 5)
    again = download_and_convert_digits.split_indices(labels)
    np.testing.assert_array_equal(again["test"], splits["test"])


def test_convert_then_read_through_the_dataset_factory(tmp_path, images, capsys):
    dataset_dir = tmp_path / "digits"
    assert download_and_convert_digits.run(str(dataset_dir))
    assert (dataset_dir / "labels.txt").read_text().splitlines()[6] == "6:six"
    source_images, source_labels = download_and_convert_digits.load_digits()
    test_indices = download_and_convert_digits.split_indices(source_labels)["test"]
    records = images.read_records([dataset_dir / "digits_test.tfrecord"])
    assert len(records) == SPLITS_TO_SIZES["test"]
    for record, index in zip(records[:20], test_indices[:20]):
        assert record["image/class/label"].tolist() == [source_labels[index]]
        decoded = np.asarray(Image.open(io.BytesIO(record["image/encoded"][0])))
        np.testing.assert_array_equal(
            decoded, download_and_convert_digits.to_mnist_layout(source_images[index])[..., 0]
        )

    dataset = dataset_factory.get_dataset("digits", "train", str(dataset_dir))
    assert dataset.num_samples == SPLITS_TO_SIZES["train"] and dataset.num_classes == 10
    assert dataset.labels_to_names[9] == "nine"
    capsys.readouterr()
    assert not download_and_convert_digits.run(str(dataset_dir))
    assert "Dataset files already exist" in capsys.readouterr().out


def test_unknown_split_names_the_splits(tmp_path):
    with pytest.raises(ValueError, match="train.*test|test.*train"):
        dataset_factory.get_dataset("digits", "validation", str(tmp_path))
