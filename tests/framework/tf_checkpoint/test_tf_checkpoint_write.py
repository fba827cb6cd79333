"""Our V2 writer: round trips, the committed evidence that real TF reads its output, atomic writes."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from slim.framework.tf_checkpoint import (
    latest_checkpoint,
    open_checkpoint,
    read_checkpoint_state,
    update_checkpoint_state,
    write_v2_checkpoint,
)
from slim.framework.tf_checkpoint.sstable import TableReader

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tf_checkpoint"


def _load_write_ours():
    spec = importlib.util.spec_from_file_location("write_ours", FIXTURES / "write_ours.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WRITE_OURS = _load_write_ours()
READBACK = np.load(FIXTURES / "ours_tf_readback.npz")


def _as_numpy(value):
    """What our reader should return for an input value (bfloat16 as float32, strings as bytes)."""
    if isinstance(value, torch.Tensor):
        return value.float().numpy()
    value = np.asarray(value)
    if value.dtype.kind in "OSU":
        flat = [v.encode() if isinstance(v, str) else bytes(v) for v in value.reshape(-1).tolist()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(value.shape)
    return value


def _assert_same(got, expected, name):
    assert got.shape == expected.shape, name
    assert got.dtype == expected.dtype, name
    if got.dtype == object:
        assert got.tolist() == expected.tolist(), name
    else:
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_round_trip_every_dtype(tmp_path):
    inputs = WRITE_OURS.typed_inputs()
    prefix = write_v2_checkpoint(tmp_path / "model.ckpt-1234", inputs)
    reader = open_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(inputs)
    for name, value in inputs.items():
        _assert_same(reader.get_tensor(name), _as_numpy(value), name)
    assert reader.get_variable_to_dtype_map()["bfloat16_vector"] == "bfloat16"
    assert reader.get_variable_to_dtype_map()["string_scalar"] == "string"


def test_writer_reproduces_the_committed_checkpoints_byte_for_byte(tmp_path):
    """The committed files are the ones TF read back (make_checkpoints.py): today's writer must still make them."""
    cases = [
        (WRITE_OURS.TYPED_PREFIX, WRITE_OURS.typed_inputs(), {}),
        (
            WRITE_OURS.MANY_PREFIX,
            WRITE_OURS.many_inputs(),
            {"block_size": WRITE_OURS.MANY_BLOCK_SIZE, "restart_interval": WRITE_OURS.MANY_RESTART_INTERVAL},
        ),
    ]
    for committed, inputs, options in cases:
        ours = write_v2_checkpoint(tmp_path / committed.name, inputs, **options)
        for suffix in (".index", ".data-00000-of-00001"):
            assert Path(ours + suffix).read_bytes() == Path(str(committed) + suffix).read_bytes(), suffix


def test_tf_read_our_typed_checkpoint_back_exactly():
    inputs = WRITE_OURS.typed_inputs()
    for kind in ("load", "restore"):
        names = sorted(key.split("/", 2)[2] for key in READBACK.files if key.startswith(f"{kind}/typed/"))
        assert names == sorted(inputs), kind
        for name, value in inputs.items():
            expected = _as_numpy(value)
            tf_value = READBACK[f"{kind}/typed/{name}"]
            if expected.dtype == object:
                expected = expected.astype("S")  # how the fixture script stored TF's strings
            _assert_same(tf_value, expected, f"{kind}/{name}")


def test_tf_read_our_multi_block_index_back_exactly():
    inputs = WRITE_OURS.many_inputs()
    assert TableReader(f"{WRITE_OURS.MANY_PREFIX}.index").num_data_blocks > 5  # TF had to walk many blocks
    names = sorted(inputs)
    flat = np.concatenate([inputs[n].ravel() for n in names])
    for kind in ("load", "restore"):
        assert READBACK[f"{kind}/many/names"].tolist() == [n.encode() for n in names]
        np.testing.assert_array_equal(READBACK[f"{kind}/many/values"], flat)


def test_large_synthetic_checkpoint_round_trips_through_many_blocks(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(200):
        shape = tuple(rng.integers(1, 5, size=i % 4))
        dtype = (np.float32, np.float64, np.int32, np.int64, np.float16)[i % 5]
        tensors[f"net/stage_{i // 20}/layer_{i:03d}/var_{i % 7}"] = (rng.standard_normal(shape) * 100).astype(dtype)
    prefix = write_v2_checkpoint(tmp_path / "big", tensors, block_size=1024)
    assert TableReader(f"{prefix}.index").num_data_blocks > 5
    reader = open_checkpoint(prefix)
    assert [name for name, _ in reader.list_variables()] == sorted(tensors)
    for name, value in tensors.items():
        _assert_same(reader.get_tensor(name), value, name)
    # With TF's default block size the same tensors fit in one block and read back the same.
    single = open_checkpoint(write_v2_checkpoint(tmp_path / "one", tensors))
    assert TableReader(f"{single.path}.index").num_data_blocks == 1
    for name, value in tensors.items():
        _assert_same(single.get_tensor(name), value, name)


def test_accepted_value_kinds(tmp_path):
    prefix = write_v2_checkpoint(
        tmp_path / "kinds",
        {
            "python_int": 7,
            "python_float": 0.5,
            "list": [[1, 2], [3, 4]],
            "unicode": np.array(["a", "\u00fc"]),
            "big_endian": np.arange(3, dtype=">f4"),
            "non_contiguous": np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],
            "torch_float": torch.arange(4, dtype=torch.float32).reshape(2, 2).requires_grad_(),
        },
    )
    reader = open_checkpoint(prefix)
    assert reader.get_tensor("python_int").dtype == np.int64 and reader.get_tensor("python_int") == 7
    assert reader.get_tensor("python_float").dtype == np.float64
    np.testing.assert_array_equal(reader.get_tensor("list"), [[1, 2], [3, 4]])
    assert reader.get_tensor("unicode").tolist() == [b"a", "\u00fc".encode()]
    _assert_same(reader.get_tensor("big_endian"), np.arange(3, dtype=np.float32), "big_endian")
    np.testing.assert_array_equal(reader.get_tensor("non_contiguous"), [[0, 2], [4, 6], [8, 10]])
    np.testing.assert_array_equal(reader.get_tensor("torch_float"), [[0, 1], [2, 3]])


