"""Read and write the LevelDB-style sorted string table (SSTable) that holds TF checkpoint indexes.

A V2 checkpoint's ``.index`` file and a whole V1 checkpoint are SSTables: an immutable map from byte-string keys to
byte-string values, sorted bytewise. The layout, which this module reads and writes (TF's ``lib/io/table`` format,
the same as LevelDB's):

    [data block 0] [data block 1] ... [metaindex block] [index block] [footer: 48 bytes]

- A *block* is a run of entries followed by a restart array and a 5-byte trailer. Each entry is
  ``varint32 shared, varint32 non_shared, varint32 value_length, key[shared:], value``: a key stores only the bytes
  it does not share with the previous key (prefix compression). Every ``restart_interval`` entries the full key is
  stored (``shared == 0``) and the entry's offset is listed in the restart array (``uint32`` each, then their count
  as ``uint32``), so a reader can start decoding there.
- The *trailer* is a compression type byte (0 none, 1 Snappy) and the masked CRC-32C of the block plus that byte.
  TF writes checkpoint tables uncompressed; a compressed block is reported as an error.
- The *index block* maps, for each data block, a key ``>=`` every key in that block and ``<`` every key in the next
  one to the block's *handle* (``varint64 offset, varint64 size``). The metaindex block is empty in TF's tables.
- The *footer* holds the metaindex and index handles, zero-padded to 40 bytes, and the 8-byte little-endian magic
  number ``0xdb4775248b80fb57``.
"""

from __future__ import annotations

import bisect
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .crc import masked_crc32c
from .errors import CheckpointFormatError, DataLossError

__all__ = [
    "TABLE_MAGIC",
    "FOOTER_SIZE",
    "BlockHandle",
    "TableReader",
    "build_table",
    "encode_varint",
    "decode_varint",
    "parse_block",
]

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two handles of at most 20 bytes each, zero-padded to 40, then the 8-byte magic number
_HANDLES_SIZE = 40
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked CRC-32C
_NO_COMPRESSION = 0
_SNAPPY_COMPRESSION = 1
_U32 = struct.Struct("<I")


def encode_varint(value: int) -> bytes:
    """Little-endian base-128 encoding of a non-negative integer (7 bits per byte, high bit = more bytes follow)."""
    if value < 0:
        raise ValueError(f"encode_varint: value must be non-negative, got {value}.")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes, pos: int, limit: int, where: str, max_bytes: int = 10) -> tuple[int, int]:
    """Decodes a varint starting at ``data[pos]`` that must end before ``limit``; returns ``(value, next_pos)``.

    Raises:
        CheckpointFormatError: the varint runs past ``limit`` or is longer than ``max_bytes`` (5 for varint32,
            10 for varint64); ``where`` names the file and structure in the message.
    """
    result = 0
    shift = 0
    for i in range(max_bytes):
        if pos + i >= limit:
            raise CheckpointFormatError(f"{where}: a varint runs past the end of its data (truncated or corrupt).")
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos + i + 1
        shift += 7
    raise CheckpointFormatError(f"{where}: a varint is longer than {max_bytes} bytes (corrupt data).")


@dataclass(frozen=True)
class BlockHandle:
    """Where a block lies in the file: its offset and its size without the 5-byte trailer."""

    offset: int
    size: int

    def encode(self) -> bytes:
        return encode_varint(self.offset) + encode_varint(self.size)

    @classmethod
    def decode(cls, data: bytes, pos: int, limit: int, where: str) -> tuple[BlockHandle, int]:
        offset, pos = decode_varint(data, pos, limit, where)
        size, pos = decode_varint(data, pos, limit, where)
        return cls(offset, size), pos


def parse_block(contents: bytes, where: str) -> list[tuple[bytes, bytes]]:
    """All ``(key, value)`` entries of one block (without its trailer), in stored order.

    Checks the structure as it goes: varints and lengths stay inside the block, a key shares no more bytes than the
    previous key has, and every restart point is the offset of an entry that stores its full key.

    Raises:
        CheckpointFormatError: the block is malformed; ``where`` names the file and block.
    """
    size = len(contents)
    if size < 4:
        raise CheckpointFormatError(f"{where}: block of {size} bytes is too short to hold its restart count.")
    (num_restarts,) = _U32.unpack_from(contents, size - 4)
    restarts_start = size - 4 - 4 * num_restarts
    if restarts_start < 0:
        raise CheckpointFormatError(
            f"{where}: block claims {num_restarts} restart points, more than its {size} bytes can hold (corrupt)."
        )
    restarts = [_U32.unpack_from(contents, restarts_start + 4 * i)[0] for i in range(num_restarts)]
    entries: list[tuple[bytes, bytes]] = []
    full_key_offsets: set[int] = set()
    entry_offsets: set[int] = set()
    key = b""
    pos = 0
    while pos < restarts_start:
        entry_offsets.add(pos)
        entry_start = pos
        shared, pos = decode_varint(contents, pos, restarts_start, where, max_bytes=5)
        non_shared, pos = decode_varint(contents, pos, restarts_start, where, max_bytes=5)
        value_length, pos = decode_varint(contents, pos, restarts_start, where, max_bytes=5)
        if shared > len(key):
            raise CheckpointFormatError(
                f"{where}: entry at block offset {entry_start} shares {shared} key bytes with a previous key of "
                f"{len(key)} bytes (corrupt)."
            )
        end = pos + non_shared + value_length
        if end > restarts_start:
            raise CheckpointFormatError(
                f"{where}: entry at block offset {entry_start} runs past the entries area ({end} > "
                f"{restarts_start} bytes; truncated or corrupt)."
            )
        if shared == 0:
            full_key_offsets.add(entry_start)
        key = key[:shared] + contents[pos : pos + non_shared]
        value = contents[pos + non_shared : end]
        entries.append((key, value))
        pos = end
    for offset in restarts:
        if not entries and offset == 0:
            continue  # an empty block still lists restart point 0
        if offset not in entry_offsets or offset not in full_key_offsets:
            raise CheckpointFormatError(
                f"{where}: restart point {offset} is not the start of an entry holding a full key (corrupt)."
            )
    return entries


