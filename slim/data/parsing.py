"""Feature descriptors and ``parse_single_example`` with TensorFlow's semantics, on numpy arrays.

``FixedLenFeature``, ``VarLenFeature`` and ``FixedLenSequenceFeature`` describe how one key of a ``tf.train.Example``
is parsed, exactly as their ``tf.io`` namesakes do: fixed-length features have a shape and an optional default for
missing keys; var-length features become sparse values; fixed-length sequence features stack a variable number of
fixed-shape rows. Dtypes are ``"int64"``, ``"float32"`` or ``"string"`` (``torch.int64``, ``torch.float32``, numpy
dtypes, ``bytes`` and ``str`` are accepted too); strings come back as ``bytes``.

Parsed values are numpy arrays (``object`` arrays of bytes for strings, except that a scalar string is a plain
``bytes``), sparse values are :class:`SparseTensorValue`; the handlers of :mod:`slim.data.tfexample_decoder` turn them
into torch tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from slim.data import example as example_lib

__all__ = [
    "FixedLenFeature",
    "VarLenFeature",
    "FixedLenSequenceFeature",
    "SparseTensorValue",
    "normalize_dtype",
    "parse_single_example",
]

_DTYPE_NAMES = {
    "int64": "int64",
    "float32": "float32",
    "float": "float32",
    "string": "string",
    "bytes": "string",
    "str": "string",
}
_KIND_FOR_DTYPE = {"int64": "int64_list", "float32": "float_list", "string": "bytes_list"}
_NUMPY_DTYPE = {"int64": np.int64, "float32": np.float32, "string": object}


def normalize_dtype(dtype: Any, where: str = "") -> str:
    """``"int64"``, ``"float32"`` or ``"string"`` for any accepted spelling of a feature dtype.

    Raises:
      ValueError: ``dtype`` is not one of the three types a ``tf.train.Example`` can hold.
    """
    if dtype is torch.int64 or dtype is np.int64:
        return "int64"
    if dtype is torch.float32 or dtype is np.float32:
        return "float32"
    if dtype is bytes or dtype is str:
        return "string"
    if isinstance(dtype, np.dtype):
        dtype = dtype.name
    name = getattr(dtype, "name", dtype)
    if isinstance(name, str) and name.lower() in _DTYPE_NAMES:
        return _DTYPE_NAMES[name.lower()]
    place = f" for {where}" if where else ""
    raise ValueError(
        f"Unsupported feature dtype {dtype!r}{place}: a tf.train.Example holds only int64, float32 or string "
        "(pass 'int64', 'float32' or 'string', or torch.int64 / torch.float32)."
    )


def _shape_tuple(shape: Any) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


class FixedLenFeature(NamedTuple):
    """A feature with a fixed number of values (``tf.io.FixedLenFeature``).

    Attributes:
      shape: The shape of the parsed value; the Example must hold exactly ``prod(shape)`` values.
      dtype: ``"int64"``, ``"float32"`` or ``"string"``.
      default_value: Used when the key is missing (a scalar is broadcast to ``shape``); None makes the key required.
    """

    shape: Sequence[int]
    dtype: Any
    default_value: Any = None


class VarLenFeature(NamedTuple):
    """A feature with any number of values, parsed into a :class:`SparseTensorValue` (``tf.io.VarLenFeature``)."""

    dtype: Any


class FixedLenSequenceFeature(NamedTuple):
    """Rows of a fixed shape, any number of them: parsed to ``[num_rows, *shape]`` (``tf.io.FixedLenSequenceFeature``).

    In a ``tf.train.Example`` this needs ``allow_missing=True`` (as in TensorFlow); a missing key gives zero rows.
    ``default_value`` pads rows when batching in TensorFlow; a single example needs no padding, so it is unused here.
    """

    shape: Sequence[int]
    dtype: Any
    allow_missing: bool = False
    default_value: Any = None


class SparseTensorValue(NamedTuple):
    """A sparse value as TensorFlow's ``tf.compat.v1.SparseTensorValue``: ``indices`` ``[N, rank]`` int64, ``values``
    ``[N]`` and ``dense_shape`` ``[rank]`` int64, all numpy arrays."""

    indices: np.ndarray
    values: np.ndarray
    dense_shape: np.ndarray


def _values(feature: Any, kind: str, dtype: str, key: str) -> np.ndarray:
    present = feature.WhichOneof("kind")
    if present is not None and present != kind:
        raise ValueError(
            f"Key: {key}. Data types don't match: the Example stores {present[: -len('_list')]} values but the "
            f"feature spec expects {dtype}; fix the dtype in keys_to_features."
        )
    if dtype == "string":
        values = feature.bytes_list.value
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
        return array
    container = feature.int64_list.value if dtype == "int64" else feature.float_list.value
    return np.array(container, dtype=_NUMPY_DTYPE[dtype])


def _dense_default(spec: FixedLenFeature, dtype: str, shape: tuple[int, ...], key: str) -> Any:
    size = math.prod(shape)
    default = spec.default_value
    if isinstance(default, torch.Tensor):
        default = default.numpy()
    if dtype == "string":
        if isinstance(default, (bytes, str)):
            default = [default]
        items = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in np.asarray(default, object).ravel()]
        array = np.empty(len(items), dtype=object)
        array[:] = items
    else:
        array = np.asarray(default, dtype=_NUMPY_DTYPE[dtype]).reshape(-1)
    if array.size == 1 and size != 1:
        array = np.repeat(array, size)
    if array.size != size:
        raise ValueError(
            f"Key: {key}. default_value has {array.size} values but the feature shape {list(shape)} needs {size}."
        )
    return _shape_dense(array, shape, dtype)


def _shape_dense(array: np.ndarray, shape: tuple[int, ...], dtype: str) -> Any:
    if dtype == "string" and shape == ():
        return array[0]
    return array.reshape(shape)


def parse_single_example(serialized: bytes | Any, features: Mapping[str, Any]) -> dict[str, Any]:
    """Parses one serialized ``tf.train.Example`` (or an Example proto) with ``tf.io.parse_single_example`` semantics.

    Args:
      serialized: The record bytes, or an already parsed ``Example``.
      features: ``{key: FixedLenFeature | VarLenFeature | FixedLenSequenceFeature}``.

    Returns:
      ``{key: value}``: numpy arrays for fixed-length features (``bytes`` for a scalar string), and
      :class:`SparseTensorValue` for var-length ones.

    Raises:
      ValueError: the record is not an Example, a required key is missing, a value count does not match the shape,
        or a dtype does not match; the message names the key.
    """
    if isinstance(serialized, (bytes, bytearray, memoryview)):
        example = example_lib.Example()
        try:
            example.ParseFromString(bytes(serialized))
        except Exception as error:  # protobuf's DecodeError differs between backends
            raise ValueError(f"Could not parse a tf.train.Example from {len(serialized)} bytes: {error}") from error
    else:
        example = serialized
    feature_map = example.features.feature
    parsed: dict[str, Any] = {}
    for key, spec in features.items():
        present = key in feature_map
        feature = feature_map[key] if present else None
        if isinstance(spec, VarLenFeature):
            dtype = normalize_dtype(spec.dtype, f"feature {key!r}")
            values = (
                _values(feature, _KIND_FOR_DTYPE[dtype], dtype, key)
                if present
                else np.zeros(0, dtype=_NUMPY_DTYPE[dtype])
            )
            count = len(values)
            parsed[key] = SparseTensorValue(
                np.arange(count, dtype=np.int64).reshape(count, 1), values, np.array([count], dtype=np.int64)
            )
        elif isinstance(spec, FixedLenFeature):
            dtype = normalize_dtype(spec.dtype, f"feature {key!r}")
            shape = _shape_tuple(spec.shape)
            if not present:
                if spec.default_value is None:
                    raise ValueError(
                        f"Feature: {key} (data type: {dtype}) is required but could not be found in the Example; "
                        "give its FixedLenFeature a default_value, or check the key's spelling."
                    )
                parsed[key] = _dense_default(spec, dtype, shape, key)
                continue
            values = _values(feature, _KIND_FOR_DTYPE[dtype], dtype, key)
            size = math.prod(shape)
            if len(values) != size:
                raise ValueError(
                    f"Key: {key}. Can't parse serialized Example: expected {size} values for shape {list(shape)}, "
                    f"got {len(values)}; fix the FixedLenFeature shape (or use VarLenFeature for variable lengths)."
                )
            parsed[key] = _shape_dense(values, shape, dtype)
        elif isinstance(spec, FixedLenSequenceFeature):
            dtype = normalize_dtype(spec.dtype, f"feature {key!r}")
            shape = _shape_tuple(spec.shape)
            if not spec.allow_missing:
                raise ValueError(
                    f"Feature {key!r}: FixedLenSequenceFeature in a tf.train.Example requires allow_missing=True "
                    "(as in TensorFlow)."
                )
            row = math.prod(shape)
            values = (
                _values(feature, _KIND_FOR_DTYPE[dtype], dtype, key)
                if present
                else np.zeros(0, dtype=_NUMPY_DTYPE[dtype])
            )
            if row == 0 or len(values) % row:
                raise ValueError(
                    f"Key: {key}. Number of values {len(values)} is not a multiple of the row size {row} of shape "
                    f"{list(shape)}; fix the FixedLenSequenceFeature shape."
                )
            parsed[key] = values.reshape((len(values) // row, *shape))
        else:
            raise TypeError(
                f"keys_to_features[{key!r}] is a {type(spec).__name__}; use FixedLenFeature, VarLenFeature or "
                "FixedLenSequenceFeature."
            )
    return parsed
