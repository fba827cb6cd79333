"""TF ``DataType`` numbers <-> numpy, and the byte layouts TF uses to store tensor values in checkpoints.

Numeric tensors are stored as their raw little-endian elements in row-major order. ``bfloat16`` (no numpy dtype)
is returned as ``float32``, which holds every bfloat16 value exactly. String tensors are returned as numpy object
arrays of ``bytes`` (what TF's own reader returns); in a V2 data file they are stored as
``varint64 length`` per element, the masked CRC-32C of those length bytes (4 bytes), then the elements' bytes.
V1 checkpoints store values in ``TensorProto`` messages, in the typed repeated field for the dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .crc import crc32c, crc32c_extend, mask
from .errors import CheckpointFormatError, DataLossError
from .protos import DataType, TensorProto
from .sstable import decode_varint, encode_varint

__all__ = [
    "DTypeInfo",
    "dtype_info",
    "dtype_info_for_array",
    "dtype_name",
    "decode_raw",
    "encode_raw",
    "decode_string_tensor",
    "encode_string_tensor",
    "tensor_proto_to_array",
]


@dataclass(frozen=True)
class DTypeInfo:
    """How one TF dtype is stored and returned.

    Attributes:
        enum: the ``DataType`` number (``DT_FLOAT`` = 1, ...).
        name: TF's name for it (``tf.DType.name``: ``"float32"``, ``"bfloat16"``, ``"string"``).
        storage: little-endian numpy dtype of one stored element; None for strings.
        proto_field: the ``TensorProto`` repeated field that holds values of this dtype.
    """

    enum: int
    name: str
    storage: np.dtype | None
    proto_field: str

    @property
    def numpy_dtype(self) -> np.dtype:
        """The dtype of the arrays :func:`decode_raw` returns (``float32`` for bfloat16, ``object`` for string)."""
        if self.storage is None:
            return np.dtype(object)
        return np.dtype(np.float32) if self.name == "bfloat16" else self.storage.newbyteorder("=")


def _info(enum_name: str, name: str, storage: str | None, proto_field: str) -> DTypeInfo:
    return DTypeInfo(DataType.Value(enum_name), name, None if storage is None else np.dtype(storage), proto_field)


_INFOS = [
    _info("DT_FLOAT", "float32", "<f4", "float_val"),
    _info("DT_DOUBLE", "float64", "<f8", "double_val"),
    _info("DT_HALF", "float16", "<f2", "half_val"),
    _info("DT_BFLOAT16", "bfloat16", "<u2", "half_val"),
    _info("DT_INT8", "int8", "i1", "int_val"),
    _info("DT_INT16", "int16", "<i2", "int_val"),
    _info("DT_INT32", "int32", "<i4", "int_val"),
    _info("DT_INT64", "int64", "<i8", "int64_val"),
    _info("DT_UINT8", "uint8", "u1", "int_val"),
    _info("DT_UINT16", "uint16", "<u2", "int_val"),
    _info("DT_UINT32", "uint32", "<u4", "uint32_val"),
    _info("DT_UINT64", "uint64", "<u8", "uint64_val"),
    _info("DT_BOOL", "bool", "?", "bool_val"),
    _info("DT_COMPLEX64", "complex64", "<c8", "scomplex_val"),
    _info("DT_COMPLEX128", "complex128", "<c16", "dcomplex_val"),
    _info("DT_STRING", "string", None, "string_val"),
    # Quantized types hold plain integers; they are returned as such.
    _info("DT_QINT8", "qint8", "i1", "int_val"),
    _info("DT_QUINT8", "quint8", "u1", "int_val"),
    _info("DT_QINT16", "qint16", "<i2", "int_val"),
    _info("DT_QUINT16", "quint16", "<u2", "int_val"),
    _info("DT_QINT32", "qint32", "<i4", "int_val"),
]
_BY_ENUM = {info.enum: info for info in _INFOS}
_BY_NAME = {info.name: info for info in _INFOS}
_SUPPORTED = ", ".join(info.name for info in _INFOS)
# numpy (kind, itemsize) -> the plain (non-quantized) TF dtype an array of it is written as.
_BY_KIND_SIZE = {
    (info.storage.kind, info.storage.itemsize): info
    for info in _INFOS
    if info.storage is not None and not info.name.startswith(("q", "bfloat"))
}


def dtype_info(enum: int, where: str) -> DTypeInfo:
    """The :class:`DTypeInfo` of a stored ``DataType`` number.

    Raises:
        CheckpointFormatError: the dtype is unknown or not supported (resource, variant, float8, int4, ...);
            ``where`` names the file and tensor.
    """
    info = _BY_ENUM.get(enum)
    if info is None:
        try:
            label = f"{DataType.Name(enum)} ({enum})"
        except ValueError:
            label = f"number {enum}, which TF's DataType enum does not define (corrupt or from a newer TF)"
        raise CheckpointFormatError(f"{where}: dtype {label} is not supported. Supported dtypes: {_SUPPORTED}.")
    return info


def dtype_name(enum: int) -> str:
    """TF's name of a ``DataType`` number (``"float32"``); for unsupported ones the enum name (``"variant"``)."""
    try:
        return dtype_info(enum, "").name
    except CheckpointFormatError:
        try:
            return DataType.Name(enum).removeprefix("DT_").lower()
        except ValueError:
            return f"unknown_dtype_{enum}"


