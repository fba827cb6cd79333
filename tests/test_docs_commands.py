"""Every command of the guides runs as documented, in order, on small data the tests make (offline).

The ```bash blocks of docs/getting_started.md, own_images.md, export.md, quantization.md and distributed.md are
extracted by tests/docs_commands.py. Each command runs in this process through its script's ``main(argv)``, or as a
subprocess where it starts processes itself (torchrun, two machines). The working directory is a temporary one, so the
docs' relative paths (``slim_demo/...``, ``my_photos``, ``runs/...``) land there, and ``/tmp/`` paths are moved under
it. The tables below are everything the
tests change; every other flag runs as written. None of these guides downloads anything (the digits ship with
scikit-learn; the downloaders are tested on local archives in tests/datasets/). docs/pretrained.md's commands run in
tests/scripts/test_convert_checkpoint.py, the ```python blocks of docs/porting_from_tf_slim.md in
tests/test_docs_porting.py.

What the tests make in place of what a reader has:

- ``my_photos/``: two classes of 16x16 PNGs, from tests/classification/conftest.py's dataset builder;
- ``checkpoints/mobilenet_v1_0.25_128.ckpt``: the network's initial weights (1001 classes) in TF's V2 format;
- ``checkpoints/inception_v3.ckpt``: the same for LeNet, as export.md runs LeNet (see EXPORT);
- ``flower.jpg`` and ``imagenet_labels.txt``: a random 40x30 JPEG; ``background`` and 1000 class names;
- ``slim_demo/export/held_out_digit.png``: the image ``python -m slim`` writes there (``slim.demo._held_out_image``).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from docs_commands import DocCommand, flag_table, run_script, script_commands, under, with_flags
from PIL import Image

from slim.framework import checkpoint as ckpt_lib
from slim.nets import nets_factory
from slim.scripts.flagspec import parse_argv

TESTS = Path(__file__).resolve().parent
Overrides = Mapping[str, Mapping[str, str]]

# --- What the tests change: {script: {flag: value}} per guide --------------------------------------------------------

#: getting_started.md: 3 of the 1500 training steps; freeze_graph then takes the checkpoint of step 3.
GETTING_STARTED: Overrides = {
    "train_image_classifier": {"max_number_of_steps": "3"},
    "freeze_graph": {"input_checkpoint": "slim_demo/train/model.ckpt-3"},
}
#: own_images.md: 2 training steps of 2 images per stage (MobileNet v1 0.25 at 128 pixels, as documented).
OWN_IMAGES: Overrides = {"train_image_classifier": {"max_number_of_steps": "2", "batch_size": "2"}}
#: export.md: LeNet in place of Inception v3, whose export and freeze take about a minute on 2 CPU cores (the one
#: exception to "as documented"; the output name follows the network).
EXPORT: Overrides = {
    "export_inference_graph": {"model_name": "lenet"},
    "freeze_graph": {"output_node_names": "LeNet/Predictions"},
}
#: quantization.md: LeNet in place of MobileNet v1 (its quantized export alone takes over 30 s), 3 training steps of 2
#: images with quantization from the first (``--quantize_delay=1``); freeze_graph takes the checkpoint of step 3.
QUANTIZATION: Overrides = {
    "train_image_classifier": {
        "model_name": "lenet",
        "max_number_of_steps": "3",
        "batch_size": "2",
        "quantize_delay": "1",
    },
    "eval_image_classifier": {"model_name": "lenet"},
    "export_inference_graph": {"model_name": "lenet"},
    "freeze_graph": {"input_checkpoint": "runs/qat/model.ckpt-3", "output_node_names": "LeNet/Predictions"},
}
#: distributed.md: 3 training steps; for the two machines, both run here: ``host0`` becomes 127.0.0.1, the port of
#: ``--master`` a free one.
DISTRIBUTED: Overrides = {"train_image_classifier": {"max_number_of_steps": "3"}}

#: The scripts each guide runs, in order.
SCRIPTS = {
    "getting_started.md": [
        "download_and_convert_data",
        "train_image_classifier",
        "eval_image_classifier",
        "export_inference_graph",
        "freeze_graph",
        "label_image",
        "plot_curves",
    ],
    "own_images.md": ["download_and_convert_data"] + ["train_image_classifier"] * 2 + ["eval_image_classifier"],
    "export.md": ["export_inference_graph", "freeze_graph", "label_image"],
    "quantization.md": ["train_image_classifier", "eval_image_classifier", "export_inference_graph", "freeze_graph"],
    "distributed.md": ["train_image_classifier"] * 6,
}
#: The flags of train_image_classifier that say how training is deployed (distributed.md's commands differ in these).
DEPLOYMENT_FLAGS = {"num_clones", "clone_on_cpu", "worker_replicas", "task", "master"}


# --- Helpers ---------------------------------------------------------------------------------------------------------


def run_guide(
    doc: str, overrides: Overrides, before: Mapping[str, Callable[[], object]] | None = None
) -> list[DocCommand]:
    """Runs the guide's commands in order in this process (the working directory is the test's); ``before`` maps a
    script to a function called before its command runs (to make a stand-in the reader would have)."""
    commands = script_commands(doc)
    for command in commands:
        if before and command.script in before:
            before[command.script]()
        flags = with_flags(under(command.flags, Path.cwd()), overrides.get(command.script, {}))
        assert run_script(command.script, flags) == 0, (doc, command.script, flags)
    return commands


def last_step(train_dir: str | Path) -> int:
    """The global step of the newest checkpoint in ``train_dir``."""
    return ckpt_lib.read_checkpoint(ckpt_lib.latest_checkpoint(train_dir)).global_step


def photo_folder(path: Path) -> None:
    """A folder of two classes of small images at ``path``, made by the classification tests' dataset builder."""
    spec = importlib.util.spec_from_file_location("classification_test_data", TESTS / "classification" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_two_class_dataset(path.parent / "stand_in", 5, num_validation=1, num_shards=1)
    shutil.move(path.parent / "stand_in" / "photos", path)


def tf_checkpoint(prefix: Path, model_name: str, num_classes: int) -> None:
    """The network's initial weights as a TF V2 checkpoint at ``prefix``: a stand-in for a published checkpoint."""
    from slim.scripts.convert_checkpoint import build_network, slim_to_tf

    model = build_network(model_name, num_classes)
    ours = ckpt_lib.save_checkpoint(prefix.parent / "ours" / "model.ckpt-0", model.state_dict(), {"global_step": 0})
    slim_to_tf(ours, prefix, model=model)


def network_scope(model_name: str) -> str:
    """The variable scope of a nets-factory network (the prefix of its output names), without building it."""
    return inspect.signature(nets_factory.get_network_spec(model_name).fn).parameters["scope"].default


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def python_argv(command: DocCommand, flags: Sequence[str]) -> list[str]:
    """The command line of a documented command for a subprocess: ``python`` is this interpreter, ``torchrun`` is
    ``python -m torch.distributed.run`` (the same launcher, run by this interpreter)."""
    head = list(command.launcher)
    program = [sys.executable, "-m", "torch.distributed.run"] if head[0] == "torchrun" else [sys.executable]
    return program + head[1:] + list(flags)


def run_together(argvs: Sequence[Sequence[str]], cwd: Path, timeout: float = 240) -> None:
    """Runs the command lines at the same time (as on two machines) and checks that each exits with 0."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    processes = [
        subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for argv in argvs
    ]
    try:
        for process, argv in zip(processes, argvs):
            output, _ = process.communicate(timeout=timeout)
            assert process.returncode == 0, (argv, output[-4000:])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


# --- Every command parses, and the guides agree with themselves ----------------------------------------------------


@pytest.mark.parametrize("doc", sorted(SCRIPTS))
def test_every_command_names_a_script_and_flags_that_parse(doc: str) -> None:
    commands = script_commands(doc)
    assert [command.script for command in commands] == SCRIPTS[doc]
    for command in commands:
        table = flag_table(command.script)
        if table is None:  # label_image, plot_curves: argparse / their own parser, run by the tests below
            continue
        flags = parse_argv(table, command.flags, command.script, "")
        for arg in command.flags:
            name = arg[2:].split("=", 1)[0]
            assert name in flags or name[2:] in flags, (doc, command.script, name)


def test_documented_training_flags_are_the_demos() -> None:
    """getting_started.md's training is the one ``python -m slim`` runs (TF-Slim's LeNet recipe)."""
    train = script_commands("getting_started.md")[1]
    from slim.scripts.train_flags import TRAIN_FLAGS

    flags = parse_argv(TRAIN_FLAGS, train.flags, train.script, "")
    assert flags["model_name"] == "lenet" and flags["max_number_of_steps"] == 1500
    assert flags["optimizer"] == "sgd" and flags["learning_rate"] == 0.01 and flags["batch_size"] == 50


@pytest.mark.parametrize("doc", ["getting_started.md", "quantization.md"])
def test_freeze_graph_takes_the_checkpoint_of_the_last_training_step(doc: str) -> None:
    """What the tests override (the step) is the only thing that changes: the documented checkpoint is the one the
    documented training writes last."""
    commands = {command.script: command for command in script_commands(doc)}
    train, freeze = commands["train_image_classifier"], commands["freeze_graph"]
    expected = f"{train.flag('train_dir')}/model.ckpt-{train.flag('max_number_of_steps')}"
    assert freeze.flag("input_checkpoint") == expected


@pytest.mark.parametrize(("doc", "model_name"), [("export.md", "inception_v3"), ("quantization.md", "mobilenet_v1")])
def test_documented_output_names_are_the_documented_networks(doc: str, model_name: str) -> None:
    """Where a test runs LeNet instead, the documented network and output names still belong together."""
    commands = script_commands(doc)
    assert {c.flag("model_name") for c in commands if c.flag("model_name")} == {model_name}
    freeze = next(command for command in commands if command.script == "freeze_graph")
    assert freeze.flag("output_node_names") == f"{network_scope(model_name)}/Predictions"


def test_distributed_commands_differ_only_in_how_they_deploy() -> None:
    """The six commands train the same thing; the torchrun pair differs only in --node_rank."""
    commands = script_commands("distributed.md")
    trainings = {tuple(arg for arg in c.flags if arg[2:].split("=", 1)[0] not in DEPLOYMENT_FLAGS) for c in commands}
    assert len(trainings) == 1
    torchrun = [c.launcher for c in commands if c.launcher[0] == "torchrun"]
    assert [launcher[1] for launcher in torchrun] == ["--standalone", "--nnodes=2", "--nnodes=2"]
    assert {"--node_rank=0", "--node_rank=1"} == {torchrun[1][3], torchrun[2][3]}
    assert with_flags(torchrun[1], {"node_rank": "1"}) == list(torchrun[2])


# --- The guides, run ------------------------------------------------------------------------------------------------


def test_getting_started_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from slim.demo import _held_out_image

    monkeypatch.chdir(tmp_path)
    stand_ins = {"label_image": lambda: _held_out_image("slim_demo/data", "slim_demo/export")}
    run_guide("getting_started.md", GETTING_STARTED, before=stand_ins)
    assert last_step("slim_demo/train") == 3
    assert list(Path("slim_demo/eval").glob("events.out.tfevents.*"))
    assert Path("slim_demo/export/lenet_inf_graph.pt2").is_file()
    out = capsys.readouterr().out
    top5 = [line for line in out.splitlines() if line.endswith(")") and " (" in line]
    labels = [line.split(":", 1)[1] for line in Path("slim_demo/data/labels.txt").read_text().split()]
    assert len(top5) == 5 and all(line.split(" (")[0] in labels for line in top5), out
    assert Image.open("slim_demo/curves.png").size[0] > 0


def test_own_images_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    photo_folder(tmp_path / "my_photos")
    tf_checkpoint(tmp_path / "checkpoints" / "mobilenet_v1_0.25_128.ckpt", "mobilenet_v1_025", 1001)
    run_guide("own_images.md", OWN_IMAGES)
    assert last_step("runs/my_photos") == 2 and last_step("runs/my_photos/all") == 2
    assert list(Path("runs/my_photos/eval").glob("events.out.tfevents.*"))


def test_export_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    tf_checkpoint(tmp_path / "checkpoints" / "inception_v3.ckpt", "lenet", 1001)
    pixels = np.random.default_rng(0).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save("flower.jpg")
    Path("imagenet_labels.txt").write_text("background\n" + "".join(f"class {i}\n" for i in range(1, 1001)))
    run_guide("export.md", EXPORT)
    assert Path("export/frozen_inception_v3.pt2").is_file()
    top5 = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("class ", "background"))]
    assert len(top5) == 5


def test_quantization_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the TFRecords of own_images.md's first command, as the guide says."""
    monkeypatch.chdir(tmp_path)
    photo_folder(tmp_path / "my_photos")
    convert = script_commands("own_images.md")[0]
    assert run_script(convert.script, convert.flags) == 0
    run_guide("quantization.md", QUANTIZATION)
    data = ckpt_lib.read_checkpoint(ckpt_lib.latest_checkpoint("runs/qat"))
    assert data.global_step == 3 and "LeNet/conv1/act_quant/min" in data.tensors
    assert Path("export/frozen_mobilenet_v1_quant.onnx").is_file()


