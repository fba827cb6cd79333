"""TFRecord files without TensorFlow: an atomic writer, a CRC-checked reader and a record-offset index.

A TFRecord file is a sequence of records, each framed as::

    uint64 length            (little endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

where ``masked_crc32c(x) = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32) over the CRC-32C (Castagnoli) of
``x``. The mask keeps a CRC of data that itself contains CRCs from being trivially predictable. Files written here are
read by ``tf.data.TFRecordDataset`` and files written by TensorFlow are read here (tested with committed fixtures).

Only uncompressed files are supported (TensorFlow's default ``compression_type=''``); GZIP/ZLIB-compressed record
files are rejected with an error that says so.

Example::

    with TFRecordWriter("/tmp/train.tfrecord") as writer:
        writer.write(example.SerializeToString())
    for record in tf_record_iterator("/tmp/train.tfrecord"):
        ...
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from types import TracebackType

import google_crc32c
import numpy as np

__all__ = [
    "DataLossError",
    "TFRecordWriter",
    "TFRecordIterator",
    "TFRecordReader",
    "tf_record_iterator",
    "masked_crc32c",
    "record_offsets",
    "read_record_at",
    "count_records",
]

_HEADER_SIZE = 12  # uint64 length + uint32 masked CRC of the length
_FOOTER_SIZE = 4  # uint32 masked CRC of the data
_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_GZIP_MAGIC = b"\x1f\x8b"
_DATA_CRC_FAILED = "record data fails its CRC check"


def _file_mode() -> int:
    """Permissions of a newly created file under the process umask (mkstemp's files are private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


class DataLossError(OSError):
    """A TFRecord file is corrupt or truncated (TensorFlow raises ``tf.errors.DataLossError`` here).

    Attributes:
      path: The file.
      offset: Byte offset of the start of the bad record in the file.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(
            f"Corrupt TFRecord file {path!r} at byte offset {offset}: {reason}. The file may have been truncated or "
            "damaged while copying; re-create it, or read with skip_corrupt=True to skip (and count) bad records."
        )
        self.path = path
        self.offset = offset
        self.reason = reason


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def _encode_header(length: int) -> bytes:
    length_bytes = _LENGTH.pack(length)
    return length_bytes + _CRC.pack(masked_crc32c(length_bytes))


class TFRecordWriter:
    """Writes records to a TFRecord file, atomically.

    Records go to a temporary file next to ``path``; :meth:`close` (or leaving the ``with`` block normally) flushes,
    fsyncs and renames it to ``path``. If the ``with`` block raises, or the process dies, ``path`` is left untouched and
    the temporary file is removed (when Python still runs), so a crash never leaves a half-written file under the
    final name.

    Args:
      path: The file to write. Its directory must exist.

    Example::

        with TFRecordWriter("train-00000-of-00001") as writer:
            writer.write(example.SerializeToString())
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"Cannot write TFRecord file {self.path!r}: directory {directory!r} does not exist (create it first)."
            )
        fd, self._tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(self.path)}.", suffix=".tmp", dir=directory)
        os.fchmod(fd, _FILE_MODE)
        self._file = os.fdopen(fd, "wb", buffering=1 << 20)
        self.num_records = 0
        self.num_bytes = 0

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, record: bytes | bytearray | memoryview) -> None:
        """Appends one record (serialized bytes, e.g. ``example.SerializeToString()``)."""
        if self._file is None:
            raise ValueError(f"TFRecordWriter for {self.path!r} is closed; open a new writer to write more records.")
        if not isinstance(record, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"TFRecordWriter.write for {self.path!r} expects bytes, got {type(record).__name__}; pass "
                "proto.SerializeToString() or str.encode()."
            )
        length = len(record)
        self._file.write(_encode_header(length))
        self._file.write(record)
        self._file.write(_CRC.pack(masked_crc32c(record)))
        self.num_records += 1
        self.num_bytes += _HEADER_SIZE + length + _FOOTER_SIZE

    def flush(self) -> None:
        """Flushes buffered records to the temporary file (the final name appears only on close)."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Finishes the file: flush, fsync, rename to ``path``. Closing twice is harmless."""
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        os.replace(self._tmp_path, self.path)

    def abort(self) -> None:
        """Discards everything written: removes the temporary file and leaves ``path`` untouched."""
        if self._file is None:
            return
        file, self._file = self._file, None
        file.close()
        try:
            os.unlink(self._tmp_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # A writer dropped without close() never publishes a possibly incomplete file.
        if getattr(self, "_file", None) is not None:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self._file is None else "open"
        return f"TFRecordWriter({self.path!r}, {state}, num_records={self.num_records})"


class _MappedFile:
    """The bytes of a file (memory-mapped; empty files need no map)."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            self.data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self.size = size
        if self.data[:2] == _GZIP_MAGIC and size >= _HEADER_SIZE:
            # A real record's first 2 bytes are the low bytes of its length; 0x8b1f = 35615 is possible, so only
            # reject when the header CRC does not check out either.
            length_bytes = self.data[:8]
            if _CRC.unpack_from(self.data, 8)[0] != masked_crc32c(length_bytes):
                raise DataLossError(
                    path,
                    0,
                    "the file looks GZIP-compressed; compressed TFRecord files are not supported, "
                    "decompress it first (gunzip)",
                )

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()


def _check_header(data: bytes | mmap.mmap, path: str, offset: int, size: int) -> int:
    """Validates the record header at ``offset``; returns the data length. Raises DataLossError."""
    if offset + _HEADER_SIZE > size:
        raise DataLossError(path, offset, f"truncated record header ({size - offset} of {_HEADER_SIZE} bytes)")
    length, length_crc = _HEADER.unpack_from(data, offset)
    if length_crc != masked_crc32c(data[offset : offset + 8]):
        raise DataLossError(path, offset, "record length fails its CRC check")
    end = offset + _HEADER_SIZE + length + _FOOTER_SIZE
    if end > size:
        raise DataLossError(
            path, offset, f"truncated record (needs {_HEADER_SIZE + length + _FOOTER_SIZE} bytes, {size - offset} left)"
        )
    return length


def _read_checked(data: bytes | mmap.mmap, path: str, offset: int, size: int) -> tuple[bytes, int]:
    """The record at ``offset`` (header and data CRCs checked) and the offset of the next one."""
    length = _check_header(data, path, offset, size)
    start = offset + _HEADER_SIZE
    record = data[start : start + length]
    (data_crc,) = _CRC.unpack_from(data, start + length)
    if data_crc != masked_crc32c(record):
        raise DataLossError(path, offset, _DATA_CRC_FAILED)
    return record, start + length + _FOOTER_SIZE


def _resync(data: bytes | mmap.mmap, path: str, offset: int, size: int) -> int:
    """The offset of the next valid record after a bad header at ``offset`` (``size`` when there is none)."""
    for candidate in range(offset + 1, size - _HEADER_SIZE - _FOOTER_SIZE + 1):
        try:
            _read_checked(data, path, candidate, size)
        except DataLossError:
            continue
        return candidate
    return size


class _ReadStats:
    def __init__(self) -> None:
        self.num_records = 0
        self.num_skipped = 0
        self.skipped_offsets: list[int] = []


def _iter_records(
    path: str, skip_corrupt: bool, start: int, stride: int, stats: _ReadStats
) -> Iterator[tuple[int, bytes]]:
    """``(index, record)`` for the records with ``index >= start`` and ``(index - start) % stride == 0``.

    Records of other indices are stepped over after checking only their header (the length must be trusted to find
    the next record), so striding readers do not pay for the data they skip.
    """
    mapped = _MappedFile(path)
    data, size = mapped.data, mapped.size
    offset = 0
    index = 0
    try:
        while offset < size:
            mine = index >= start and (index - start) % stride == 0
            try:
                if mine:
                    record, next_offset = _read_checked(data, path, offset, size)
                else:
                    next_offset = offset + _HEADER_SIZE + _check_header(data, path, offset, size) + _FOOTER_SIZE
            except DataLossError as error:
                if not skip_corrupt:
                    raise
                stats.num_skipped += 1
                stats.skipped_offsets.append(offset)
                if error.reason == _DATA_CRC_FAILED:
                    # The length checked out, so the record still occupies an index for every reader.
                    (length,) = _LENGTH.unpack_from(data, offset)
                    offset += _HEADER_SIZE + length + _FOOTER_SIZE
                    index += 1
                else:
                    offset = _resync(data, path, offset, size)
                continue
            offset = next_offset
            if mine:
                stats.num_records += 1
                yield index, record
            index += 1
    finally:
        mapped.close()


class TFRecordIterator:
    """Iterates over the records of one TFRecord file, checking both CRCs of every record.

    Args:
      path: The TFRecord file.
      skip_corrupt: False (default): a corrupt or truncated record raises :class:`DataLossError` naming the file and
        byte offset. True: bad records are skipped and counted in :attr:`num_skipped` (their offsets in
        :attr:`skipped_offsets`); after a record whose length is corrupt, reading resumes at the next offset where a
        record passes both CRC checks.

    Attributes:
      num_records: Records yielded so far.
      num_skipped: Corrupt records skipped so far (only with ``skip_corrupt=True``).
      skipped_offsets: Byte offsets where the skipped records started.
    """

    def __init__(self, path: str | os.PathLike, skip_corrupt: bool = False) -> None:
        self.path = os.fspath(path)
        self.skip_corrupt = skip_corrupt
        self._stats = _ReadStats()
        self._started = False

    @property
    def num_records(self) -> int:
        return self._stats.num_records

    @property
    def num_skipped(self) -> int:
        return self._stats.num_skipped

    @property
    def skipped_offsets(self) -> list[int]:
        return self._stats.skipped_offsets

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise RuntimeError(
                f"TFRecordIterator over {self.path!r} can be iterated only once; call tf_record_iterator() again."
            )
        self._started = True
        return (record for _, record in _iter_records(self.path, self.skip_corrupt, 0, 1, self._stats))


class TFRecordReader:
    """The record reader a :class:`slim.data.dataset.Dataset` names (the role of ``tf.TFRecordReader``).

    A reader class is instantiated as ``reader_class(**reader_kwargs)`` in each data-loading worker; its
    :meth:`read` yields ``(record index, record bytes)`` for every ``stride``-th record from ``start``, which is how
    records are sharded across workers and ranks. A custom reader needs only this method.

    Args:
      skip_corrupt: Skip (and count in :attr:`num_skipped`) corrupt records instead of raising DataLossError.
    """

    def __init__(self, skip_corrupt: bool = False) -> None:
        self.skip_corrupt = skip_corrupt
        self._stats = _ReadStats()

    @property
    def num_records(self) -> int:
        """Records read so far (by this reader, in this process)."""
        return self._stats.num_records

    @property
    def num_skipped(self) -> int:
        """Corrupt records skipped so far (by this reader, in this process)."""
        return self._stats.num_skipped

    def read(self, path: str | os.PathLike, start: int = 0, stride: int = 1) -> Iterator[tuple[int, bytes]]:
        """``(index, record)`` for records ``start, start + stride, ...`` of the TFRecord file ``path``."""
        if start < 0 or stride < 1:
            raise ValueError(f"TFRecordReader.read({path!r}): need start >= 0 and stride >= 1, got {start}, {stride}.")
        return _iter_records(os.fspath(path), self.skip_corrupt, start, stride, self._stats)


def tf_record_iterator(path: str | os.PathLike, skip_corrupt: bool = False) -> TFRecordIterator:
    """The records of the TFRecord file at ``path``, as bytes (``tf.compat.v1.io.tf_record_iterator``).

    Args:
      path: The file.
      skip_corrupt: Skip and count corrupt records instead of raising; see :class:`TFRecordIterator`.

    Returns:
      An iterable of ``bytes``; its ``num_skipped`` attribute counts skipped records.

    Raises:
      DataLossError: (while iterating, unless ``skip_corrupt``) a record is corrupt or the file is truncated.
    """
    return TFRecordIterator(path, skip_corrupt=skip_corrupt)


def record_offsets(path: str | os.PathLike) -> np.ndarray:
    """Byte offsets of every record in a TFRecord file (an index for random access and record-level sharding).

    Only the headers are read (length and its CRC); the data CRCs are checked when a record is read.

    Returns:
      int64 array with one offset per record, in file order.

    Raises:
      DataLossError: a header is corrupt or the file is truncated.
    """
    mapped = _MappedFile(os.fspath(path))
    try:
        offsets = []
        offset = 0
        while offset < mapped.size:
            length = _check_header(mapped.data, mapped.path, offset, mapped.size)
            offsets.append(offset)
            offset += _HEADER_SIZE + length + _FOOTER_SIZE
        return np.asarray(offsets, dtype=np.int64)
    finally:
        mapped.close()


def count_records(path: str | os.PathLike) -> int:
    """Number of records in a TFRecord file (headers only; see :func:`record_offsets`)."""
    return len(record_offsets(path))


def read_record_at(path: str | os.PathLike, offset: int) -> bytes:
    """The record starting at byte ``offset`` of ``path`` (as given by :func:`record_offsets`), CRCs checked."""
    path = os.fspath(path)
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        file.seek(offset)
        header = file.read(_HEADER_SIZE)
        if len(header) < _HEADER_SIZE:
            raise DataLossError(path, offset, f"truncated record header ({len(header)} of {_HEADER_SIZE} bytes)")
        length, length_crc = _HEADER.unpack(header)
        if length_crc != masked_crc32c(header[:8]):
            raise DataLossError(path, offset, "record length fails its CRC check")
        if offset + _HEADER_SIZE + length + _FOOTER_SIZE > size:
            raise DataLossError(path, offset, f"truncated record (needs {_HEADER_SIZE + length + _FOOTER_SIZE} bytes)")
        body = file.read(length + _FOOTER_SIZE)
    record = body[:length]
    if _CRC.unpack_from(body, length)[0] != masked_crc32c(record):
        raise DataLossError(path, offset, _DATA_CRC_FAILED)
    return record
