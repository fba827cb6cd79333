"""TFRecord framing: round trip, CRC and truncation errors naming file and offset, skip-and-count, atomic writes."""

import os
import struct

import google_crc32c
import pytest

from slim.data.tfrecord import (
    DataLossError,
    TFRecordReader,
    TFRecordWriter,
    count_records,
    masked_crc32c,
    read_record_at,
    record_offsets,
    tf_record_iterator,
)

RECORDS = [b"", b"a", b"hello world", bytes(range(256)) * 3]


def _write(path, records=RECORDS):
    with TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


def _offsets(records):
    offsets, offset = [], 0
    for record in records:
        offsets.append(offset)
        offset += 12 + len(record) + 4  # header (8 length + 4 CRC) + data + 4 CRC
    return offsets


def test_masked_crc32c_definition():
    # Rotate the CRC-32C right by 15 bits and add the constant 0xa282ead8, modulo 2**32.
    crc = google_crc32c.value(b"abc")
    assert masked_crc32c(b"abc") == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def test_round_trip_and_framing(tmp_path):
    path = _write(tmp_path / "data.tfrecord")
    assert list(tf_record_iterator(path)) == RECORDS
    raw = path.read_bytes()
    assert len(raw) == sum(16 + len(r) for r in RECORDS)
    # Second record: length 1 little endian, its masked CRC, the byte, the data's masked CRC.
    second = raw[16:33]
    assert struct.unpack("<Q", second[:8])[0] == 1
    assert struct.unpack("<I", second[8:12])[0] == masked_crc32c(second[:8])
    assert second[12:13] == b"a"
    assert struct.unpack("<I", second[13:17])[0] == masked_crc32c(b"a")


def test_offsets_index_and_random_access(tmp_path):
    path = _write(tmp_path / "data.tfrecord")
    offsets = record_offsets(path)
    assert offsets.tolist() == _offsets(RECORDS)
    assert count_records(path) == len(RECORDS)
    assert [read_record_at(path, int(o)) for o in offsets] == RECORDS


def test_empty_file(tmp_path):
    path = _write(tmp_path / "empty.tfrecord", [])
    assert path.stat().st_size == 0
    assert list(tf_record_iterator(path)) == []
    assert count_records(path) == 0


def _corrupt(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_data_crc_names_file_and_offset(tmp_path):
    path = _write(tmp_path / "bad.tfrecord")
    third = _offsets(RECORDS)[2]
    _corrupt(path, third + 12 + 3)  # a data byte of the third record
    records = tf_record_iterator(path)
    with pytest.raises(DataLossError) as info:
        list(records)
    assert info.value.path == str(path) and info.value.offset == third
    assert str(path) in str(info.value) and f"byte offset {third}" in str(info.value)
    assert records.num_records == 2


def test_corrupt_length_names_offset(tmp_path):
    path = _write(tmp_path / "bad.tfrecord")
    second = _offsets(RECORDS)[1]
    _corrupt(path, second)  # the length itself: its CRC no longer matches
    with pytest.raises(DataLossError, match=f"byte offset {second}: record length fails its CRC"):
        list(tf_record_iterator(path))
    with pytest.raises(DataLossError, match=f"byte offset {second}"):
        record_offsets(path)


@pytest.mark.parametrize("cut", [5, 14, 20])  # inside the header, inside the data, inside the data CRC
def test_truncated_file(tmp_path, cut):
    path = _write(tmp_path / "cut.tfrecord")
    last = _offsets(RECORDS)[3]
    path.write_bytes(path.read_bytes()[: last + cut] if cut != 20 else path.read_bytes()[:-2])
    with pytest.raises(DataLossError, match=f"'{path}' at byte offset {last}: truncated"):
        list(tf_record_iterator(path))


def test_skip_corrupt_counts_and_resumes(tmp_path):
    records = [bytes([i]) * (10 + i) for i in range(6)]
    path = _write(tmp_path / "bad.tfrecord", records)
    offsets = _offsets(records)
    _corrupt(path, offsets[1] + 12)  # data CRC of record 1 fails: its length is still trusted
    _corrupt(path, offsets[3] + 2)  # length of record 3 fails its CRC: resynchronise at record 4
    data = path.read_bytes()
    path.write_bytes(data[:-3])  # and record 5 is truncated
    iterator = tf_record_iterator(path, skip_corrupt=True)
    assert list(iterator) == [records[0], records[2], records[4]]
    assert iterator.num_skipped == 3
    assert iterator.skipped_offsets == [offsets[1], offsets[3], offsets[5]]


def test_reader_stride_and_skip(tmp_path):
    records = [bytes([i]) * 3 for i in range(7)]
    path = _write(tmp_path / "data.tfrecord", records)
    reader = TFRecordReader()
    assert [i for i, _ in reader.read(path, 1, 3)] == [1, 4]
    assert [r for _, r in reader.read(path, 2, 2)] == [records[2], records[4], records[6]]
    assert reader.num_records == 5
    _corrupt(path, _offsets(records)[4] + 12)
    skipping = TFRecordReader(skip_corrupt=True)
    # Record 4 is bad: skipped (and counted) by the reader that owns it; the indices of later records do not shift.
    assert [i for i, _ in skipping.read(path, 0, 2)] == [0, 2, 6]
    assert [i for i, _ in skipping.read(path, 1, 2)] == [1, 3, 5]
    assert skipping.num_skipped == 1


def test_writer_is_atomic(tmp_path):
    path = tmp_path / "out.tfrecord"
    with pytest.raises(RuntimeError):
        with TFRecordWriter(path) as writer:
            writer.write(b"x")
            writer.flush()
            assert not path.exists()  # only the temporary file exists while writing
            raise RuntimeError("crash")
    assert not path.exists()
    assert os.listdir(tmp_path) == []  # the temporary file is gone too
    _write(path)
    assert os.listdir(tmp_path) == ["out.tfrecord"]
    mode = path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_writer_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TFRecordWriter(tmp_path / "missing" / "x.tfrecord")
    writer = TFRecordWriter(tmp_path / "x.tfrecord")
    with pytest.raises(TypeError, match="expects bytes, got str"):
        writer.write("text")
    writer.close()
    writer.close()  # harmless
    with pytest.raises(ValueError, match="is closed"):
        writer.write(b"x")


def test_gzip_file_is_rejected_clearly(tmp_path):
    import gzip

    plain = _write(tmp_path / "plain.tfrecord")
    packed = tmp_path / "packed.tfrecord"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(DataLossError, match="GZIP-compressed"):
        list(tf_record_iterator(packed))
