"""TFExampleDecoder: parse_single_example semantics and every item handler, on Examples made here."""

import io

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from slim.data import example as example_lib
from slim.data import tfexample_decoder as decoder_lib
from slim.data.parsing import SparseTensorValue, parse_single_example
from slim.data.tfexample_decoder import FixedLenFeature, FixedLenSequenceFeature, VarLenFeature


def _record(**features):
    return example_lib.make_example({k.replace("__", "/"): v for k, v in features.items()}).SerializeToString()


def _png(array):
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _decode(record, keys_to_features, handler, item="item"):
    decoder = decoder_lib.TFExampleDecoder(keys_to_features, {item: handler})
    return decoder.decode(record, [item])[0]


# --- parse_single_example semantics -------------------------------------------------------------------------------


def test_fixed_len_defaults_and_shapes():
    record = _record(a=example_lib.int64_feature([1, 2, 3, 4, 5, 6]), s=example_lib.bytes_feature(b"x"))
    parsed = parse_single_example(
        record,
        {
            "a": FixedLenFeature([2, 3], "int64"),
            "s": FixedLenFeature([], "string"),
            "missing": FixedLenFeature([2], "float32", default_value=0.5),  # a scalar default is broadcast
            "missing_str": FixedLenFeature((), "string", default_value="none"),
        },
    )
    assert parsed["a"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert parsed["s"] == b"x"
    assert parsed["missing"].dtype == np.float32 and parsed["missing"].tolist() == [0.5, 0.5]
    assert parsed["missing_str"] == b"none"


def test_missing_required_key_names_key():
    with pytest.raises(ValueError, match=r"Feature: image/class/label \(data type: int64\) is required"):
        parse_single_example(_record(x=[1]), {"image/class/label": FixedLenFeature([], "int64")})


def test_wrong_count_and_dtype_name_key():
    record = _record(a=[1, 2, 3])
    with pytest.raises(ValueError, match=r"Key: a\. .*expected 2 values for shape \[2\], got 3"):
        parse_single_example(record, {"a": FixedLenFeature([2], "int64")})
    with pytest.raises(ValueError, match=r"Key: a\. Data types don't match.*int64.*float32"):
        parse_single_example(record, {"a": FixedLenFeature([3], torch.float32)})
    with pytest.raises(ValueError, match=r"default_value has 2 values but the feature shape \[3\] needs 3"):
        parse_single_example(record, {"b": FixedLenFeature([3], "int64", default_value=[1, 2])})
    with pytest.raises(ValueError, match="Unsupported feature dtype"):
        parse_single_example(record, {"a": FixedLenFeature([3], torch.uint8)})


def test_var_len_and_sequence_features():
    record = _record(v=[1.0, 2.0, 3.0], rows=[1, 2, 3, 4])
    parsed = parse_single_example(
        record,
        {
            "v": VarLenFeature("float32"),
            "none": VarLenFeature("string"),
            "rows": FixedLenSequenceFeature([2], "int64", allow_missing=True),
            "no_rows": FixedLenSequenceFeature([2], "int64", allow_missing=True),
        },
    )
    v = parsed["v"]
    assert isinstance(v, SparseTensorValue)
    assert v.indices.tolist() == [[0], [1], [2]] and v.values.tolist() == [1, 2, 3] and v.dense_shape.tolist() == [3]
    assert parsed["none"].values.shape == (0,) and parsed["none"].dense_shape.tolist() == [0]
    assert parsed["rows"].tolist() == [[1, 2], [3, 4]]
    assert parsed["no_rows"].shape == (0, 2)
    with pytest.raises(ValueError, match="requires allow_missing=True"):
        parse_single_example(record, {"rows": FixedLenSequenceFeature([2], "int64")})
    with pytest.raises(ValueError, match="not a multiple of the row size 3"):
        parse_single_example(record, {"rows": FixedLenSequenceFeature([3], "int64", allow_missing=True)})


# --- handlers -------------------------------------------------------------------------------------------------------


def test_tensor_handler_shapes_and_densify():
    record = _record(m=[1, 2, 3, 4, 5, 6], h=[2], w=[3], v=[7, 8])
    keys = {
        "m": FixedLenFeature([6], "int64"),
        "h": FixedLenFeature([], "int64"),
        "w": FixedLenFeature([], "int64"),
        "v": VarLenFeature("int64"),
    }
    assert _decode(record, keys, decoder_lib.Tensor("m", shape=[3, 2])).tolist() == [[1, 2], [3, 4], [5, 6]]
    assert _decode(record, keys, decoder_lib.Tensor("m", shape_keys=["h", "w"])).shape == (2, 3)
    dense = _decode(record, keys, decoder_lib.Tensor("v", shape=[1, 2]))
    assert isinstance(dense, torch.Tensor) and dense.dtype == torch.int64 and dense.tolist() == [[7, 8]]
    with pytest.raises(ValueError, match="pass shape_keys or shape, not both"):
        decoder_lib.Tensor("m", shape_keys=["h"], shape=[6])
    with pytest.raises(ValueError, match=r"Key: m\. Cannot reshape"):
        _decode(record, keys, decoder_lib.Tensor("m", shape=[4]))


def test_item_handler_callback_and_backup():
    record = _record(a=[3], empty=example_lib.int64_feature([]))
    keys = {"a": FixedLenFeature([], "int64"), "empty": VarLenFeature("int64")}
    callback = decoder_lib.ItemHandlerCallback(["a"], lambda tensors: int(tensors["a"]) * 2)
    assert _decode(record, keys, callback) == 6
    backup = decoder_lib.BackupHandler(decoder_lib.Tensor("empty"), decoder_lib.Tensor("a"))
    assert backup.keys == ["empty", "a"]
    assert _decode(record, keys, backup).tolist() == 3
    assert _decode(record, keys, decoder_lib.BackupHandler(decoder_lib.Tensor("a"), callback)).tolist() == 3
    with pytest.raises(ValueError, match="backup must be an ItemHandler"):
        decoder_lib.BackupHandler(decoder_lib.Tensor("a"), "a")


def test_lookup_tensor():
    record = _record(names=[b"cat", b"bird"], name=b"dog")
    keys = {"names": VarLenFeature("string"), "name": FixedLenFeature((), "string")}
    table = {"cat": 0, "dog": 1, "bird": 2}
    assert _decode(record, keys, decoder_lib.LookupTensor("names", table)).tolist() == [0, 2]
    assert _decode(record, keys, decoder_lib.LookupTensor("name", table)).tolist() == 1
    with pytest.raises(ValueError, match=r"b'bird' is not in the lookup table"):
        _decode(record, keys, decoder_lib.LookupTensor("names", {"cat": 0}))

    class Table:
        def lookup(self, values):
            return np.array([len(v) for v in values])

    assert _decode(record, keys, decoder_lib.LookupTensor("names", Table())).tolist() == [3, 4]


def test_sparse_tensor_handler():
    record = _record(indices=[1, 3], values=[0.5, 2.5], size=[5])
    keys = {"indices": VarLenFeature("int64"), "values": VarLenFeature("float32"), "size": VarLenFeature("int64")}
    sparse = _decode(record, keys, decoder_lib.SparseTensor(shape_key="size"))
    assert sparse.is_sparse and sparse.to_dense().tolist() == [0, 0.5, 0, 2.5, 0]
    dense = _decode(record, keys, decoder_lib.SparseTensor(shape=[4], densify=True, default_value=-1.0))
    assert dense.tolist() == [-1, 0.5, -1, 2.5]
    with pytest.raises(ValueError, match="fall outside the dense shape"):
        _decode(record, keys, decoder_lib.SparseTensor(shape=[2], densify=True))


def test_bounding_box_handler():
    record = _record(
        **{"box__ymin": [0.1, 0.5], "box__xmin": [0.2, 0.6], "box__ymax": [0.3, 0.7], "box__xmax": [0.4, 0.8]}
    )
    keys = {f"box/{side}": VarLenFeature("float32") for side in ("ymin", "xmin", "ymax", "xmax")}
    boxes = _decode(record, keys, decoder_lib.BoundingBox(prefix="box/"))
    assert boxes.dtype == torch.float32 and boxes.shape == (2, 4)
    np.testing.assert_allclose(boxes.numpy(), [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], rtol=1e-6)
    with pytest.raises(ValueError, match="expects 4 keys but got 2"):
        decoder_lib.BoundingBox(["ymin", "xmin"])


IMAGE_KEYS = {
    "image/encoded": FixedLenFeature((), "string", default_value=""),
    "image/format": FixedLenFeature((), "string", default_value="png"),
    "images": FixedLenSequenceFeature([], "string", allow_missing=True),
}


def test_image_handler_png_channels_dtype_and_shape():
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    record = _record(image__encoded=_png(rgb), image__format=b"png")
    image = _decode(record, IMAGE_KEYS, decoder_lib.Image())
    assert image.dtype == torch.uint8 and image.tolist() == rgb.tolist()  # HWC, as TensorFlow gives it
    gray = _decode(record, IMAGE_KEYS, decoder_lib.Image(channels=1))
    assert gray.shape == (4, 5, 1)
    # Luma in 15-bit fixed point, truncated: (9798 R + 19235 G + 3735 B) >> 15, for pixel (0, 1) = (3, 4, 5).
    assert gray[0, 1, 0].item() == (9798 * 3 + 19235 * 4 + 3735 * 5) >> 15
    as_float = _decode(record, IMAGE_KEYS, decoder_lib.Image(dtype=torch.float32, shape=[20, 3]))
    assert as_float.dtype == torch.float32 and as_float.shape == (20, 3) and as_float[0, 2].item() == 2.0
    with pytest.raises(ValueError, match=r"cannot reshape the decoded image of shape \[4, 5, 3\]"):
        _decode(record, IMAGE_KEYS, decoder_lib.Image(shape=[7, 7, 3]))


def test_image_handler_raw():
    pixels = np.arange(2 * 3 * 2, dtype=np.uint16).reshape(2, 3, 2) * 1000
    record = _record(image__encoded=pixels.astype("<u2").tobytes(), image__format=b"RAW")
    image = _decode(record, IMAGE_KEYS, decoder_lib.Image(shape=[2, 3, 2], dtype=np.uint16))
    assert image.numpy().tolist() == pixels.tolist()
    with pytest.raises(ValueError, match="raw images need shape="):
        _decode(record, IMAGE_KEYS, decoder_lib.Image())


def test_image_handler_repeated_and_bad_bytes():
    tiles = [np.full((2, 3, 3), value, np.uint8) for value in (10, 200)]
    record = _record(images=[_png(t) for t in tiles], image__format=b"png", image__encoded=b"not an image")
    images = _decode(record, IMAGE_KEYS, decoder_lib.Image(image_key="images", repeated=True))
    assert images.shape == (2, 2, 3, 3) and images[1, 0, 0].tolist() == [200, 200, 200]
    with pytest.raises(ValueError, match=r"Could not decode the image for key 'image/encoded'.*unrecognised format"):
        _decode(record, IMAGE_KEYS, decoder_lib.Image())
    with pytest.raises(ValueError, match="channels=2 must be 0, 1, 3 or 4"):
        decoder_lib.Image(channels=2)


# --- the decoder ----------------------------------------------------------------------------------------------------


def test_decoder_items_and_errors():
    keys = {"a": FixedLenFeature([], "int64"), "b": FixedLenFeature([], "int64", default_value=9)}
    decoder = decoder_lib.TFExampleDecoder(keys, {"x": decoder_lib.Tensor("a"), "y": decoder_lib.Tensor("b")})
    assert decoder.list_items() == ["x", "y"]
    record = _record(a=[1])
    assert [t.item() for t in decoder.decode(record)] == [1, 9]
    assert [t.item() for t in decoder.decode(record, ["y", "x"])] == [9, 1]
    with pytest.raises(ValueError, match=r"Unknown items \['z'\]"):
        decoder.decode(record, ["z"])
    with pytest.raises(ValueError, match=r"Item 'x' reads Example keys \['nope'\]"):
        decoder_lib.TFExampleDecoder(keys, {"x": decoder_lib.Tensor("nope")})
    # Only the requested items' keys are parsed: 'a' is required but unread when asking for 'y' alone.
    assert decoder.decode(_record(c=[0]), ["y"])[0].item() == 9
