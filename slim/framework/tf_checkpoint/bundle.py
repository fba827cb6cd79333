"""TF's V2 checkpoint format ("tensor bundle"): ``<prefix>.index`` plus ``<prefix>.data-NNNNN-of-MMMMM`` shards.

The index is an SSTable (see :mod:`.sstable`). Under key ``""`` it holds a ``BundleHeaderProto`` (number of data
shards, byte order, format version); under each tensor name a ``BundleEntryProto`` saying where the tensor's bytes
lie (shard, offset, size), its dtype and shape, and the masked CRC-32C of those bytes. A tensor saved as slices
(a partitioned variable) has an entry that lists its slices and no data; each slice has its own entry under its
ordered-code slice key (see :mod:`.slices`).

:class:`BundleReader` reads any tensor, verifying its checksum; :func:`write_v2_checkpoint` writes a single-shard
checkpoint that TF's ``tf.train.load_checkpoint`` and ``Saver.restore`` read.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import state
from .crc import masked_crc32c
from .dtypes import (
    DTypeInfo,
    decode_raw,
    decode_string_tensor,
    dtype_info,
    dtype_info_for_array,
    dtype_name,
    encode_raw,
    encode_string_tensor,
)
from .errors import CheckpointFormatError, CheckpointNotFoundError, DataLossError
from .protos import BundleEntryProto, BundleHeaderProto, DataType, TensorShapeProto
from .slices import SliceAssembler, encode_tensor_name_slice, extents_of
from .sstable import TableReader, build_table

__all__ = ["BundleReader", "write_v2_checkpoint", "data_file_name"]

_FORMAT_VERSION = 1  # the tensor-bundle format version TF writes and this reader understands
_SLICE_KEY_TAG = b"\x00"  # slice keys start with ordered_code num(0)


def data_file_name(prefix: str, shard_id: int, num_shards: int) -> str:
    """``<prefix>.data-<shard_id>-of-<num_shards>``, both numbers zero-padded to 5 digits, as TF names them."""
    return f"{prefix}.data-{shard_id:05d}-of-{num_shards:05d}"


def _shape_of(proto: TensorShapeProto, where: str) -> tuple[int, ...]:
    if proto.unknown_rank or any(d.size < 0 for d in proto.dim):
        raise CheckpointFormatError(f"{where}: stored shape is not fully defined ({proto}).")
    return tuple(d.size for d in proto.dim)


class BundleReader:
    """Reads a V2 checkpoint given its prefix (the path without ``.index``).

    The whole index is read when the reader is made (it is small: one record per tensor); tensors are read from the
    data shards on request.

    Raises:
        CheckpointNotFoundError: the index or a data shard it names is missing.
        CheckpointFormatError: the index is malformed (bad magic, truncated, no header, big-endian, newer version).
        DataLossError: an index block fails its checksum.
    """

    format = "V2"

    def __init__(self, prefix: str | os.PathLike):
        self.prefix = os.fspath(prefix)
        self.index_path = self.prefix + ".index"
        if not os.path.isfile(self.index_path):
            raise CheckpointNotFoundError(f"V2 checkpoint index {self.index_path} does not exist.")
        table = TableReader(self.index_path, "V2 checkpoint index")
        where = f"V2 checkpoint index {self.index_path}"
        header = None
        self._entries: dict[str, Any] = {}
        self._slice_entries: dict[bytes, Any] = {}
        for key, value in table.items():
            record = BundleHeaderProto() if key == b"" else BundleEntryProto()
            try:
                record.ParseFromString(value)
            except Exception as error:  # protobuf's DecodeError
                raise CheckpointFormatError(f"{where}: the record under key {key!r} does not parse: {error}") from None
            if key == b"":
                header = record
            elif key.startswith(_SLICE_KEY_TAG):
                self._slice_entries[key] = record
            else:
                self._entries[key.decode("utf-8", errors="replace")] = record
        if header is None:
            raise CheckpointFormatError(
                f"{where} has no header record (key ''): it is an SSTable but not a V2 checkpoint index."
            )
        if header.endianness != BundleHeaderProto.LITTLE:
            raise CheckpointFormatError(
                f"{where} was written on a big-endian machine; only little-endian checkpoints are supported."
            )
        if header.version.min_consumer > _FORMAT_VERSION or _FORMAT_VERSION in header.version.bad_consumers:
            raise CheckpointFormatError(
                f"{where} needs a reader of tensor-bundle format version >= {header.version.min_consumer}; this "
                f"reader implements version {_FORMAT_VERSION}. Re-save the checkpoint with an older TF."
            )
        self.num_shards = header.num_shards
        if self._entries and self.num_shards < 1:
            raise CheckpointFormatError(f"{where}: header says {self.num_shards} data shards (corrupt).")
        self.data_paths = [data_file_name(self.prefix, i, self.num_shards) for i in range(self.num_shards)]
        missing = [p for p in self.data_paths if not os.path.isfile(p)]
        if missing:
            raise CheckpointNotFoundError(
                f"V2 checkpoint {self.prefix}: data shard(s) {', '.join(missing)} missing (the index names "
                f"{self.num_shards}). Copy every file of the checkpoint: {self.prefix}.index and all "
                f"{self.prefix}.data-*-of-{self.num_shards:05d}."
            )
        self._shapes = {name: _shape_of(e.shape, f"{where}: tensor {name}") for name, e in self._entries.items()}

    def names(self) -> list[str]:
        """Tensor names, sorted."""
        return sorted(self._entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._shapes[name]

    def dtype_name(self, name: str) -> str:
        return dtype_name(self._entries[name].dtype)

    def get_tensor(self, name: str) -> np.ndarray:
        """The value of tensor ``name`` (must be one of :meth:`names`), its checksum verified.

        Raises:
            CheckpointFormatError: unsupported dtype, truncated data file, inconsistent sizes, missing slices.
            DataLossError: the stored bytes fail their CRC-32C check.
        """
        entry = self._entries[name]
        shape = self._shapes[name]
        info = dtype_info(entry.dtype, f"V2 checkpoint {self.prefix}: tensor {name}")
        if not entry.slices:
            return self._read_entry(name, entry, info, shape)
        assembler = SliceAssembler(name, shape, info.numpy_dtype, f"V2 checkpoint {self.prefix}")
        for slice_proto in entry.slices:
            extents = extents_of(slice_proto)
            _, slice_shape = assembler.region(extents)
            label = f"{name} (slice {list(extents)})"
            slice_entry = self._slice_entries.get(encode_tensor_name_slice(name, extents))
            if slice_entry is None:
                raise CheckpointFormatError(
                    f"V2 checkpoint index {self.index_path}: tensor {label} is listed but has no record (corrupt)."
                )
            stored_shape = _shape_of(slice_entry.shape, f"V2 checkpoint index {self.index_path}: tensor {label}")
            if stored_shape != slice_shape:
                raise CheckpointFormatError(
                    f"V2 checkpoint index {self.index_path}: tensor {label} is stored with shape "
                    f"{list(stored_shape)}, expected {list(slice_shape)}."
                )
            assembler.add(extents, self._read_entry(label, slice_entry, info, slice_shape))
        return assembler.finish()

    def _read_entry(self, label: str, entry: Any, info: DTypeInfo, shape: tuple[int, ...]) -> np.ndarray:
        if not 0 <= entry.shard_id < self.num_shards:
            raise CheckpointFormatError(
                f"V2 checkpoint index {self.index_path}: tensor {label} is in shard {entry.shard_id}, but there are "
                f"{self.num_shards} shards (corrupt)."
            )
        path = self.data_paths[entry.shard_id]
        file_size = os.path.getsize(path)
        if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > file_size:
            raise CheckpointFormatError(
                f"V2 checkpoint data file {path} is {file_size} bytes, but tensor {label} lies at bytes "
                f"{entry.offset}..{entry.offset + entry.size}: the file is truncated (an interrupted copy?)."
            )
        with open(path, "rb") as handle:
            handle.seek(entry.offset)
            data = handle.read(entry.size)
        where = f"V2 checkpoint data file {path}: tensor {label}"
        if info.storage is None:
            values, computed = decode_string_tensor(data, shape, where)
        else:
            values, computed = None, masked_crc32c(data)
        if computed != entry.crc32c:
            raise DataLossError(
                f"V2 checkpoint data file {path}: tensor {label} fails its CRC-32C check (stored 0x{entry.crc32c:08x}, "
                f"computed 0x{computed:08x}): the file is corrupt. Re-download or re-copy the checkpoint."
            )
        return values if values is not None else decode_raw(data, info, shape, where)


def _as_array(value: Any, name: str) -> tuple[np.ndarray, DTypeInfo]:
    """A value to write as ``(array, dtype info)``; bfloat16 values become arrays of their 16-bit patterns."""
    where = f"write_v2_checkpoint: tensor {name}"
    if hasattr(value, "detach") and hasattr(value, "dtype"):  # a torch.Tensor (torch is not imported here)
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            # bfloat16 -> float32 is exact, so the upper 16 bits of the float32 are the bfloat16 bit pattern.
            bits = (np.ascontiguousarray(value.float().numpy()).view(np.uint32) >> 16).astype(np.uint16)
            return bits, dtype_info(DataType.Value("DT_BFLOAT16"), where)
        value = value.numpy()
    array = np.asarray(value)
    return array, dtype_info_for_array(array, where)


def _create_temporary(final_path: str) -> tuple[int, str]:
    """Opens a new file next to ``final_path`` for writing (created with the umask's permissions, unlike mkstemp)."""
    directory, base = os.path.split(final_path)
    while True:
        path = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), path
        except FileExistsError:
            continue


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the renames are still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_v2_checkpoint(
    prefix: str | os.PathLike,
    tensors: Mapping[str, Any],
    *,
    write_checkpoint_state: bool = False,
    block_size: int = 262144,
    restart_interval: int = 16,
) -> str:
    """Writes ``tensors`` as a V2 checkpoint ``<prefix>.index`` + ``<prefix>.data-00000-of-00001``.

    TF reads the result with ``tf.train.load_checkpoint(prefix)`` and restores it into variables of the same names
    with ``tf.compat.v1.train.Saver().restore(sess, prefix)``. Values are written as given, in TF's layout: no name
    or layout conversion happens here.

    Both files are written under temporary names, flushed to disk and renamed into place (data first, then the
    index that names it), so a crash never leaves a half-written checkpoint under ``prefix``.

    Example:
        >>> write_v2_checkpoint("/tmp/run/model.ckpt-100", {"global_step": np.int64(100), "w": np.ones((3, 3))})
        '/tmp/run/model.ckpt-100'

    Args:
        prefix: checkpoint prefix; its directory is created if needed.
        tensors: ``{name: value}``. A value may be a numpy array or scalar, anything ``np.asarray`` accepts, or a
            ``torch.Tensor`` (``torch.bfloat16`` is written as TF's bfloat16; so is an ``ml_dtypes.bfloat16`` array).
            Arrays of ``bytes``/``str`` (numpy ``S``/``U`` or object) become string tensors, ``str`` as UTF-8.
        write_checkpoint_state: also point the directory's ``checkpoint`` file at this checkpoint (as TF's Saver
            does), keeping the older entries it lists that still exist.
        block_size: approximate size of the index's data blocks (TF's default, 256 KiB).
        restart_interval: how often the index stores a full key (TF's default, 16).

    Returns:
        The prefix, as a string.

    Raises:
        TypeError: a value's dtype has no TF equivalent.
        ValueError: a name is empty or starts with a NUL byte (reserved for slice keys).
    """
    prefix = os.fspath(prefix)
    if not prefix or prefix.endswith(("/", os.sep)):
        raise ValueError(f"write_v2_checkpoint: prefix must name a file prefix such as dir/model.ckpt, got {prefix!r}.")
    prepared = []
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name.startswith("\x00"):
            raise ValueError(
                f"write_v2_checkpoint: tensor names must be non-empty strings not starting with NUL, got {name!r}."
            )
        prepared.append((name.encode("utf-8"), name, *_as_array(value, name)))
    prepared.sort(key=lambda item: item[0])

    directory = os.path.dirname(prefix) or "."
    os.makedirs(directory, exist_ok=True)
    data_path = data_file_name(prefix, 0, 1)
    index_path = prefix + ".index"
    temporaries = []
    try:
        entries = []
        fd, data_tmp = _create_temporary(data_path)
        temporaries.append(data_tmp)
        with os.fdopen(fd, "wb") as handle:
            offset = 0
            for key, _, array, info in prepared:
                if info.storage is None:
                    data, checksum = encode_string_tensor(array)
                else:
                    data = encode_raw(array, info)
                    checksum = masked_crc32c(data)
                entry = BundleEntryProto(dtype=info.enum, shard_id=0, offset=offset, size=len(data), crc32c=checksum)
                for dim in array.shape:
                    entry.shape.dim.add(size=dim)
                entries.append((key, entry.SerializeToString()))
                handle.write(data)
                offset += len(data)
            handle.flush()
            os.fsync(handle.fileno())

        header = BundleHeaderProto(num_shards=1, endianness=BundleHeaderProto.LITTLE)
        header.version.producer = _FORMAT_VERSION
        table = build_table(
            [(b"", header.SerializeToString()), *entries], block_size=block_size, restart_interval=restart_interval
        )
        fd, index_tmp = _create_temporary(index_path)
        temporaries.append(index_tmp)
        with os.fdopen(fd, "wb") as handle:
            handle.write(table)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(data_tmp, data_path)
        os.replace(index_tmp, index_path)
        temporaries.clear()
        _fsync_directory(directory)
    finally:
        for path in temporaries:
            if os.path.exists(path):
                os.unlink(path)
    if write_checkpoint_state:
        state.update_checkpoint_state(directory, prefix)
    return prefix
