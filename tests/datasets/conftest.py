"""Tiny test images and a reader for the records the converters write."""

import io
import types

import numpy as np
import pytest
from PIL import Image

from slim.data.example import parse_example
from slim.data.tfrecord import tf_record_iterator


def _encode(array, fmt, mode=None, **kwargs):
    image = Image.fromarray(np.asarray(array, dtype=np.uint8))
    if mode:
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def _pattern(height, width, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def jpeg(height=6, width=5, seed=0, mode=None):
    """JPEG bytes of a random RGB image (mode='CMYK' writes a CMYK JPEG, 'L' a grayscale one)."""
    return _encode(_pattern(height, width, seed), "JPEG", mode=mode, quality=95)


def png(height=4, width=7, seed=0):
    return _encode(_pattern(height, width, seed), "PNG")


def read_records(paths):
    """Every record of the files ``paths``, parsed into {key: numpy array}."""
    return [parse_example(record) for path in paths for record in tf_record_iterator(str(path))]


@pytest.fixture
def images():
    return types.SimpleNamespace(jpeg=jpeg, png=png, read_records=read_records, pattern=_pattern)