def dtype_info_for_array(array: np.ndarray, where: str) -> DTypeInfo:
    """The dtype an array is written as: numpy's own, ``string`` for bytes/str arrays, ``bfloat16`` for ml_dtypes'.

    Raises:
        TypeError: the array's dtype has no TF equivalent (e.g. a non-string object array, datetime).
    """
    kind = array.dtype.kind
    if kind in "SU" or (kind == "O" and all(isinstance(v, (bytes, str)) for v in array.reshape(-1))):
        return _BY_NAME["string"]
    if array.dtype.name == "bfloat16":
        return _BY_NAME["bfloat16"]
    if kind in "biufc":
        info = _BY_KIND_SIZE.get((kind, array.dtype.itemsize))
        if info is not None:
            return info
    raise TypeError(
        f"{where}: numpy dtype {array.dtype} has no TF checkpoint equivalent. Convert it to one of: {_SUPPORTED}."
    )


def decode_raw(data: bytes, info: DTypeInfo, shape: Sequence[int], where: str) -> np.ndarray:
    """The array stored as raw little-endian elements in ``data`` (a V2 tensor, or a V1 ``tensor_content``)."""
    count = int(np.prod(shape, dtype=np.int64))
    assert info.storage is not None
    expected = count * info.storage.itemsize
    if len(data) != expected:
        raise CheckpointFormatError(
            f"{where}: holds {len(data)} bytes, but a {info.name} tensor of shape {list(shape)} needs {expected}."
        )
    array = np.frombuffer(data, dtype=info.storage, count=count).reshape(shape)
    if info.name == "bfloat16":  # bfloat16 is the upper half of a float32
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(info.numpy_dtype, copy=True)  # native byte order, writable


def encode_raw(array: np.ndarray, info: DTypeInfo) -> bytes:
    """The stored bytes of a numeric array (for bfloat16: any 2-byte array of the bit patterns, e.g. ``uint16``)."""
    assert info.storage is not None
    if info.name == "bfloat16":
        return np.ascontiguousarray(array.view(np.uint16), dtype="<u2").tobytes()
    return np.ascontiguousarray(array, dtype=info.storage).tobytes()


def _lengths_crc(lengths: Sequence[int]) -> int:
    # TF checksums each length as 4 little-endian bytes (not as the varint it stores).
    return crc32c(b"".join((n & 0xFFFFFFFF).to_bytes(4, "little") for n in lengths))


