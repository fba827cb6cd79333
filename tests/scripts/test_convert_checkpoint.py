"""convert_checkpoint: TF -> ours -> TF round trips on real TF checkpoints, list, errors, entry points, and the shell
commands of docs/pretrained.md.

The TF checkpoints are the fixtures of tests/fixtures/net_checkpoints (written by TensorFlow from tf_slim.nets; see
the README there): a thin ResNet v1 50 (V2), an Inception v3 with depth multiplier 0.1 (V1), and a V2 checkpoint
our converter wrote that TF restored (with EMA shadows and a global step).
"""

from __future__ import annotations

import json
import re
import runpy
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import slim
from slim.framework import checkpoint as ckpt_lib
from slim.framework.restore import assign_from_checkpoint_fn
from slim.framework.tf_checkpoint import CheckpointReader
from slim.scripts import convert_checkpoint, flagspec

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "net_checkpoints"
sys.path.insert(0, str(FIXTURES))
import net_cases as cases  # noqa: E402
import net_values  # noqa: E402

RESNET_V2 = FIXTURES / cases.CASES["resnet_v1_50"].v2_prefix
INCEPTION_V1_FILE = FIXTURES / cases.CASES["inception_v3"].v1_path
OURS_TO_TF = FIXTURES / cases.OURS_DIR / f"model.ckpt-{cases.OURS_STEP}"
RESNET_ARGS = json.dumps({"depth_multiplier": cases.RESNET_DEPTH_MULTIPLIER})
INCEPTION_ARGS = json.dumps({"depth_multiplier": cases.INCEPTION_V3_DEPTH_MULTIPLIER})


def tf_tensors(path) -> dict[str, np.ndarray]:
    reader = CheckpointReader(path)
    return {name: reader.get_tensor(name) for name, _ in reader.list_variables()}


def run_main(argv, capsys) -> tuple[int, str, str]:
    status = convert_checkpoint.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("source", "model_name", "model_args"),
    [(RESNET_V2, "resnet_v1_50", RESNET_ARGS), (INCEPTION_V1_FILE, "inception_v3", INCEPTION_ARGS)],
)
def test_tf_to_slim_to_tf_round_trip_gives_back_every_tensor(source, model_name, model_args, tmp_path, capsys):
    """TF -> ours -> TF: every tensor comes back with its name, shape, dtype and value (layouts converted both
    ways); the only addition is the int64 global step TF-Slim checkpoints carry."""
    status, out, _ = run_main(
        ["tf_to_slim", "--input", source, "--output", tmp_path / "slim" / "model.ckpt-0", "--model_name", model_name,
         "--model_args", model_args, "--labels_offset", "0"],
        capsys,
    )  # fmt: skip
    assert status == 0 and "wrote" in out
    data = ckpt_lib.read_checkpoint(tmp_path / "slim")
    assert data.metadata == {
        "model_name": model_name,
        "num_classes": 10,
        "model_args": json.loads(model_args),
        "labels_offset": 0,
        "global_step": 0,
        "converted_from": Path(source).name,
    }
    status, _, _ = run_main(["slim_to_tf", "--input", tmp_path / "slim", "--output", tmp_path / "tf" / "back"], capsys)
    assert status == 0
    original, back = tf_tensors(source), tf_tensors(tmp_path / "tf" / "back")
    assert set(back) == set(original) | {"global_step"} and back["global_step"] == np.int64(0)
    for name, value in original.items():
        assert back[name].dtype == value.dtype and np.array_equal(back[name], value), name
    assert CheckpointReader(tmp_path / "tf").path.endswith("back")  # the directory's checkpoint file names it


def test_converted_checkpoint_loads_into_the_network_with_tf_logits(tmp_path):
    """Ours (converted, in our layout) restores like the TF original and gives TF's logits; the class count was
    read from the checkpoint."""
    result = convert_checkpoint.tf_to_slim(
        RESNET_V2, tmp_path / "model.ckpt-0", "resnet_v1_50", model_args={"depth_multiplier": 0.0625}
    )
    assert result.metadata["num_classes"] == 10 and not result.skipped
    model = convert_checkpoint.build_network("resnet_v1_50", 10, {"depth_multiplier": 0.0625}, image_size=112)
    assign_from_checkpoint_fn(str(tmp_path), slim.get_variables_to_restore(model=model))(model)
    batch = torch.from_numpy(net_values.images_nhwc("resnet_v1_50", (2, 112, 112, 3))).permute(0, 3, 1, 2)
    with torch.no_grad():
        logits = model(batch.contiguous())[0].numpy()
    expected = np.load(FIXTURES / cases.OUTPUTS)["resnet_v1_50/logits"]
    assert np.abs(logits - expected).max() <= 1e-4 * np.abs(expected).max()


