"""`python -m slim.framework.tf_checkpoint list|verify PATH`."""

import shutil
import subprocess
import sys
from pathlib import Path

from slim.framework.tf_checkpoint import open_checkpoint
from slim.framework.tf_checkpoint.__main__ import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tf_checkpoint"


def test_list_prints_name_shape_dtype_per_variable(capsys):
    assert main(["list", str(FIXTURES / "tf_v1" / "model.ckpt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    reader = open_checkpoint(FIXTURES / "tf_v1" / "model.ckpt")
    rows = [line.split() for line in lines if not line.startswith("#")]
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    expected = [[name, str(shapes[name]).replace(" ", ""), dtypes[name]] for name, _ in reader.list_variables()]
    assert [[r[0], "".join(r[1:-1]), r[-1]] for r in rows] == expected
    assert lines[0] == f"# {reader.path} (TF V1 checkpoint)"
    assert lines[-1].startswith(f"# {len(expected)} tensors")


def test_verify_reports_corrupt_tensors(tmp_path, capsys):
    directory = tmp_path / "ckpt"
    shutil.copytree(FIXTURES / "tf_v2", directory)
    assert main(["verify", str(directory)]) == 0
    assert "15 of 15 tensors read and verified" in capsys.readouterr().out
    data_path = directory / "model.ckpt-1234.data-00000-of-00001"
    data = bytearray(data_path.read_bytes())
    data[10] ^= 0xFF
    data_path.write_bytes(bytes(data))
    assert main(["verify", str(directory)]) == 1
    captured = capsys.readouterr()
    assert "14 of 15 tensors" in captured.out
    assert "FAILED" in captured.err and "CRC-32C" in captured.err


def test_unusable_path_exits_2_with_the_reason(tmp_path, capsys):
    assert main(["list", str(tmp_path / "missing.ckpt")]) == 2
    assert "error: No TF checkpoint at" in capsys.readouterr().err


def test_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "slim.framework.tf_checkpoint", "list", str(FIXTURES / "tf_v2")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "global_step" in result.stdout and "bfloat16" in result.stdout