def decode_string_tensor(data: bytes, shape: Sequence[int], where: str) -> tuple[np.ndarray, int]:
    """Decodes a V2 string tensor: ``varint64`` lengths, a 4-byte checksum of the lengths, then the bytes.

    Returns:
        ``(values, checksum)``: an object array of ``bytes``, and the masked CRC-32C TF stores for the tensor in
        its index entry. TF's running CRC covers each length as 4 little-endian bytes, then the 4 stored checksum
        bytes, then the string bytes, so it differs from the CRC of the stored bytes.

    Raises:
        CheckpointFormatError: lengths and data disagree (truncated or corrupt).
        DataLossError: the checksum of the lengths does not match.
    """
    count = int(np.prod(shape, dtype=np.int64))
    lengths = []
    pos = 0
    for _ in range(count):
        length, pos = decode_varint(data, pos, len(data), f"{where} (string lengths)")
        lengths.append(length)
    if pos + 4 > len(data):
        raise CheckpointFormatError(f"{where}: string tensor ends before the checksum of its lengths (truncated).")
    running = _lengths_crc(lengths)
    if int.from_bytes(data[pos : pos + 4], "little") != mask(running):
        raise DataLossError(f"{where}: the lengths of the string tensor fail their checksum (corrupt file).")
    running = crc32c_extend(running, data[pos:])
    pos += 4
    if pos + sum(lengths) != len(data):
        raise CheckpointFormatError(
            f"{where}: string tensor holds {len(data) - pos} bytes of strings, its lengths add up to {sum(lengths)}."
        )
    values = np.empty(count, dtype=object)
    for i, length in enumerate(lengths):
        values[i] = data[pos : pos + length]
        pos += length
    return values.reshape(shape), mask(running)


def encode_string_tensor(array: np.ndarray) -> tuple[bytes, int]:
    """The V2 storage of a string array (``str`` elements as UTF-8) and its masked CRC-32C for the index entry."""
    values = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in array.reshape(-1).tolist()]
    running = _lengths_crc([len(v) for v in values])
    lengths_checksum = mask(running).to_bytes(4, "little")
    strings = b"".join(values)
    data = b"".join(encode_varint(len(v)) for v in values) + lengths_checksum + strings
    return data, mask(crc32c_extend(running, lengths_checksum + strings))


def _typed_values(proto: TensorProto, info: DTypeInfo) -> np.ndarray:
    values = getattr(proto, info.proto_field)
    if info.name == "string":
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
        return array
    if info.name in ("float16", "bfloat16"):  # half_val holds the 16-bit patterns in int32s
        bits = np.asarray(values, dtype=np.int64).astype(np.uint16)
        return bits.view(np.float16) if info.name == "float16" else (bits.astype(np.uint32) << 16).view(np.float32)
    if info.name in ("complex64", "complex128"):  # real and imaginary parts interleaved
        flat = np.asarray(values, dtype=np.float32 if info.name == "complex64" else np.float64)
        return flat[0::2] + 1j * flat[1::2]
    return np.asarray(values, dtype=info.numpy_dtype)


def tensor_proto_to_array(proto: TensorProto, info: DTypeInfo, shape: Sequence[int], where: str) -> np.ndarray:
    """The array a V1 ``TensorProto`` holds (``tensor_content`` if set, else the typed field for the dtype).

    Raises:
        CheckpointFormatError: the proto's dtype disagrees with the checkpoint's metadata, or it holds the wrong
            number of values.
    """
    if proto.dtype not in (0, info.enum):
        raise CheckpointFormatError(
            f"{where}: stored values have dtype {DataType.Name(proto.dtype)}, the metadata says {info.name}."
        )
    if proto.tensor_content and info.storage is not None:
        return decode_raw(proto.tensor_content, info, shape, where)
    count = int(np.prod(shape, dtype=np.int64))
    values = _typed_values(proto, info)
    if values.size != count:
        raise CheckpointFormatError(
            f"{where}: holds {values.size} values in TensorProto.{info.proto_field}, but its shape {list(shape)} "
            f"needs {count}."
        )
    return values.astype(info.numpy_dtype, copy=False).reshape(shape)
