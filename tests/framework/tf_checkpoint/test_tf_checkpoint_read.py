"""Reading real TF checkpoints (made by tests/fixtures/tf_checkpoint/make_checkpoints.py) equals what TF reads."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from slim.framework.tf_checkpoint import (
    CheckpointReader,
    TensorNotFoundError,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
    open_checkpoint,
    write_v2_checkpoint,
)
from slim.framework.tf_checkpoint.protos import BundleEntryProto, BundleHeaderProto
from slim.framework.tf_checkpoint.sstable import TableReader, build_table

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tf_checkpoint"
V2_PREFIX = FIXTURES / "tf_v2" / "model.ckpt-1234"
V1_FILE = FIXTURES / "tf_v1" / "model.ckpt"
TF2_DIR = FIXTURES / "tf2_object"  # a TF2 object-based checkpoint (tf.train.Checkpoint)
TF_VALUES = np.load(FIXTURES / "tf_values.npz")
TF_DTYPES = json.loads((FIXTURES / "tf_dtypes.json").read_text())


def _expected(fmt):
    return {key[len(fmt) + 1 :]: TF_VALUES[key] for key in TF_VALUES.files if key.startswith(fmt + "/")}


def _comparable(value):
    return value.astype("S") if value.dtype == object else value


@pytest.mark.parametrize("fmt, path", [("v2", V2_PREFIX), ("v1", V1_FILE), ("tf2", TF2_DIR)])
def test_values_equal_what_tf_reads(fmt, path):
    reader = open_checkpoint(path)
    expected = _expected(fmt)
    assert reader.format == ("V1" if fmt == "v1" else "V2")
    assert sorted(reader.get_variable_to_shape_map()) == sorted(expected)
    for name, value in expected.items():
        got = reader.get_tensor(name)
        assert got.shape == value.shape, name
        assert _comparable(got).dtype == value.dtype, name
        np.testing.assert_array_equal(_comparable(got), value, err_msg=name)


@pytest.mark.parametrize("fmt, path", [("v2", V2_PREFIX), ("v1", V1_FILE), ("tf2", TF2_DIR)])
def test_shapes_and_dtypes_equal_what_tf_reports(fmt, path):
    reader = open_checkpoint(path)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    assert {name: [dtypes[name], shapes[name]] for name in shapes} == TF_DTYPES[fmt]


def test_v2_specific_dtypes():
    reader = open_checkpoint(V2_PREFIX)
    assert reader.get_variable_to_dtype_map()["bf16"] == "bfloat16"
    assert reader.get_tensor("bf16").dtype == np.float32  # bfloat16 values, held exactly in float32
    assert reader.get_tensor("global_step").dtype == np.int64 and reader.get_tensor("global_step").shape == ()
    assert reader.get_tensor("words").tolist() == [b"ab", b"", b"x\x00y"]


def test_tf2_object_graph_is_a_string_scalar():
    reader = open_checkpoint(TF2_DIR)
    graph = reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
    assert graph.shape == () and isinstance(graph.item(), bytes) and len(graph.item()) > 50
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 42


def test_partitioned_variables_are_reassembled():
    for path in (V2_PREFIX, V1_FILE):
        reader = open_checkpoint(path)
        assert reader.get_variable_to_shape_map()["part/weights"] == [6, 2]
        assert reader.get_variable_to_shape_map()["part_cols/weights"] == [2, 5]
        assert not any("/part_" in name for name, _ in reader.list_variables())  # no per-partition names
        for name in ("part/weights", "part_cols/weights"):
            np.testing.assert_array_equal(reader.get_tensor(name), TF_VALUES[f"{reader.format.lower()}/{name}"])


def test_list_variables_is_sorted_name_shape_pairs():
    listed = list_variables(V2_PREFIX)
    assert [name for name, _ in listed] == sorted(name for name, _ in listed)
    assert dict(listed) == open_checkpoint(V2_PREFIX).get_variable_to_shape_map()
    assert ("global_step", []) in listed


@pytest.mark.parametrize(
    "path",
    [
        V2_PREFIX,
        FIXTURES / "tf_v2",  # directory: its checkpoint file names model.ckpt-1234 relative to it
        Path(f"{V2_PREFIX}.index"),
        Path(f"{V2_PREFIX}.data-00000-of-00001"),
        str(V2_PREFIX),
    ],
)
def test_v2_path_forms_resolve_to_the_prefix(path):
    reader = CheckpointReader(path)
    assert reader.path == str(V2_PREFIX)
    assert reader.format == "V2"


def test_v1_directory_and_file():
    assert open_checkpoint(FIXTURES / "tf_v1").path == str(V1_FILE)
    assert open_checkpoint(V1_FILE).format == "V1"


def test_latest_checkpoint():
    assert latest_checkpoint(FIXTURES / "tf_v2") == str(V2_PREFIX)
    assert latest_checkpoint(FIXTURES / "tf_v1") == str(V1_FILE)
    assert latest_checkpoint(FIXTURES) is None  # no checkpoint file there


def test_absolute_path_in_checkpoint_file(tmp_path):
    directory = tmp_path / "train"
    shutil.copytree(FIXTURES / "tf_v2", directory)
    (directory / "checkpoint").write_text(f'model_checkpoint_path: "{directory / "model.ckpt-1234"}"\n')
    assert open_checkpoint(directory).path == str(directory / "model.ckpt-1234")
    assert latest_checkpoint(directory) == str(directory / "model.ckpt-1234")


def test_moved_directory_with_stale_absolute_path(tmp_path):
    directory = tmp_path / "copied"
    shutil.copytree(FIXTURES / "tf_v2", directory)
    (directory / "checkpoint").write_text('model_checkpoint_path: "/gone/elsewhere/model.ckpt-1234"\n')
    assert latest_checkpoint(directory) == str(directory / "model.ckpt-1234")
    assert open_checkpoint(directory).get_tensor("global_step") == 1234


def test_sharded_v1_pattern(tmp_path):
    # A sharded V1 save names its files <prefix>-NNNNN-of-MMMMM; one shard is enough to exercise the lookup.
    shutil.copy(V1_FILE, tmp_path / "model.ckpt-00000-of-00001")
    for path in (tmp_path / "model.ckpt", tmp_path / "model.ckpt-?????-of-00001"):
        reader = open_checkpoint(path)
        assert reader.format == "V1"
        np.testing.assert_array_equal(reader.get_tensor("part/weights"), TF_VALUES["v1/part/weights"])


def test_missing_tensor_suggests_close_names():
    reader = open_checkpoint(V2_PREFIX)
    with pytest.raises(TensorNotFoundError, match=r"Similar names: \['InceptionV3/Conv2d_1a_3x3/weights'"):
        reader.get_tensor("InceptionV3/Conv2d_1a_3x3/weight")
    with pytest.raises(KeyError):
        reader.get_tensor("nothing/like/this")
    assert not reader.has_tensor("nothing") and reader.has_tensor("words") and "words" in reader


def test_load_variable_and_load_checkpoint_follow_tf_names():
    np.testing.assert_array_equal(load_variable(V2_PREFIX, "half:0"), TF_VALUES["v2/half"])
    assert load_checkpoint(FIXTURES / "tf_v1").format == "V1"


def test_v2_with_two_data_shards(tmp_path):
    """As TF's MergeV2Checkpoints leaves a sharded save: one index, entries pointing into two data files."""
    parts = [{"a/w": np.arange(4.0), "c/w": np.ones(2, np.int32)}, {"b/w": np.full((2, 2), 7, np.int64)}]
    records = {}
    for shard_id, tensors in enumerate(parts):
        prefix = write_v2_checkpoint(tmp_path / f"part{shard_id}", tensors)
        Path(f"{prefix}.data-00000-of-00001").rename(tmp_path / f"model.ckpt.data-{shard_id:05d}-of-00002")
        for key, value in TableReader(f"{prefix}.index").items():
            if key:
                entry = BundleEntryProto()
                entry.ParseFromString(value)
                entry.shard_id = shard_id
                records[key] = entry.SerializeToString()
    header = BundleHeaderProto(num_shards=2)
    (tmp_path / "model.ckpt.index").write_bytes(
        build_table([(b"", header.SerializeToString())] + sorted(records.items()))
    )
    reader = open_checkpoint(tmp_path / "model.ckpt")
    assert [name for name, _ in reader.list_variables()] == ["a/w", "b/w", "c/w"]
    for tensors in parts:
        for name, value in tensors.items():
            np.testing.assert_array_equal(reader.get_tensor(name), value)
            assert reader.get_tensor(name).dtype == value.dtype
