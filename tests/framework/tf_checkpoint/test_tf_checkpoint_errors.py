"""Broken, partial and wrong inputs: every error names the file and says what is wrong."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from slim.framework.tf_checkpoint import (
    CheckpointFormatError,
    CheckpointNotFoundError,
    DataLossError,
    open_checkpoint,
    write_v2_checkpoint,
)
from slim.framework.tf_checkpoint.protos import BundleEntryProto, BundleHeaderProto, SavedTensorSlices
from slim.framework.tf_checkpoint.slices import encode_tensor_name_slice
from slim.framework.tf_checkpoint.sstable import TableReader, build_table

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tf_checkpoint"
WEIGHTS = "InceptionV3/Conv2d_1a_3x3/weights"


@pytest.fixture
def v2_copy(tmp_path):
    """A private copy of TF's V2 fixture: (directory, prefix)."""
    directory = tmp_path / "tf_v2"
    shutil.copytree(FIXTURES / "tf_v2", directory)
    return directory, directory / "model.ckpt-1234"


def _entry(prefix, name):
    for key, value in TableReader(f"{prefix}.index").items():
        if key == name.encode():
            entry = BundleEntryProto()
            entry.ParseFromString(value)
            return entry
    raise AssertionError(f"{name} not in {prefix}.index")


def _flip_byte(path, offset):
    data = bytearray(Path(path).read_bytes())
    data[offset] ^= 0x40
    Path(path).write_bytes(bytes(data))


def test_v2_crc_mismatch_names_the_variable(v2_copy):
    _, prefix = v2_copy
    entry = _entry(prefix, WEIGHTS)
    _flip_byte(f"{prefix}.data-00000-of-00001", entry.offset + 5)
    reader = open_checkpoint(prefix)
    with pytest.raises(DataLossError, match=f"data-00000-of-00001: tensor {WEIGHTS} fails its CRC-32C check"):
        reader.get_tensor(WEIGHTS)
    assert reader.get_tensor("global_step") == 1234  # the other tensors are intact


def test_v2_string_tensor_corruption_is_detected(v2_copy):
    _, prefix = v2_copy
    entry = _entry(prefix, "words")
    # Stored: varint lengths 2, 0, 3 (3 bytes), the lengths' checksum (4 bytes), then b"ab" b"x\0y".
    _flip_byte(f"{prefix}.data-00000-of-00001", entry.offset + 3 + 4 + 1)  # a string byte
    with pytest.raises(DataLossError, match="tensor words fails its CRC-32C check"):
        open_checkpoint(prefix).get_tensor("words")
    _flip_byte(f"{prefix}.data-00000-of-00001", entry.offset + 3)  # the lengths' checksum
    with pytest.raises(DataLossError, match="tensor words: the lengths of the string tensor fail their checksum"):
        open_checkpoint(prefix).get_tensor("words")


def test_truncated_data_file(v2_copy):
    _, prefix = v2_copy
    data_path = Path(f"{prefix}.data-00000-of-00001")
    data_path.write_bytes(data_path.read_bytes()[:40])
    reader = open_checkpoint(prefix)  # the index is fine
    names = [name for name, _ in reader.list_variables()]
    last = max(names, key=lambda n: _entry(prefix, n).offset + _entry(prefix, n).size)
    with pytest.raises(CheckpointFormatError, match=f"{data_path} is 40 bytes, but tensor {last} lies at.*truncated"):
        reader.get_tensor(last)


def test_truncated_index_file(v2_copy):
    _, prefix = v2_copy
    index_path = Path(f"{prefix}.index")
    index_path.write_bytes(index_path.read_bytes()[:-10])
    with pytest.raises(CheckpointFormatError, match=f"{index_path} does not end with the SSTable magic.*truncated"):
        open_checkpoint(prefix)
    index_path.write_bytes(b"")
    with pytest.raises(CheckpointFormatError, match="is 0 bytes, shorter than the 48-byte SSTable footer"):
        open_checkpoint(prefix)


def test_missing_data_shard(v2_copy):
    _, prefix = v2_copy
    Path(f"{prefix}.data-00000-of-00001").unlink()
    with pytest.raises(CheckpointNotFoundError, match=r"data shard\(s\) .*model.ckpt-1234.data-00000-of-00001 missing"):
        open_checkpoint(prefix)


def test_missing_index_with_data_present(v2_copy):
    _, prefix = v2_copy
    Path(f"{prefix}.index").unlink()
    with pytest.raises(CheckpointNotFoundError, match=r"found its data shard\(s\).*but not .*model.ckpt-1234.index"):
        open_checkpoint(prefix)


