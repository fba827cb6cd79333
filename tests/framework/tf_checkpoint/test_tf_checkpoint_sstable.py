"""The SSTable layer: varints, blocks with restart points, multi-block tables, and their failure modes."""

import struct

import pytest

from slim.framework.tf_checkpoint.crc import crc32c, mask, masked_crc32c, unmask
from slim.framework.tf_checkpoint.errors import CheckpointFormatError, DataLossError
from slim.framework.tf_checkpoint.sstable import (
    FOOTER_SIZE,
    TABLE_MAGIC,
    TableReader,
    _BlockBuilder,
    build_table,
    decode_varint,
    encode_varint,
    parse_block,
)


def _entries(count):
    # Long shared prefixes, as in real variable names, so prefix compression matters.
    return [
        (f"net/block{i // 10:02d}/unit_{i:04d}/w".encode(), f"value-{i}".encode() * (1 + i % 3)) for i in range(count)
    ]


def _write(tmp_path, entries, **kwargs):
    path = tmp_path / "table.sst"
    path.write_bytes(build_table(entries, **kwargs))
    return path


def test_varint_round_trip_and_known_bytes():
    # 300 = 0b1_0010_1100: low 7 bits 0101100 with the continuation bit -> 0xac, then 0b10 -> 0x02.
    assert encode_varint(300) == b"\xac\x02"
    assert encode_varint(0) == b"\x00"
    for value in (0, 1, 127, 128, 2**32 - 1, 2**63 + 5):
        encoded = encode_varint(value)
        assert decode_varint(encoded + b"\xff", 0, len(encoded), "test") == (value, len(encoded))


def test_varint_past_limit_is_an_error():
    with pytest.raises(CheckpointFormatError, match="runs past"):
        decode_varint(b"\xac\x02", 0, 1, "test")


def test_crc_mask_is_invertible_and_matches_crc32c_check_value():
    # The CRC-32C check value of b"123456789" is 0xe3069283 (RFC 3720, appendix B.4).
    assert crc32c(b"123456789") == 0xE3069283
    assert unmask(mask(0xE3069283)) == 0xE3069283
    assert masked_crc32c(b"123456789") == mask(0xE3069283) != 0xE3069283


def test_single_block_round_trip(tmp_path):
    entries = _entries(5)
    reader = TableReader(_write(tmp_path, entries))
    assert reader.num_data_blocks == 1
    assert list(reader.items()) == entries
    assert reader.get(entries[3][0]) == entries[3][1]
    assert reader.get(b"net/absent") is None
    assert reader.get(b"zzz") is None  # past the last index key


def test_many_blocks_with_restart_points(tmp_path):
    entries = _entries(200)
    reader = TableReader(_write(tmp_path, entries, block_size=300, restart_interval=3))
    assert reader.num_data_blocks > 10
    assert list(reader.items()) == entries
    for key, value in entries[::17] + [entries[-1], entries[0]]:
        assert reader.get(key) == value


def test_block_restart_points_are_every_interval(tmp_path):
    entries = _entries(10)
    reader = TableReader(_write(tmp_path, entries, restart_interval=4))
    block = reader.read_block(reader._block_handles[0])
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    assert num_restarts == 3  # entries 0, 4 and 8 store full keys
    assert parse_block(block, "test") == entries


def test_prefix_compression_shrinks_the_table():
    entries = _entries(100)
    compressed = build_table(entries, restart_interval=16)
    full_keys = build_table(entries, restart_interval=1)
    assert len(compressed) < len(full_keys)


def test_empty_table(tmp_path):
    reader = TableReader(_write(tmp_path, []))
    assert reader.num_data_blocks == 0
    assert list(reader.items()) == []
    assert reader.get(b"") is None


def test_keys_must_be_sorted_and_unique():
    with pytest.raises(ValueError, match="strictly increasing"):
        build_table([(b"b", b""), (b"a", b"")])
    with pytest.raises(ValueError, match="strictly increasing"):
        build_table([(b"a", b""), (b"a", b"")])


def test_bad_magic_names_the_file(tmp_path):
    path = _write(tmp_path, _entries(3))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointFormatError, match=f"{path}.*magic number 0x{TABLE_MAGIC:016x}"):
        TableReader(path)


def test_file_shorter_than_footer(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00" * (FOOTER_SIZE - 1))
    with pytest.raises(CheckpointFormatError, match="shorter than the 48-byte SSTable footer"):
        TableReader(path)


def test_truncated_table_is_reported(tmp_path):
    path = _write(tmp_path, _entries(50), block_size=200)
    data = path.read_bytes()
    # Keep the footer (so the magic number is found) but cut the middle: the index handle then points past the end.
    path.write_bytes(data[:100] + data[-FOOTER_SIZE:])
    with pytest.raises(CheckpointFormatError, match="truncated"):
        TableReader(path)


def test_corrupt_data_block_fails_its_checksum(tmp_path):
    entries = _entries(4)
    path = _write(tmp_path, entries)
    data = bytearray(path.read_bytes())
    data[data.index(b"value-2")] ^= 0x01
    path.write_bytes(bytes(data))
    reader = TableReader(path)  # the index block is intact
    with pytest.raises(DataLossError, match="data block 0 at offset 0.*CRC-32C"):
        list(reader.items())


def test_snappy_compressed_block_is_reported_clearly(tmp_path):
    path = _write(tmp_path, _entries(2))
    reader = TableReader(path)
    handle = reader._block_handles[0]
    data = bytearray(path.read_bytes())
    # Mark the block as Snappy-compressed and give it a valid checksum, as a Snappy table would have.
    data[handle.offset + handle.size] = 1
    checksum = masked_crc32c(bytes(data[handle.offset : handle.offset + handle.size + 1]))
    struct.pack_into("<I", data, handle.offset + handle.size + 1, checksum)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointFormatError, match="Snappy-compressed"):
        list(TableReader(path).items())


def test_restart_point_must_hold_a_full_key():
    builder = _BlockBuilder(restart_interval=16)
    builder.add(b"aa", b"1")  # offset 0: shared 0, non-shared 2, value 1, "aa", "1" -> 6 bytes
    builder.add(b"ab", b"2")  # offset 6: shared 1 (the "a"), non-shared 1, value 1, "b", "2"
    entries = bytes(builder.buffer)
    assert parse_block(entries + struct.pack("<II", 0, 1), "test") == [(b"aa", b"1"), (b"ab", b"2")]
    with pytest.raises(CheckpointFormatError, match="restart point 6"):
        parse_block(entries + struct.pack("<III", 0, 6, 2), "test")
    with pytest.raises(CheckpointFormatError, match="restart point 3"):
        parse_block(entries + struct.pack("<III", 0, 3, 2), "test")