class TableReader:
    """Reads one SSTable file: iterate over all entries, or look one key up through the index block.

    The footer and index block are read when the reader is made; data blocks are read (and their checksums
    verified) when they are needed, so looking up one tensor of a large V1 checkpoint reads only its block.

    Args:
        path: the table file.
        description: what the file is, for error messages (``"V2 checkpoint index"``).

    Raises:
        CheckpointFormatError: the file is too short, lacks the magic number, or its index is malformed.
        DataLossError: the index block fails its checksum.
    """

    def __init__(self, path: str | os.PathLike, description: str = "SSTable"):
        self.path = os.fspath(path)
        self.description = description
        self.file_size = os.path.getsize(self.path)
        where = f"{description} {self.path}"
        if self.file_size < FOOTER_SIZE:
            raise CheckpointFormatError(
                f"{where} is {self.file_size} bytes, shorter than the {FOOTER_SIZE}-byte SSTable footer: the file is "
                "truncated (an interrupted copy or download?) or is not a TF checkpoint."
            )
        with open(self.path, "rb") as handle:
            handle.seek(self.file_size - FOOTER_SIZE)
            footer = handle.read(FOOTER_SIZE)
        (magic,) = struct.unpack_from("<Q", footer, _HANDLES_SIZE)
        if magic != TABLE_MAGIC:
            raise CheckpointFormatError(
                f"{where} does not end with the SSTable magic number 0x{TABLE_MAGIC:016x} (found 0x{magic:016x}): "
                "the file is truncated or is not a TF checkpoint file."
            )
        self.metaindex_handle, pos = BlockHandle.decode(footer, 0, _HANDLES_SIZE, f"{where} (footer)")
        self.index_handle, _ = BlockHandle.decode(footer, pos, _HANDLES_SIZE, f"{where} (footer)")
        index_entries = parse_block(self.read_block(self.index_handle, "index block"), f"{where} (index block)")
        self._index_keys: list[bytes] = []
        self._block_handles: list[BlockHandle] = []
        for separator, value in index_entries:
            handle_where = f"{where} (index entry for block ending at key {separator!r})"
            block_handle, end = BlockHandle.decode(value, 0, len(value), handle_where)
            if end != len(value):
                raise CheckpointFormatError(f"{handle_where}: {len(value) - end} stray bytes after the block handle.")
            if self._index_keys and separator <= self._index_keys[-1]:
                raise CheckpointFormatError(f"{where} (index block): keys are not in increasing order (corrupt).")
            self._index_keys.append(separator)
            self._block_handles.append(block_handle)

    @property
    def num_data_blocks(self) -> int:
        """How many data blocks the index lists."""
        return len(self._block_handles)

    def read_block(self, block_handle: BlockHandle, what: str = "data block") -> bytes:
        """The contents of one block, after checking its bounds, compression type and checksum.

        Raises:
            CheckpointFormatError: the block extends past the end of the file, or is compressed.
            DataLossError: the block's bytes do not match its masked CRC-32C.
        """
        where = f"{self.description} {self.path}: {what} at offset {block_handle.offset} ({block_handle.size} bytes)"
        end = block_handle.offset + block_handle.size + BLOCK_TRAILER_SIZE
        if end > self.file_size:
            raise CheckpointFormatError(
                f"{where} extends past the end of the file ({end} > {self.file_size} bytes): the file is truncated."
            )
        with open(self.path, "rb") as handle:
            handle.seek(block_handle.offset)
            raw = handle.read(block_handle.size + BLOCK_TRAILER_SIZE)
        if len(raw) != block_handle.size + BLOCK_TRAILER_SIZE:
            raise CheckpointFormatError(f"{where}: short read (the file changed size while being read?).")
        contents = raw[: block_handle.size]
        compression = raw[block_handle.size]
        (stored_crc,) = _U32.unpack_from(raw, block_handle.size + 1)
        if masked_crc32c(raw[: block_handle.size + 1]) != stored_crc:
            raise DataLossError(f"{where} fails its CRC-32C check: the file is corrupt. Re-download or re-copy it.")
        if compression == _SNAPPY_COMPRESSION:
            raise CheckpointFormatError(
                f"{where} is Snappy-compressed. TF writes checkpoint tables uncompressed and this reader does not "
                "decompress Snappy; re-save the checkpoint with TF (tf.train.Saver / tf.train.Checkpoint)."
            )
        if compression != _NO_COMPRESSION:
            raise CheckpointFormatError(f"{where} has unknown compression type {compression} (corrupt?).")
        return contents

    def _block_entries(self, index: int) -> list[tuple[bytes, bytes]]:
        block_handle = self._block_handles[index]
        what = f"data block {index}"
        entries = parse_block(self.read_block(block_handle, what), f"{self.description} {self.path} ({what})")
        if entries and entries[-1][0] > self._index_keys[index]:
            raise CheckpointFormatError(
                f"{self.description} {self.path} ({what}): holds keys past its index key (corrupt index)."
            )
        return entries

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, value)`` in key order, block by block.

        Raises:
            CheckpointFormatError: keys are not strictly increasing, or a block is malformed.
            DataLossError: a block fails its checksum.
        """
        previous: bytes | None = None
        for index in range(len(self._block_handles)):
            for key, value in self._block_entries(index):
                if previous is not None and key <= previous:
                    raise CheckpointFormatError(
                        f"{self.description} {self.path}: keys are not in increasing order at {key!r} (corrupt)."
                    )
                previous = key
                yield key, value

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None; reads only the one data block that can hold it."""
        index = bisect.bisect_left(self._index_keys, key)
        if index == len(self._index_keys):
            return None
        for entry_key, value in self._block_entries(index):
            if entry_key == key:
                return value
        return None


