"""``tf.train.Example`` / ``tf.train.SequenceExample`` protos without TensorFlow, parsed by protobuf itself.

The schema of TensorFlow's ``tensorflow/core/example/feature.proto`` and ``example.proto`` is declared here as a
``FileDescriptorProto`` (same package ``tensorflow``, message names and field numbers), so the protobuf runtime does
all encoding and decoding; nothing here parses the wire format by hand. The messages live in a private descriptor
pool, so they never clash with TensorFlow's or TensorBoard's generated modules when those are imported too.

Example::

    example = make_example({"image/encoded": bytes_feature(jpeg), "image/class/label": int64_feature(3)})
    record = example.SerializeToString()
    parse_example(record)  # {"image/encoded": array([b'...'], dtype=object), "image/class/label": array([3])}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = [
    "Example",
    "SequenceExample",
    "Features",
    "Feature",
    "FeatureList",
    "FeatureLists",
    "BytesList",
    "FloatList",
    "Int64List",
    "int64_feature",
    "bytes_feature",
    "bytes_list_feature",
    "float_feature",
    "float_list_feature",
    "to_feature",
    "make_example",
    "parse_example",
    "feature_to_numpy",
]

_FIELD = descriptor_pb2.FieldDescriptorProto


def _field(name: str, number: int, kind: int, label: int = _FIELD.LABEL_OPTIONAL, type_name: str = "") -> Any:
    field = _FIELD(name=name, number=number, type=kind, label=label, json_name=_json_name(name))
    if type_name:
        field.type_name = type_name
    return field


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _map_entry(name: str, value_type: str) -> Any:
    """The nested ``<Name>Entry`` message protobuf uses to represent ``map<string, value_type>``."""
    entry = descriptor_pb2.DescriptorProto(name=name)
    entry.field.append(_field("key", 1, _FIELD.TYPE_STRING))
    entry.field.append(_field("value", 2, _FIELD.TYPE_MESSAGE, type_name=value_type))
    entry.options.map_entry = True
    return entry


def _message(name: str, *fields: Any, nested: Iterable[Any] = (), oneofs: Iterable[str] = ()) -> Any:
    message = descriptor_pb2.DescriptorProto(name=name)
    message.field.extend(fields)
    message.nested_type.extend(nested)
    for oneof in oneofs:
        message.oneof_decl.add(name=oneof)
    return message


def _build_pool() -> descriptor_pool.DescriptorPool:
    repeated = _FIELD.LABEL_REPEATED
    # feature.proto (proto3: repeated numeric fields are packed, as TensorFlow writes them).
    feature_file = descriptor_pb2.FileDescriptorProto(
        name="tensorflow/core/example/feature.proto", package="tensorflow", syntax="proto3"
    )
    kind_fields = [
        _field("bytes_list", 1, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.BytesList"),
        _field("float_list", 2, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.FloatList"),
        _field("int64_list", 3, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.Int64List"),
    ]
    for field in kind_fields:
        field.oneof_index = 0
    feature_file.message_type.extend(
        [
            _message("BytesList", _field("value", 1, _FIELD.TYPE_BYTES, repeated)),
            _message("FloatList", _field("value", 1, _FIELD.TYPE_FLOAT, repeated)),
            _message("Int64List", _field("value", 1, _FIELD.TYPE_INT64, repeated)),
            _message("Feature", *kind_fields, oneofs=["kind"]),
            _message(
                "Features",
                _field("feature", 1, _FIELD.TYPE_MESSAGE, repeated, ".tensorflow.Features.FeatureEntry"),
                nested=[_map_entry("FeatureEntry", ".tensorflow.Feature")],
            ),
            _message("FeatureList", _field("feature", 1, _FIELD.TYPE_MESSAGE, repeated, ".tensorflow.Feature")),
            _message(
                "FeatureLists",
                _field("feature_list", 1, _FIELD.TYPE_MESSAGE, repeated, ".tensorflow.FeatureLists.FeatureListEntry"),
                nested=[_map_entry("FeatureListEntry", ".tensorflow.FeatureList")],
            ),
        ]
    )
    # example.proto
    example_file = descriptor_pb2.FileDescriptorProto(
        name="tensorflow/core/example/example.proto", package="tensorflow", syntax="proto3"
    )
    example_file.dependency.append(feature_file.name)
    example_file.message_type.extend(
        [
            _message("Example", _field("features", 1, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.Features")),
            _message(
                "SequenceExample",
                _field("context", 1, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.Features"),
                _field("feature_lists", 2, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.FeatureLists"),
            ),
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(feature_file)
    pool.Add(example_file)
    return pool


_POOL = _build_pool()


def _message_class(name: str) -> type:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"tensorflow.{name}"))


BytesList = _message_class("BytesList")
FloatList = _message_class("FloatList")
Int64List = _message_class("Int64List")
Feature = _message_class("Feature")
Features = _message_class("Features")
FeatureList = _message_class("FeatureList")
FeatureLists = _message_class("FeatureLists")
Example = _message_class("Example")
SequenceExample = _message_class("SequenceExample")


def _as_list(values: Any) -> list:
    if isinstance(values, np.ndarray):
        return values.reshape(-1).tolist()
    if isinstance(values, (list, tuple)):
        return list(values)
    return [values]


def _as_bytes(value: Any, key: str = "") -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview, np.bytes_)):
        return bytes(value)
    where = f" for feature {key!r}" if key else ""
    raise TypeError(f"bytes_feature{where} expects bytes or str values, got {type(value).__name__}: {value!r}.")


def int64_feature(values: int | Iterable[int]) -> Any:
    """A Feature holding int64s, from an int or a list/array of ints."""
    return Feature(int64_list=Int64List(value=[int(v) for v in _as_list(values)]))


def bytes_feature(values: bytes | str | Iterable[bytes | str]) -> Any:
    """A Feature holding bytes, from one bytes/str value or a list of them (str is UTF-8 encoded)."""
    return Feature(bytes_list=BytesList(value=[_as_bytes(v) for v in _as_list(values)]))


def bytes_list_feature(values: Iterable[bytes | str]) -> Any:
    """A Feature holding a list of bytes values."""
    return Feature(bytes_list=BytesList(value=[_as_bytes(v) for v in values]))


def float_feature(values: float | Iterable[float]) -> Any:
    """A Feature holding float32s, from a float or a list/array of floats."""
    return Feature(float_list=FloatList(value=[float(v) for v in _as_list(values)]))


def float_list_feature(values: Iterable[float]) -> Any:
    """A Feature holding a list of float32s."""
    return Feature(float_list=FloatList(value=[float(v) for v in values]))


def to_feature(value: Any, key: str = "") -> Any:
    """A Feature from a Feature (unchanged) or plain values: bytes/str → bytes_list, ints/bools → int64_list,
    floats → float_list; numpy arrays by dtype. An empty list has no type and is rejected."""
    if isinstance(value, Feature):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biu":
            return int64_feature(value)
        if value.dtype.kind == "f":
            return float_feature(value)
        return bytes_feature(value.reshape(-1).tolist())
    values = _as_list(value)
    if not values:
        raise ValueError(
            f"Feature {key!r} is an empty list, whose type (bytes, int64 or float) is unknown; pass "
            "int64_feature([]), float_feature([]) or bytes_feature([])."
        )
    first = values[0]
    if isinstance(first, (bytes, str, bytearray, np.bytes_)):
        return bytes_feature(values)
    if isinstance(first, (bool, int, np.integer)):
        return int64_feature(values)
    if isinstance(first, (float, np.floating)):
        return float_feature(values)
    raise TypeError(
        f"Feature {key!r}: cannot store {type(first).__name__} values in a tf.train.Example; use bytes, str, int or "
        "float (or a Feature made with int64_feature / float_feature / bytes_feature)."
    )


def make_example(features: Mapping[str, Any]) -> Any:
    """A ``tf.train.Example`` from ``{key: Feature or plain values}`` (see :func:`to_feature`).

    ``.SerializeToString()`` on the result gives the record bytes.
    """
    example = Example()
    feature_map = example.features.feature
    for key, value in features.items():
        feature_map[key].CopyFrom(to_feature(value, key))
    return example


def feature_to_numpy(feature: Any) -> np.ndarray:
    """The values of one Feature as a 1-D numpy array: int64, float32, or object (bytes); an unset Feature → empty
    float32 (TensorFlow treats a Feature with no kind as an empty list)."""
    kind = feature.WhichOneof("kind")
    if kind == "int64_list":
        return np.array(feature.int64_list.value, dtype=np.int64)
    if kind == "float_list":
        return np.array(feature.float_list.value, dtype=np.float32)
    if kind == "bytes_list":
        values = feature.bytes_list.value
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
        return array
    return np.zeros(0, dtype=np.float32)


def parse_example(serialized: bytes) -> dict[str, np.ndarray]:
    """Parses a serialized ``tf.train.Example`` into ``{key: 1-D numpy array}`` (see :func:`feature_to_numpy`).

    Raises:
      ValueError: ``serialized`` is not a valid Example.
    """
    example = Example()
    try:
        example.ParseFromString(serialized)
    except Exception as error:  # protobuf's DecodeError; its type differs between backends
        raise ValueError(f"Not a serialized tf.train.Example ({len(serialized)} bytes): {error}") from error
    return {key: feature_to_numpy(feature) for key, feature in example.features.feature.items()}
