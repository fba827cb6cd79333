"""tf.train.Example through protobuf: schema field numbers, helpers, round trip."""

import numpy as np
import pytest

from slim.data import example as example_lib


def test_schema_matches_tensorflow_field_numbers():
    fields = {
        message.DESCRIPTOR.full_name: {f.name: f.number for f in message.DESCRIPTOR.fields}
        for message in (
            example_lib.BytesList,
            example_lib.FloatList,
            example_lib.Int64List,
            example_lib.Feature,
            example_lib.Features,
            example_lib.FeatureList,
            example_lib.FeatureLists,
            example_lib.Example,
            example_lib.SequenceExample,
        )
    }
    assert fields == {
        "tensorflow.BytesList": {"value": 1},
        "tensorflow.FloatList": {"value": 1},
        "tensorflow.Int64List": {"value": 1},
        "tensorflow.Feature": {"bytes_list": 1, "float_list": 2, "int64_list": 3},
        "tensorflow.Features": {"feature": 1},
        "tensorflow.FeatureList": {"feature": 1},
        "tensorflow.FeatureLists": {"feature_list": 1},
        "tensorflow.Example": {"features": 1},
        "tensorflow.SequenceExample": {"context": 1, "feature_lists": 2},
    }
    assert example_lib.Features.DESCRIPTOR.fields_by_name["feature"].message_type.GetOptions().map_entry


def test_packed_encoding_bytes():
    # Int64List{value: [1, 2]} packed: field 1, wire type 2 (0x0a), 2 bytes of varints 01 02.
    assert example_lib.Int64List(value=[1, 2]).SerializeToString() == b"\x0a\x02\x01\x02"
    # FloatList{value: [0.5]} packed: 0x0a, 4 bytes, little-endian float32 0.5 = 00 00 00 3f.
    assert example_lib.FloatList(value=[0.5]).SerializeToString() == b"\x0a\x04\x00\x00\x00\x3f"


def test_round_trip_helpers():
    example = example_lib.make_example(
        {
            "bytes": example_lib.bytes_feature(b"\x00\xffraw"),
            "text": example_lib.bytes_feature("héllo"),
            "list": example_lib.bytes_list_feature([b"a", "b"]),
            "int": example_lib.int64_feature(-(2**40)),
            "ints": example_lib.int64_feature(np.array([1, 2, 3])),
            "float": example_lib.float_feature(0.1),
            "floats": example_lib.float_list_feature([1.5, -2.0]),
            "plain_ints": [4, 5],
            "plain_array": np.array([0.25, 0.5], np.float32),
            "plain_str": "x",
        }
    )
    parsed = example_lib.parse_example(example.SerializeToString())
    assert parsed["bytes"].tolist() == [b"\x00\xffraw"]
    assert parsed["text"].tolist() == ["héllo".encode()]
    assert parsed["list"].tolist() == [b"a", b"b"]
    assert parsed["int"].dtype == np.int64 and parsed["int"].tolist() == [-(2**40)]
    assert parsed["ints"].tolist() == [1, 2, 3]
    assert parsed["float"].dtype == np.float32 and parsed["float"][0] == np.float32(0.1)
    assert parsed["floats"].tolist() == [1.5, -2.0]
    assert parsed["plain_ints"].dtype == np.int64 and parsed["plain_array"].dtype == np.float32
    assert parsed["plain_str"].tolist() == [b"x"]


def test_errors():
    with pytest.raises(ValueError, match="'empty' is an empty list"):
        example_lib.make_example({"empty": []})
    with pytest.raises(TypeError, match="Feature 'obj'"):
        example_lib.make_example({"obj": [object()]})
    with pytest.raises(TypeError, match="bytes_feature expects bytes or str"):
        example_lib.bytes_feature([1])
    with pytest.raises(ValueError, match="Not a serialized tf.train.Example"):
        example_lib.parse_example(b"\xff\xff\xff")
