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
