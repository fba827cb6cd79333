"""Both directions against real TensorFlow (fixtures made by tests/fixtures/data/make_tfrecord_fixtures.py).

* TF wrote ``tf_written.tfrecord`` and decoded it with real tf_slim's TFExampleDecoder: we decode the same records
  with the same handlers and must get the same items.
* We wrote ``ours.tfrecord`` (make_our_records.py): TF read it with TFRecordDataset + parse_single_example and
  decode_image, and what it got must equal what we put in and what we decode ourselves.
"""

import base64
import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from slim.data import image_codec, tfexample_decoder
from slim.data.example import parse_example
from slim.data.tfexample_decoder import FixedLenFeature, FixedLenSequenceFeature, VarLenFeature
from slim.data.tfrecord import tf_record_iterator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def _tf_written_decoder():
    keys_to_features = {
        "image/encoded": FixedLenFeature((), "string", default_value=""),
        "image/format": FixedLenFeature((), "string", default_value="jpeg"),
        "image/class/label": FixedLenFeature([], torch.int64, default_value=-1),
        "image/class/text": FixedLenFeature([], "string", default_value=""),
        "image/object/bbox/ymin": VarLenFeature("float32"),
        "image/object/bbox/xmin": VarLenFeature("float32"),
        "image/object/bbox/ymax": VarLenFeature("float32"),
        "image/object/bbox/xmax": VarLenFeature("float32"),
        "matrix": VarLenFeature(torch.float32),
        "matrix/rows": FixedLenFeature([1], "int64", default_value=[0]),
        "matrix/cols": FixedLenFeature([1], "int64", default_value=[0]),
        "sparse/index": VarLenFeature("int64"),
        "sparse/value": VarLenFeature("float32"),
        "varlen": VarLenFeature("int64"),
        "images/encoded": FixedLenSequenceFeature([], "string", allow_missing=True),
    }
    handlers = {
        "image": tfexample_decoder.Image(channels=3),
        "image_gray": tfexample_decoder.Image(channels=1),
        "image_rgb_from_gray": tfexample_decoder.Image(channels=3),
        "raw_image": tfexample_decoder.Image(shape=[4, 5, 3]),
        "images": tfexample_decoder.Image(image_key="images/encoded", repeated=True),
        "label": tfexample_decoder.Tensor("image/class/label"),
        "class_id": tfexample_decoder.LookupTensor("image/class/text", defaultdict(lambda: -1, cat=0, dog=1, bird=2)),
        "bbox": tfexample_decoder.BoundingBox(prefix="image/object/bbox/"),
        "matrix": tfexample_decoder.Tensor("matrix", shape_keys=["matrix/rows", "matrix/cols"]),
        "sparse": tfexample_decoder.SparseTensor(
            indices_key="sparse/index", values_key="sparse/value", shape=[5], densify=True, default_value=-1.0
        ),
        "varlen_dense": tfexample_decoder.Tensor("varlen", default_value=-7),
        "label_or_varlen": tfexample_decoder.BackupHandler(
            tfexample_decoder.Tensor("varlen"), tfexample_decoder.Tensor("image/class/label")
        ),
    }
    return tfexample_decoder.TFExampleDecoder(keys_to_features, handlers)


def test_tf_written_records_decode_like_tf_slim():
    expected = np.load(FIXTURES / "tf_written_expected.npz")
    records = list(tf_record_iterator(FIXTURES / "tf_written.tfrecord"))
    assert len(records) == 4
    decoder = _tf_written_decoder()
    checked = 0
    for key in expected.files:
        index, item = key.split("/", 1)
        (value,) = decoder.decode(records[int(index)], [item])
        assert isinstance(value, torch.Tensor), key
        want = expected[key]
        assert tuple(value.shape) == want.shape, key
        assert value.numpy().dtype == want.dtype, key
        np.testing.assert_array_equal(value.numpy(), want, err_msg=key)
        checked += 1
    assert checked == len(expected.files) == 25  # includes repeated=True images


def _load_make_our_records():
    spec = importlib.util.spec_from_file_location("make_our_records", FIXTURES / "make_our_records.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tensorflow_parses_our_records():
    tf_side = json.loads((FIXTURES / "tf_parsed_ours.json").read_text())["records"]
    written = _load_make_our_records().build_examples()
    ours = [parse_example(r) for r in tf_record_iterator(FIXTURES / "ours.tfrecord")]
    assert len(tf_side) == len(written) == len(ours) == 8
    for index, (tf_record, values, our_record) in enumerate(zip(tf_side, written, ours)):
        decoded = {
            key: [base64.b64decode(v) for v in value]
            if key in ("image/encoded", "image/format", "strings", "text")
            else value
            for key, value in tf_record.items()
            if key != "decode_refused_channels"
        }
        # The encoded image bytes TF parsed are the ones in the committed file (Pillow's encoder may change).
        assert decoded["image/encoded"] == our_record["image/encoded"].tolist(), index
        assert decoded["image/format"] == [values["image/format"]], index
        for key in ("image/class/label", "image/height", "image/width", "varlen"):
            assert decoded[key] == list(values[key]), (index, key)
        np.testing.assert_array_equal(np.float32(decoded["floats"]), np.float32(values["floats"]))
        assert decoded["strings"] == values["strings"], index
        assert decoded["text"] == values.get("text", [b"none"]), index
        assert decoded["image/object/bbox/ymin"] == pytest.approx(values.get("image/object/bbox/ymin", []))


def test_our_image_decoding_matches_tensorflow_exactly():
    pixels = np.load(FIXTURES / "tf_parsed_ours.npz")
    ours = [parse_example(r) for r in tf_record_iterator(FIXTURES / "ours.tfrecord")]
    for key in pixels.files:  # every format (JPEG, PNG, GIF, BMP; gray, RGBA) and channels 0, 1, 3
        index, channels = key.split("/c")
        decoded = image_codec.decode_image(ours[int(index)]["image/encoded"][0], int(channels))
        np.testing.assert_array_equal(decoded, pixels[key], err_msg=key)
    assert len(pixels.files) == 19
