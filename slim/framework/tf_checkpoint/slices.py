"""Tensor slices: the keys TF stores them under, and putting a tensor back together from its slices.

A tensor may be saved in pieces: every tensor of a V1 checkpoint is stored as one or more slices, and a partitioned
variable (``tf.compat.v1.fixed_size_partitioner``) is saved as one slice per partition in both formats. A slice is a
``TensorSliceProto``: one ``(start, length)`` extent per dimension, where an extent without a length covers the
whole dimension (and a slice without extents covers the whole tensor). Each slice's values are stored under the key

    ordered_code: num(0) . string(name) . num(number of extents) . (signed(start) . signed(length)) per extent

with ``length = -1`` for a whole dimension, so all slices of a tensor sort together after a ``00`` byte.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import ordered_code
from .errors import CheckpointFormatError
from .protos import TensorSliceProto

__all__ = [
    "Extents",
    "extents_of",
    "encode_tensor_name_slice",
    "decode_tensor_name_slice",
    "slice_region",
    "SliceAssembler",
]

Extents = tuple[tuple[int, int], ...]
"""``((start, length), ...)`` per dimension; ``length == -1`` means the whole dimension."""

_FULL = -1


def extents_of(proto: TensorSliceProto) -> Extents:
    """The extents of a ``TensorSliceProto`` (an extent without a length becomes ``(0, -1)``)."""
    return tuple((e.start, e.length) if e.HasField("length") else (0, _FULL) for e in proto.extent)


def encode_tensor_name_slice(name: str, extents: Extents) -> bytes:
    """The SSTable key TF stores one slice of tensor ``name`` under."""
    key = bytearray(ordered_code.write_num_increasing(0))
    key += ordered_code.write_string(name.encode("utf-8"))
    key += ordered_code.write_num_increasing(len(extents))
    for start, length in extents:
        key += ordered_code.write_signed_num_increasing(start)
        key += ordered_code.write_signed_num_increasing(length)
    return bytes(key)


def decode_tensor_name_slice(key: bytes) -> tuple[str, Extents]:
    """Inverse of :func:`encode_tensor_name_slice`.

    Raises:
        ValueError: ``key`` is not a slice key.
    """
    tag, pos = ordered_code.read_num_increasing(key, 0)
    if tag != 0:
        raise ValueError(f"decode_tensor_name_slice: {key!r} does not start with the slice tag 0.")
    name, pos = ordered_code.read_string(key, pos)
    rank, pos = ordered_code.read_num_increasing(key, pos)
    extents = []
    for _ in range(rank):
        start, pos = ordered_code.read_signed_num_increasing(key, pos)
        length, pos = ordered_code.read_signed_num_increasing(key, pos)
        extents.append((start, length))
    if pos != len(key):
        raise ValueError(f"decode_tensor_name_slice: {len(key) - pos} stray bytes at the end of {key!r}.")
    return name.decode("utf-8"), tuple(extents)


def slice_region(extents: Extents, shape: Sequence[int], where: str) -> tuple[tuple[slice, ...], tuple[int, ...]]:
    """The numpy index of a slice within the full tensor, and the slice's own shape.

    Raises:
        CheckpointFormatError: the slice's rank differs from the tensor's, or it reaches outside the tensor.
    """
    if not extents:  # no extents: the whole tensor, whatever its rank
        return tuple(slice(0, d) for d in shape), tuple(shape)
    if len(extents) != len(shape):
        raise CheckpointFormatError(
            f"{where}: a slice with {len(extents)} extents {list(extents)} does not fit a tensor of shape "
            f"{list(shape)}."
        )
    index = []
    for (start, length), dim in zip(extents, shape):
        if length == _FULL:
            start, length = 0, dim
        if start < 0 or length < 0 or start + length > dim:
            raise CheckpointFormatError(
                f"{where}: slice {list(extents)} reaches outside the tensor's shape {list(shape)} (corrupt metadata)."
            )
        index.append(slice(start, start + length))
    return tuple(index), tuple(s.stop - s.start for s in index)


class SliceAssembler:
    """Copies slices into a full tensor and checks that together they cover all of it.

    Args:
        name: tensor name, for messages.
        shape: full tensor shape.
        dtype: numpy dtype of the result.
        where: the checkpoint file, for messages.
    """

    def __init__(self, name: str, shape: Sequence[int], dtype: np.dtype, where: str):
        self.name = name
        self.shape = tuple(shape)
        self.where = where
        if np.dtype(dtype).kind == "O":  # strings
            self.result = np.full(self.shape, b"", dtype=object)
        else:
            self.result = np.zeros(self.shape, dtype=dtype)
        self._covered = np.zeros(self.shape, dtype=bool)

    def region(self, extents: Extents) -> tuple[tuple[slice, ...], tuple[int, ...]]:
        """Index and shape of one slice of this tensor (see :func:`slice_region`)."""
        return slice_region(extents, self.shape, f"{self.where}: tensor {self.name}")

    def add(self, extents: Extents, values: np.ndarray) -> None:
        """Places the values of one slice."""
        index, shape = self.region(extents)
        if values.shape != shape:
            raise CheckpointFormatError(
                f"{self.where}: slice {list(extents)} of tensor {self.name} holds shape {list(values.shape)}, "
                f"expected {list(shape)}."
            )
        self.result[index] = values
        self._covered[index] = True

    def finish(self) -> np.ndarray:
        """The assembled tensor.

        Raises:
            CheckpointFormatError: some elements are in no stored slice.
        """
        if not self._covered.all():
            missing = int(self._covered.size - self._covered.sum())
            raise CheckpointFormatError(
                f"{self.where}: the stored slices of tensor {self.name} (shape {list(self.shape)}) leave {missing} "
                "elements uncovered: a shard of the checkpoint is missing or its metadata is corrupt."
            )
        return self.result
