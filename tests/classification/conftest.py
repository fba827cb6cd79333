"""Shared test data for the classification scripts' tests."""

import numpy as np
import pytest
from PIL import Image

from slim.datasets import convert_image_folder


def make_two_class_dataset(root, per_class: int, num_validation: int, num_shards: int) -> str:
    """Two easily separable classes of 16x16 PNGs (dark vs bright) under ``root``, converted to TFRecords.

    Returns the dataset directory that ``dataset_name='image_folder'`` reads.
    """
    rng = np.random.RandomState(0)
    for label, name in enumerate(("dark", "bright")):
        folder = root / "photos" / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            base = 40 if label == 0 else 200
            pixels = np.clip(base + rng.randn(16, 16, 3) * 20, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    out = root / "records"
    convert_image_folder.run(str(root / "photos"), str(out), num_validation=num_validation, num_shards=num_shards)
    return str(out)


@pytest.fixture(scope="session")
def two_class_dataset():
    """:func:`make_two_class_dataset`, for the test modules' own dataset fixtures."""
    return make_two_class_dataset


def lenet_training_flags(dataset_dir: str, train_dir, **overrides) -> dict:
    """``train_image_classifier``'s keyword arguments for a few quick LeNet steps on such a dataset (SGD at a fixed
    rate, no weight decay, one reader, no worker processes, no summaries); ``overrides`` win."""
    flags = dict(
        dataset_name="image_folder",
        dataset_dir=dataset_dir,
        model_name="lenet",
        preprocessing_name="lenet",
        train_image_size=28,
        batch_size=8,
        optimizer="sgd",
        learning_rate=0.01,
        learning_rate_decay_type="fixed",
        weight_decay=0.0,
        num_readers=1,
        num_preprocessing_threads=0,
        save_summaries_secs=0,
        save_interval_secs=600,
        train_dir=str(train_dir),
    )
    flags.update(overrides)
    return flags


def lenet_evaluation_flags(dataset_dir: str, checkpoint_path, eval_dir, **overrides) -> dict:
    """``eval_image_classifier``'s keyword arguments for LeNet on such a dataset's validation split, batches of 6, no
    worker processes; ``overrides`` win."""
    flags = dict(
        dataset_name="image_folder",
        dataset_split_name="validation",
        dataset_dir=dataset_dir,
        checkpoint_path=str(checkpoint_path),
        eval_dir=str(eval_dir),
        model_name="lenet",
        preprocessing_name="lenet",
        eval_image_size=28,
        batch_size=6,
        num_preprocessing_threads=0,
    )
    flags.update(overrides)
    return flags


@pytest.fixture(scope="session")
def lenet_eval_flags():
    """:func:`lenet_evaluation_flags`, for the test modules."""
    return lenet_evaluation_flags


@pytest.fixture(scope="session")
def lenet_flags():
    """:func:`lenet_training_flags`, for the test modules."""
    return lenet_training_flags