def test_invalid_names_and_values(tmp_path):
    with pytest.raises(ValueError, match="non-empty strings"):
        write_v2_checkpoint(tmp_path / "bad", {"": np.zeros(1)})
    with pytest.raises(ValueError, match="non-empty strings"):
        write_v2_checkpoint(tmp_path / "bad", {"\x00slice": np.zeros(1)})
    with pytest.raises(TypeError, match="tensor when: numpy dtype datetime64.* has no TF checkpoint equivalent"):
        write_v2_checkpoint(tmp_path / "bad", {"when": np.array(["2020-01-01"], dtype="datetime64[D]")})
    with pytest.raises(TypeError, match="tensor objects: numpy dtype object"):
        write_v2_checkpoint(tmp_path / "bad", {"objects": np.array([1, "a"], dtype=object)})
    assert list(tmp_path.iterdir()) == []  # nothing written when the input is rejected


def test_failed_write_leaves_the_previous_checkpoint_and_no_temporaries(tmp_path, monkeypatch):
    prefix = write_v2_checkpoint(tmp_path / "model.ckpt", {"w": np.ones(3, np.float32)})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if str(dst).endswith(".index"):
            raise OSError("disk full (simulated)")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        write_v2_checkpoint(prefix, {"w": np.zeros(3, np.float32)})
    monkeypatch.undo()
    assert any(str(c).endswith(".data-00000-of-00001") for c in calls)  # the data went in first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no temporary files left
    assert (tmp_path / "model.ckpt.index").read_bytes() == before["model.ckpt.index"]


def test_checkpoint_state_file(tmp_path):
    first = write_v2_checkpoint(tmp_path / "run" / "model.ckpt-1", {"w": np.ones(1)}, write_checkpoint_state=True)
    second = write_v2_checkpoint(tmp_path / "run" / "model.ckpt-2", {"w": np.ones(1)}, write_checkpoint_state=True)
    text = (tmp_path / "run" / "checkpoint").read_text()
    assert text == (
        'model_checkpoint_path: "model.ckpt-2"\n'
        'all_model_checkpoint_paths: "model.ckpt-1"\n'
        'all_model_checkpoint_paths: "model.ckpt-2"\n'
    )
    assert latest_checkpoint(tmp_path / "run") == second
    state = read_checkpoint_state(tmp_path / "run")
    assert list(state.all_model_checkpoint_paths) == [first, second]
    assert open_checkpoint(tmp_path / "run").path == second
    # Rewriting the newest checkpoint does not list it twice; a deleted one drops out of the list.
    for suffix in (".index", ".data-00000-of-00001"):
        os.unlink(first + suffix)
    update_checkpoint_state(tmp_path / "run", second)
    assert list(read_checkpoint_state(tmp_path / "run").all_model_checkpoint_paths) == [second]


def test_checkpoint_state_with_a_path_outside_the_directory(tmp_path):
    outside = write_v2_checkpoint(tmp_path / "elsewhere" / "model.ckpt-9", {"w": np.ones(1)})
    update_checkpoint_state(tmp_path / "run", outside)
    assert f'model_checkpoint_path: "{outside}"' in (tmp_path / "run" / "checkpoint").read_text()
    assert latest_checkpoint(tmp_path / "run") == outside


def test_round_trip_of_dtypes_tf_slim_never_saves(tmp_path):
    tensors = {
        "complex64": np.array([1 + 2j, -3.5j], np.complex64),
        "complex128": np.array([[1e-300 + 1j]], np.complex128),
        "uint16": np.array([0, 65535], np.uint16),
        "uint32": np.array([2**32 - 1], np.uint32),
        "uint64": np.array([2**64 - 1, 3], np.uint64),
    }
    reader = open_checkpoint(write_v2_checkpoint(tmp_path / "odd", tensors))
    assert reader.get_variable_to_dtype_map() == {name: name for name in tensors}
    for name, value in tensors.items():
        _assert_same(reader.get_tensor(name), value, name)