def test_ema_shadows_and_global_step_survive_both_ways_byte_for_byte(tmp_path):
    """The checkpoint our converter wrote and TF restored (EMA shadows, global step 200) goes to ours and back to
    exactly the same bytes."""
    result = convert_checkpoint.tf_to_slim(OURS_TO_TF, tmp_path / "slim" / "model.ckpt-200", cases.OURS_NET,
                                           cases.OURS_NUM_CLASSES, cases.OURS_MODEL_ARGS)  # fmt: skip
    data = ckpt_lib.read_checkpoint(result.prefix)
    assert data.global_step == cases.OURS_STEP
    shadows = [name for name in data.tensors if name.endswith("/ExponentialMovingAverage")]
    assert len(shadows) == len(data.tensors) // 2 > 0
    back = convert_checkpoint.slim_to_tf(result.prefix, tmp_path / "tf" / OURS_TO_TF.name).prefix
    for suffix in (".index", ".data-00000-of-00001"):
        assert Path(back + suffix).read_bytes() == Path(f"{OURS_TO_TF}{suffix}").read_bytes()


def test_slim_to_tf_leaves_out_optimizer_state_and_uses_the_flags_without_metadata(tmp_path, capsys):
    model = convert_checkpoint.build_network("resnet_v1_50", 3, {"depth_multiplier": 0.0625}, image_size=64)
    state = dict(model.state_dict())
    state["optimizer/resnet_v1_50/conv1/weights/momentum_buffer"] = torch.ones(64, 3, 7, 7)
    ckpt_lib.save_checkpoint(tmp_path / "run" / "model.ckpt-5", state, {"global_step": 5})
    argv = ["slim_to_tf", "--input", tmp_path / "run", "--output", tmp_path / "tf" / "model.ckpt-5"]
    status, _, err = run_main(argv, capsys)
    assert status == 2 and "no model_name in its metadata" in err and "--model_name" in err
    status, out, _ = run_main([*argv, "--model_name", "resnet_v1_50", "--num_classes", "3", "--model_args",
                               RESNET_ARGS, "--image_size", "64"], capsys)  # fmt: skip
    assert status == 0 and "left out 1 tensors" in out and "momentum_buffer" in out
    written = tf_tensors(tmp_path / "tf" / "model.ckpt-5")
    assert written["global_step"] == 5 and "optimizer/resnet_v1_50/conv1/weights/momentum_buffer" not in written
    assert written["resnet_v1_50/conv1/weights"].shape == (7, 7, 3, 64)  # HWIO again
    np.testing.assert_array_equal(
        written["resnet_v1_50/conv1/weights"], state["resnet_v1_50/conv1/weights"].permute(2, 3, 1, 0).numpy()
    )