class _BlockBuilder:
    """Accumulates sorted entries into one block with prefix-compressed keys and restart points."""

    def __init__(self, restart_interval: int):
        self.restart_interval = restart_interval
        self.buffer = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""
        self.num_entries = 0

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter >= self.restart_interval:
            self.restarts.append(len(self.buffer))
            self.counter = 0
        else:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        self.buffer += encode_varint(shared) + encode_varint(len(key) - shared) + encode_varint(len(value))
        self.buffer += key[shared:]
        self.buffer += value
        self.last_key = key
        self.counter += 1
        self.num_entries += 1

    def size_estimate(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        return bytes(self.buffer) + b"".join(_U32.pack(r) for r in self.restarts) + _U32.pack(len(self.restarts))


def build_table(entries: Iterable[tuple[bytes, bytes]], block_size: int = 262144, restart_interval: int = 16) -> bytes:
    """The bytes of an uncompressed SSTable holding ``entries`` (which must be sorted, with unique keys).

    Args:
        entries: ``(key, value)`` pairs in strictly increasing bytewise key order.
        block_size: a data block is closed once it reaches about this many bytes (TF's default: 256 KiB).
        restart_interval: store a full key every this many entries of a data block (TF's default: 16). The index
            block stores every key in full, as TF does.

    Raises:
        ValueError: keys out of order or repeated, or non-positive sizes.
    """
    if block_size <= 0 or restart_interval <= 0:
        raise ValueError(
            f"build_table: block_size ({block_size}) and restart_interval ({restart_interval}) must be positive."
        )
    out = bytearray()
    index = _BlockBuilder(restart_interval=1)

    def write_block(contents: bytes) -> BlockHandle:
        block_handle = BlockHandle(len(out), len(contents))
        out.extend(contents)
        trailer_type = bytes([_NO_COMPRESSION])
        out.extend(trailer_type)
        out.extend(_U32.pack(masked_crc32c(contents + trailer_type)))
        return block_handle

    block = _BlockBuilder(restart_interval)
    previous: bytes | None = None
    for key, value in entries:
        if previous is not None and key <= previous:
            raise ValueError(f"build_table: keys must be strictly increasing, got {key!r} after {previous!r}.")
        previous = key
        block.add(key, value)
        if block.size_estimate() >= block_size:
            # The block's last key is a valid index key: >= everything in it, < everything after it.
            index.add(block.last_key, write_block(block.finish()).encode())
            block = _BlockBuilder(restart_interval)
    if block.num_entries:
        index.add(block.last_key, write_block(block.finish()).encode())
    metaindex_handle = write_block(_BlockBuilder(restart_interval).finish())
    index_handle = write_block(index.finish())
    handles = metaindex_handle.encode() + index_handle.encode()
    out.extend(handles + bytes(_HANDLES_SIZE - len(handles)))
    out.extend(struct.pack("<Q", TABLE_MAGIC))
    return bytes(out)
