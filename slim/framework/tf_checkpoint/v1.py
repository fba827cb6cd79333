"""TF's V1 checkpoint format: one SSTable file (or several shards) of ``SavedTensorSlices`` records.

This is the format of the 2016-2017 TF-Slim model-zoo tarballs (``inception_v3.ckpt``, ``vgg_16.ckpt``, ...).
Under key ``""`` the table holds the metadata: for every tensor its name, dtype, shape and the slices stored. Each
slice's values are a ``SavedSlice`` (name, slice, ``TensorProto``) under the slice's ordered-code key (see
:mod:`.slices`). Published checkpoints store one slice covering each whole tensor; partitioned variables have
several. A sharded V1 save (``model.ckpt-00000-of-00002`` ...) spreads tensors or slices over several files.

V1 stores no per-tensor checksum; the SSTable blocks' checksums are verified instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .dtypes import dtype_info, dtype_name, tensor_proto_to_array
from .errors import CheckpointFormatError, DataLossError
from .protos import SavedTensorSlices
from .slices import Extents, SliceAssembler, encode_tensor_name_slice, extents_of
from .sstable import TableReader

__all__ = ["TensorSliceReader"]


def _parse_record(value: bytes, where: str) -> SavedTensorSlices:
    record = SavedTensorSlices()
    try:
        record.ParseFromString(value)
    except Exception as error:  # protobuf's DecodeError
        raise CheckpointFormatError(f"{where}: record does not parse as SavedTensorSlices: {error}") from None
    return record


class TensorSliceReader:
    """Reads a V1 checkpoint made of one or more files (shards).

    Args:
        files: the checkpoint file, or all of its shards.
        path: how the checkpoint was named (for messages and :attr:`path`).

    Raises:
        CheckpointFormatError: a file is not an SSTable, has no metadata record, or its shards disagree about a
            tensor's shape or dtype.
        DataLossError: the metadata's block fails its checksum.
    """

    format = "V1"

    def __init__(self, files: Sequence[str], path: str | None = None):
        if not files:
            raise ValueError("TensorSliceReader needs at least one file.")
        self.files = [os.fspath(f) for f in files]
        self.path = path if path is not None else self.files[0]
        self._tables = [TableReader(f, "V1 checkpoint") for f in self.files]
        # name -> (dtype number, shape, [(table index, extents)])
        self._tensors: dict[str, tuple[int, tuple[int, ...], list[tuple[int, Extents]]]] = {}
        for table_index, table in enumerate(self._tables):
            where = f"V1 checkpoint {table.path}"
            value = table.get(b"")
            if value is None:
                raise CheckpointFormatError(
                    f"{where} is an SSTable without the V1 metadata record (key ''): not a V1 checkpoint."
                )
            record = _parse_record(value, f"{where} (metadata)")
            if not record.HasField("meta"):
                raise CheckpointFormatError(f"{where}: the record under key '' holds no metadata: not a V1 checkpoint.")
            for meta in record.meta.tensor:
                if meta.shape.unknown_rank or any(d.size < 0 for d in meta.shape.dim):
                    raise CheckpointFormatError(f"{where}: tensor {meta.name} has an undefined shape ({meta.shape}).")
                shape = tuple(d.size for d in meta.shape.dim)
                slices = [(table_index, extents_of(s)) for s in meta.slice]
                if meta.name in self._tensors:
                    dtype, known_shape, known_slices = self._tensors[meta.name]
                    if (dtype, known_shape) != (meta.type, shape):
                        raise CheckpointFormatError(
                            f"{where}: tensor {meta.name} is {dtype_name(meta.type)} {list(shape)} here but "
                            f"{dtype_name(dtype)} {list(known_shape)} in {self.files[known_slices[0][0]]}."
                        )
                    known_slices.extend(slices)
                else:
                    self._tensors[meta.name] = (meta.type, shape, slices)

    def names(self) -> list[str]:
        """Tensor names, sorted."""
        return sorted(self._tensors)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensors[name][1]

    def dtype_name(self, name: str) -> str:
        return dtype_name(self._tensors[name][0])

    def get_tensor(self, name: str) -> np.ndarray:
        """The value of tensor ``name`` (must be one of :meth:`names`), assembled from its slices.

        Raises:
            CheckpointFormatError: unsupported dtype, a slice record missing or malformed, slices not covering the
                tensor.
            DataLossError: a block holding the tensor fails its checksum (the message names the tensor).
        """
        dtype, shape, slices = self._tensors[name]
        info = dtype_info(dtype, f"V1 checkpoint {self.path}: tensor {name}")
        assembler = SliceAssembler(name, shape, info.numpy_dtype, f"V1 checkpoint {self.path}")
        for table_index, extents in slices:
            table = self._tables[table_index]
            where = f"V1 checkpoint {table.path}: tensor {name} (slice {list(extents)})"
            _, slice_shape = assembler.region(extents)
            try:
                value = table.get(encode_tensor_name_slice(name, extents))
            except DataLossError as error:
                raise DataLossError(f"While reading tensor {name}: {error}") from None
            if value is None:
                raise CheckpointFormatError(f"{where}: listed in the metadata but not stored (corrupt file).")
            saved = _parse_record(value, where).data
            if saved.name != name:
                raise CheckpointFormatError(f"{where}: the stored record is named {saved.name!r} (corrupt file).")
            values = tensor_proto_to_array(saved.data, info, slice_shape, where)
            if len(slices) == 1 and slice_shape == shape:
                return values  # one slice holding the whole tensor: the common case, no copy
            assembler.add(extents, values)
        return assembler.finish()