def test_errors_name_the_file_and_the_variable(tmp_path, capsys):
    base = ["tf_to_slim", "--input", RESNET_V2, "--output", tmp_path / "out" / "model.ckpt-0"]
    status, _, err = run_main([*base, "--model_name", "resnet_v1_50", "--num_classes", "5", "--model_args",
                               RESNET_ARGS], capsys)  # fmt: skip
    assert status == 2 and str(RESNET_V2) in err
    assert "resnet_v1_50/logits/weights" in err and "--checkpoint_exclude_scopes=resnet_v1_50/logits" in err
    status, _, err = run_main([*base, "--model_name", "resnet_v1_50", "--num_classes", "10"], capsys)  # full width
    assert status == 2 and "depth_multiplier=0.0625" in err
    status, _, err = run_main([*base, "--model_name", "inception_v3", "--model_args", INCEPTION_ARGS], capsys)
    assert status == 2 and "none of inception_v3's logits variables" in err and str(RESNET_V2) in err
    status, _, err = run_main([*base, "--model_name", "inception_v3", "--model_args", INCEPTION_ARGS,
                               "--num_classes", "10"], capsys)  # fmt: skip
    assert status == 2 and str(RESNET_V2) in err
    assert "is missing variable(s) ['InceptionV3/Conv2d_1a_3x3/weights'" in err
    status, _, err = run_main(["list", tmp_path / "nothing"], capsys)
    assert status == 2 and str(tmp_path / "nothing") in err
    status, _, err = run_main([*base, "--model_name", "resnet_v1_50", "--model_args", "[0.5]"], capsys)
    assert status == 2 and "JSON object" in err
    with pytest.raises(SystemExit):
        convert_checkpoint.main(["tf_to_slim", "--input", str(RESNET_V2), "--output", str(tmp_path / "x")])
    assert "--model_name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_list_any_format(tmp_path, capsys):
    status, out, _ = run_main(["list", INCEPTION_V1_FILE], capsys)
    assert status == 0 and out.startswith(f"# {INCEPTION_V1_FILE} (TF V1 checkpoint, shapes in TF layout)")
    assert re.search(r"^InceptionV3/Conv2d_1a_3x3/weights +\[3, 3, 3, 16\] +float32$", out, re.M)
    status, out, _ = run_main(["list", RESNET_V2], capsys)
    assert status == 0 and "(TF V2 checkpoint" in out and re.search(r"^# \d+ tensors, [\d,]+ values$", out, re.M)
    convert_checkpoint.tf_to_slim(RESNET_V2, tmp_path / "model.ckpt-0", "resnet_v1_50", 10, RESNET_ARGS)
    status, out, _ = run_main(["list", tmp_path], capsys)
    assert status == 0 and "(slim checkpoint, shapes in our layout)" in out
    assert re.search(r"^resnet_v1_50/conv1/weights +\[64, 3, 7, 7\] +float32$", out, re.M)
    assert '# metadata: {"converted_from": "model.ckpt"' in out


def test_shell_and_console_script_entry_points():
    result = subprocess.run(
        [sys.executable, "-m", "slim.scripts.convert_checkpoint", "list", str(RESNET_V2)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "resnet_v1_50/logits/weights" in result.stdout
    scripts = (ROOT / "pyproject.toml").read_text().split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert 'convert_checkpoint = "slim.scripts.convert_checkpoint:main"' in scripts.splitlines()


# --- docs/pretrained.md ---------------------------------------------------------------------------------------------

DOC = ROOT / "docs" / "pretrained.md"


def doc_blocks() -> list[list[str]]:
    """The ```sh blocks of the doc, as lists of lines."""
    return [block.strip().splitlines() for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)]


def parse_only(argv: list[str]) -> None:
    """Checks an example command's script and flags without running it."""
    assert argv[:2] == ["python", "-m"], argv
    module, args = argv[2], argv[3:]
    if module == "slim.scripts.convert_checkpoint":
        convert_checkpoint._parser().parse_args(args)
    elif module == "slim.scripts.train_image_classifier":
        from slim.scripts.train_flags import TRAIN_FLAGS

        flagspec.parse_argv(TRAIN_FLAGS, args, "train_image_classifier", "")
    elif module == "slim.scripts.eval_image_classifier":
        from slim.scripts.eval_image_classifier import FLAGS

        flagspec.parse_argv(FLAGS, args, "eval_image_classifier", "")
    else:
        raise AssertionError(f"the doc test does not know {module}: add it")


def run_as_python_m(argv: list[str], monkeypatch) -> int:
    """Runs ``python -m <module> args`` in this process (as the shell would, without starting a new Python)."""
    assert argv[:2] == ["python", "-m"], argv
    monkeypatch.setattr(sys, "argv", [argv[2], *argv[3:]])
    try:
        with warnings.catch_warnings():  # "found in sys.modules": this process imported the module already
            warnings.simplefilter("ignore", RuntimeWarning)
            runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_every_shell_command_of_the_doc_is_run_or_a_checked_example(tmp_path, monkeypatch, capsys):
    """Runnable blocks run from the repository root (``/tmp/`` -> a temporary directory) and succeed; example
    blocks (first line ``# Example: ...``) use existing scripts and flags."""
    monkeypatch.chdir(ROOT)
    blocks = doc_blocks()
    assert len(blocks) >= 4
    ran = 0
    for lines in blocks:
        example = lines[0].startswith("# Example:")
        for line in lines[1:] if example else lines:
            argv = shlex.split(line)
            if example:
                parse_only(argv)
                continue
            argv = [arg.replace("/tmp/", f"{tmp_path}/") for arg in argv]
            assert run_as_python_m(argv, monkeypatch) == 0, (line, capsys.readouterr().err)
            ran += 1
    assert ran >= 5
    out = capsys.readouterr().out
    assert "(slim checkpoint, shapes in our layout)" in out and "tensors read and verified" in out