# --- distributed.md: one machine, and two machines simulated on this one ---------------------------------------------


@pytest.fixture
def digits_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with getting_started.md's digits (its first command), as distributed.md assumes."""
    monkeypatch.chdir(tmp_path)
    convert = script_commands("getting_started.md")[0]
    assert run_script(convert.script, convert.flags) == 0
    return tmp_path


def distributed_commands() -> list[tuple[DocCommand, list[str]]]:
    """distributed.md's commands with their overridden flags."""
    overrides = DISTRIBUTED["train_image_classifier"]
    return [(c, with_flags(under(c.flags, Path.cwd()), overrides)) for c in script_commands("distributed.md")]


def test_distributed_torchrun_commands_parse() -> None:
    """torchrun's own flags, as torchrun parses them. The two-machine torchrun pair is not run: under torchrun the
    script does the same whatever the number of machines (tested by the standalone run below), and the rest is
    torchrun's own rendezvous; running the pair here would add ~15 s of CPU to the suite."""
    from torch.distributed.run import get_args_parser

    torchrun = [c for c in script_commands("distributed.md") if c.launcher[0] == "torchrun"]
    launched = [(c, get_args_parser().parse_args([*c.launcher[1:], *c.flags])) for c in torchrun]
    for command, args in launched:
        assert (
            args.module and args.training_script == command.module and args.training_script_args == list(command.flags)
        )
    (_, standalone), (_, host0), (_, host1) = launched
    assert standalone.standalone and standalone.nproc_per_node == "2"
    assert (host0.nnodes, host0.nproc_per_node, host0.master_addr, host0.master_port) == ("2", "1", "host0", 29500)
    assert (host0.node_rank, host1.node_rank) == (0, 1)


def test_distributed_num_clones_on_cpu_runs(digits_workdir: Path) -> None:
    command, flags = distributed_commands()[0]
    assert command.launcher == ("python", "-m", "slim.scripts.train_image_classifier")
    assert run_script(command.script, flags) == 0
    assert last_step("slim_demo/train_ddp") == 3


def test_distributed_torchrun_standalone_runs(digits_workdir: Path) -> None:
    command, flags = distributed_commands()[1]
    run_together([python_argv(command, flags)], digits_workdir)
    assert last_step("slim_demo/train_ddp") == 3


def test_distributed_two_machines_with_tf_slim_flags_run(digits_workdir: Path) -> None:
    """Both machines' commands at once on this host: ``host0`` becomes 127.0.0.1, its port 2222 a free one."""
    port = free_port()
    argvs = []
    for command, flags in distributed_commands()[4:6]:
        assert command.flag("master") == "host0:2222"
        argvs.append(python_argv(command, with_flags(flags, {"master": f"127.0.0.1:{port}"})))
    run_together(argvs, digits_workdir)
    assert last_step("slim_demo/train_ddp") == 3