def test_directory_resolution_errors(tmp_path, v2_copy):
    directory, _ = v2_copy
    (directory / "checkpoint").unlink()
    with pytest.raises(CheckpointNotFoundError, match=r"has no 'checkpoint' file.*found there: \['model.ckpt-1234'\]"):
        open_checkpoint(directory)
    (directory / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-999"\n')
    with pytest.raises(CheckpointNotFoundError, match="names checkpoint .*model.ckpt-999, which does not exist"):
        open_checkpoint(directory)
    (directory / "checkpoint").write_text("this is { not a checkpoint state")
    with pytest.raises(CheckpointFormatError, match="is not a TF checkpoint state file"):
        open_checkpoint(directory)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointNotFoundError, match="No checkpoint files found there either"):
        open_checkpoint(empty)


def test_nonexistent_paths(tmp_path, v2_copy):
    directory, _ = v2_copy
    with pytest.raises(CheckpointNotFoundError, match="directory .*nowhere does not exist"):
        open_checkpoint(tmp_path / "nowhere" / "model.ckpt")
    with pytest.raises(CheckpointNotFoundError, match=r"starting with that name: \['model.ckpt-1234.data"):
        open_checkpoint(directory / "model.ckpt")
    with pytest.raises(CheckpointNotFoundError, match=r"no such file or directory. Checkpoint prefixes in .*1234'\]"):
        open_checkpoint(directory / "other.ckpt")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("inception_v3_2016_08_28.tar.gz", gzip.compress(b"x" * 100), "gzip archive .*extract it"),
        ("model.ckpt.meta", b"\x0a\x10" + b"graph" * 20, "MetaGraphDef .*pass .*model.ckpt"),
        (
            "notes.txt",
            b"hello, this is not a checkpoint at all! " * 3,
            r"\d+-byte file that does not end with the SSTable magic",
        ),
        ("tiny", b"abc", "3-byte file, too short"),
        ("weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5 file"),
        ("model.pth", b"PK\x03\x04" + bytes(100), "zip archive"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_says_what_it_is(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CheckpointFormatError, match=f"{name} is not a TF checkpoint: it is (a|an) {message}"):
        open_checkpoint(path)


def test_slim_safetensors_checkpoint_is_pointed_to_its_reader(tmp_path):
    header = b'{"__metadata__":{}}'
    (tmp_path / "model.ckpt-5.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(CheckpointFormatError, match="slim's own format"):
        open_checkpoint(tmp_path / "model.ckpt-5")
    with pytest.raises(CheckpointFormatError, match="safetensors file, which is slim's own checkpoint format"):
        open_checkpoint(tmp_path / "model.ckpt-5.safetensors")


def _write_index(prefix, entries, endianness=0, data=b""):
    header = BundleHeaderProto(num_shards=1, endianness=endianness)
    records = [(b"", header.SerializeToString())]
    records += [(name.encode(), entry.SerializeToString()) for name, entry in sorted(entries.items())]
    Path(f"{prefix}.index").write_bytes(build_table(records))
    Path(f"{prefix}.data-00000-of-00001").write_bytes(data)


def test_unsupported_and_unknown_dtypes(tmp_path):
    prefix = tmp_path / "odd"
    resource = BundleEntryProto(dtype=20, size=0)  # DT_RESOURCE
    unknown = BundleEntryProto(dtype=99, size=0)
    _write_index(prefix, {"handle": resource, "mystery": unknown})
    reader = open_checkpoint(prefix)
    assert reader.get_variable_to_dtype_map() == {"handle": "resource", "mystery": "unknown_dtype_99"}
    with pytest.raises(CheckpointFormatError, match="tensor handle: dtype DT_RESOURCE \\(20\\) is not supported"):
        reader.get_tensor("handle")
    with pytest.raises(CheckpointFormatError, match="tensor mystery: dtype number 99, which TF's DataType enum"):
        reader.get_tensor("mystery")


def test_big_endian_and_missing_header(tmp_path):
    _write_index(tmp_path / "big", {}, endianness=1)
    with pytest.raises(CheckpointFormatError, match="big-endian"):
        open_checkpoint(tmp_path / "big")
    Path(tmp_path / "noheader.index").write_bytes(build_table([(b"w", BundleEntryProto(dtype=1).SerializeToString())]))
    with pytest.raises(CheckpointFormatError, match="has no header record"):
        open_checkpoint(tmp_path / "noheader")


def test_size_that_disagrees_with_shape(tmp_path):
    prefix = tmp_path / "sizes"
    write_v2_checkpoint(prefix, {"w": np.arange(6, dtype=np.float32)})
    index = TableReader(f"{prefix}.index")
    records = dict(index.items())
    entry = BundleEntryProto()
    entry.ParseFromString(records[b"w"])
    entry.shape.dim[0].size = 5  # the data holds 6 floats
    records[b"w"] = entry.SerializeToString()
    Path(f"{prefix}.index").write_bytes(build_table(sorted(records.items())))
    with pytest.raises(CheckpointFormatError, match=r"tensor w: holds 24 bytes, but a float32 tensor of shape \[5\]"):
        open_checkpoint(prefix).get_tensor("w")


def _synthetic_v1(path, tensors, block_size):
    """A V1 file (as TF's V1 saver lays it out) holding each ``{name: [(extents, value)]}`` slice."""
    meta = SavedTensorSlices()
    records = []
    for name, (shape, slices) in tensors.items():
        tensor_meta = meta.meta.tensor.add(name=name, type=1)  # DT_FLOAT
        for size in shape:
            tensor_meta.shape.dim.add(size=size)
        for extents, value in slices:
            slice_proto = tensor_meta.slice.add()
            for start, length in extents:
                extent = slice_proto.extent.add(start=start)
                if length != -1:
                    extent.length = length
            record = SavedTensorSlices()
            record.data.name = name
            record.data.slice.CopyFrom(slice_proto)
            record.data.data.float_val.extend(value.ravel().tolist())
            records.append((encode_tensor_name_slice(name, extents), record.SerializeToString()))
    records.append((b"", meta.SerializeToString()))
    Path(path).write_bytes(build_table(sorted(records), block_size=block_size))


def test_v1_several_slices_and_multi_block_lookup(tmp_path):
    full = np.arange(40, dtype=np.float32).reshape(8, 5)
    other = np.linspace(-1, 1, 300, dtype=np.float32)
    tensors = {
        "a/weights": (
            (8, 5),
            [(((0, 3), (0, -1)), full[:3]), (((3, 5), (0, 2)), full[3:, :2]), (((3, 5), (2, 3)), full[3:, 2:])],
        ),
        "b/bias": ((300,), [(((0, -1),), other)]),
    }
    path = tmp_path / "synthetic.ckpt"
    _synthetic_v1(path, tensors, block_size=256)
    assert TableReader(path).num_data_blocks >= 2
    reader = open_checkpoint(path)
    np.testing.assert_array_equal(reader.get_tensor("a/weights"), full)
    np.testing.assert_array_equal(reader.get_tensor("b/bias"), other)


def test_v1_corrupt_block_names_the_variable(tmp_path):
    other = np.linspace(-1, 1, 300, dtype=np.float32)
    ones = np.ones(100, np.float32)  # big enough to close the first block: b/bias then lies in a block of its own
    tensors = {"a/weights": ((100,), [(((0, -1),), ones)]), "b/bias": ((300,), [(((0, -1),), other)])}
    path = tmp_path / "synthetic.ckpt"
    _synthetic_v1(path, tensors, block_size=256)
    data = path.read_bytes()
    _flip_byte(path, data.index(other[150:151].tobytes()))  # inside b/bias's block, not the metadata's
    reader = open_checkpoint(path)
    np.testing.assert_array_equal(reader.get_tensor("a/weights"), ones)
    with pytest.raises(DataLossError, match="While reading tensor b/bias: V1 checkpoint .*synthetic.ckpt.*CRC-32C"):
        reader.get_tensor("b/bias")


def test_v1_slices_that_leave_a_gap(tmp_path):
    path = tmp_path / "gap.ckpt"
    _synthetic_v1(path, {"w": ((4,), [(((0, 2),), np.ones(2, np.float32))])}, block_size=4096)
    with pytest.raises(CheckpointFormatError, match=r"slices of tensor w \(shape \[4\]\) leave 2 elements uncovered"):
        open_checkpoint(path).get_tensor("w")


def test_v1_value_count_mismatch(tmp_path):
    path = tmp_path / "count.ckpt"
    _synthetic_v1(path, {"w": ((4,), [(((0, -1),), np.ones(3, np.float32))])}, block_size=4096)
    with pytest.raises(CheckpointFormatError, match=r"holds 3 values in TensorProto.float_val, but its shape \[4\]"):
        open_checkpoint(path).get_tensor("w")
