"""get_data_files (lists, globs, clear errors, never a hang), parallel_read and single_pass_read."""

import collections

import pytest

from slim.data.parallel_reader import get_data_files, parallel_read, single_pass_read
from slim.data.tfrecord import TFRecordWriter


@pytest.fixture
def files(tmp_path):
    paths = []
    for shard, size in enumerate([3, 4]):
        path = tmp_path / f"data-{shard}.tfrecord"
        with TFRecordWriter(path) as writer:
            for index in range(size):
                writer.write(f"{shard}:{index}".encode())
        paths.append(str(path))
    return paths


def test_get_data_files(files, tmp_path):
    assert get_data_files(str(tmp_path / "data-*.tfrecord")) == files
    assert get_data_files(str(tmp_path / "data-[1].tfrecord")) == files[1:]
    assert get_data_files(files[0]) == files[:1]
    assert get_data_files([files[1], str(tmp_path / "data-?.tfrecord")]) == [files[1], *files]
    with pytest.raises(ValueError, match=r"No data files found in '.*missing-\*.tfrecord': the pattern matches"):
        get_data_files(str(tmp_path / "missing-*.tfrecord"))
    with pytest.raises(ValueError, match="no such file"):
        get_data_files(str(tmp_path / "missing.tfrecord"))
    with pytest.raises(ValueError, match="it is a directory"):
        get_data_files(str(tmp_path))
    with pytest.raises(ValueError, match="the list is empty"):
        get_data_files([])


def test_single_pass_read(files):
    records = [record for _, record in single_pass_read(files)]
    assert records == [b"0:0", b"0:1", b"0:2", b"1:0", b"1:1", b"1:2", b"1:3"]


def test_parallel_read(files):
    stream = parallel_read(files, num_epochs=3, num_readers=2, capacity=5, min_after_dequeue=2, seed=0)
    counts = collections.Counter(record for _, record in stream)
    assert len(counts) == 7 and set(counts.values()) == {3}
    keys = [key for key, _ in parallel_read(files, num_epochs=1, shuffle=False, num_readers=2)]
    # Two files read at once, one record from each in turn.
    assert [key.rsplit("/", 1)[1] for key in keys[:4]] == [
        "data-0.tfrecord:0",
        "data-1.tfrecord:0",
        "data-0.tfrecord:1",
        "data-1.tfrecord:1",
    ]
