"""The recipes/ shell scripts: syntax, TF-Slim's flags and values, clear failures without data or checkpoints, and
the flowers fine-tuning recipe's two stages end to end on a tiny fake flowers dataset with lenet.

No test touches the network: DOWNLOAD_DATA=0 makes a recipe stop instead of downloading, and the proxy variables
point at a closed local port so that a download attempted by mistake fails at once.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from slim.datasets import download_and_convert_flowers
from slim.framework import checkpoint as ckpt
from slim.scripts.train_image_classifier import train_image_classifier

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="the recipes are bash scripts")


def _stage(steps: int, learning_rate: str, log_every_n_steps: int, fixed: bool = False) -> dict[str, str]:
    """The flags of one fine-tuning stage that differ between the recipes."""
    flags = dict(max_number_of_steps=str(steps), learning_rate=learning_rate, log_every_n_steps=str(log_every_n_steps))
    if fixed:
        flags["learning_rate_decay_type"] = "fixed"
    return flags


FLOWERS = {
    # script: (model, exclude/trainable scopes, checkpoint tarball and member, stage 1 and 2 flag values)
    "finetune_inception_v3_on_flowers.sh": (
        "inception_v3",
        "InceptionV3/Logits,InceptionV3/AuxLogits",
        "inception_v3_2016_08_28.tar.gz",
        "inception_v3.ckpt",
        _stage(1000, "0.01", 100, fixed=True),
        _stage(500, "0.0001", 10, fixed=True),
    ),
    "finetune_inception_v1_on_flowers.sh": (
        "inception_v1",
        "InceptionV1/Logits",
        "inception_v1_2016_08_28.tar.gz",
        "inception_v1.ckpt",
        _stage(3000, "0.01", 100),
        _stage(1000, "0.001", 100),
    ),
    "finetune_inception_resnet_v2_on_flowers.sh": (
        "inception_resnet_v2",
        "InceptionResnetV2/Logits,InceptionResnetV2/AuxLogits",
        "inception_resnet_v2_2016_08_30.tar.gz",
        "inception_resnet_v2_2016_08_30.ckpt",
        _stage(1000, "0.01", 10, fixed=True),
        _stage(500, "0.0001", 10, fixed=True),
    ),
    "finetune_resnet_v1_50_on_flowers.sh": (
        "resnet_v1_50",
        "resnet_v1_50/logits",
        "resnet_v1_50_2016_08_28.tar.gz",
        "resnet_v1_50.ckpt",
        _stage(3000, "0.01", 100),
        _stage(1000, "0.001", 100),
    ),
}
TRAINING = {
    "train_cifarnet_on_cifar10.sh": ("cifar10", "cifar10_train.tfrecord", "test"),
    "train_lenet_on_mnist.sh": ("mnist", "mnist_train.tfrecord", "test"),
}
SCRIPTS = sorted([*FLOWERS, *TRAINING, "export_mobilenet.sh"])


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A recipe's environment: all its folders under tmp_path, no downloads, this interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        PYTHON=sys.executable,
        DOWNLOAD_DATA="0",
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        PRETRAINED_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
        TRAIN_DIR=str(tmp_path / "train"),
        DATASET_DIR=str(tmp_path / "data"),
        MODEL_FOLDER=str(tmp_path / "model"),
    )
    env.update(overrides)
    return env


def _run(script: str, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BASH, str(RECIPES / script), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _commands(output: str) -> list[dict[str, str]]:
    """The slim commands a recipe logged (``[recipe] python -m slim.scripts.X --a=b ...``) as ``{flag: value}``."""
    commands = []
    for line in output.splitlines():
        match = re.search(r"\] python -m slim\.scripts\.(\w+) (.*)$", line)
        if match:
            flags = dict(re.findall(r"--(\w+)=(\S*)", match.group(2)))
            flags["script"] = match.group(1)
            commands.append(flags)
    return commands


def _fake_records(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"")


def test_recipes_folder_and_bash_syntax():
    assert sorted(p.name for p in RECIPES.glob("*.sh")) == sorted([*SCRIPTS, "common.sh"])
    assert (RECIPES / "README.md").is_file()
    for script in RECIPES.glob("*.sh"):
        result = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


@pytest.mark.parametrize("script", sorted(FLOWERS))
def test_flowers_recipes_use_tf_slim_flags(tmp_path, script):
    model, scopes, _, _, head, everything = FLOWERS[script]
    checkpoint = tmp_path / "checkpoints" / f"{model}.ckpt"
    _fake_records(checkpoint.parent, checkpoint.name)
    _fake_records(tmp_path / "data", *(f"flowers_{split}_00000-of-00005.tfrecord" for split in ("train", "validation")))
    result = _run(script, _env(tmp_path, TRAIN_DIR="", DRY_RUN="1"))
    assert result.returncode == 0, result.stderr
    commands = _commands(result.stdout)
    assert [c["script"] for c in commands] == [
        "train_image_classifier",
        "eval_image_classifier",
        "train_image_classifier",
        "eval_image_classifier",
        "plot_curves",
    ]
    train_dir = f"/tmp/flowers-models/{model}"  # TF-Slim's default
    stage1, eval1, stage2, eval2, _ = commands
    common = dict(
        dataset_name="flowers",
        dataset_split_name="train",
        dataset_dir=str(tmp_path / "data"),
        model_name=model,
        batch_size="32",
        save_interval_secs="60",
        save_summaries_secs="60",
        optimizer="rmsprop",
        weight_decay="0.00004",
    )
    assert stage1 == dict(
        common,
        **head,
        script="train_image_classifier",
        train_dir=train_dir,
        checkpoint_path=str(checkpoint),
        checkpoint_exclude_scopes=scopes,
        trainable_scopes=scopes,
    )
    assert stage2 == dict(
        common, **everything, script="train_image_classifier", train_dir=f"{train_dir}/all", checkpoint_path=train_dir
    )
    for evaluation, directory in ((eval1, train_dir), (eval2, f"{train_dir}/all")):
        assert evaluation == dict(
            script="eval_image_classifier",
            checkpoint_path=directory,
            eval_dir=directory,
            dataset_name="flowers",
            dataset_split_name="validation",
            dataset_dir=str(tmp_path / "data"),
            model_name=model,
        )


@pytest.mark.parametrize("script", sorted(FLOWERS))
def test_flowers_recipes_name_the_missing_checkpoint_and_its_url(tmp_path, script):
    model, _, tarball, member, _, _ = FLOWERS[script]
    result = _run(script, _env(tmp_path, DOWNLOAD_DATA="1"))  # the checkpoint is checked before any download
    assert result.returncode == 1
    path = tmp_path / "checkpoints" / f"{model}.ckpt"
    assert f"error: the pre-trained checkpoint {path} is missing" in result.stderr
    assert f"http://download.tensorflow.org/models/{tarball}" in result.stderr
    assert f"tar -xzf {tarball}" in result.stderr
    assert (f"mv {member} {model}.ckpt" in result.stderr) == (member != f"{model}.ckpt")
    assert "python -m slim.scripts" not in result.stdout  # nothing ran
    assert not (tmp_path / "data").exists() and not (tmp_path / "train").exists()


@pytest.mark.parametrize("script", sorted([*FLOWERS, *TRAINING]))
def test_recipes_name_the_missing_dataset(tmp_path, script):
    env = _env(tmp_path)
    if script in FLOWERS:
        _fake_records(tmp_path / "checkpoints", f"{FLOWERS[script][0]}.ckpt")
        name, pattern = "flowers", "flowers_train_*.tfrecord"
    else:
        name, pattern, _ = TRAINING[script]
    result = _run(script, env)
    assert result.returncode == 1
    assert f"error: the {name} dataset is missing: no {pattern}" in result.stderr
    assert (
        f"python -m slim.scripts.download_and_convert_data --dataset_name={name} --dataset_dir={tmp_path / 'data'}"
        in result.stderr
    )
    assert "python -m slim.scripts" not in result.stdout


@pytest.mark.parametrize("script", sorted(TRAINING))
def test_training_recipes_use_tf_slim_flags(tmp_path, script):
    name, record, split = TRAINING[script]
    _fake_records(tmp_path / "data", record, f"{name}_test.tfrecord")
    result = _run(script, _env(tmp_path, DRY_RUN="1", TRAIN_DIR=""))
    assert result.returncode == 0, result.stderr
    train, evaluation, plot = _commands(result.stdout)
    model = "cifarnet" if name == "cifar10" else "lenet"
    assert train["train_dir"] == evaluation["checkpoint_path"] == f"/tmp/{model}-model"
    assert train["model_name"] == train["preprocessing_name"] == evaluation["model_name"] == model
    assert evaluation["dataset_split_name"] == split and plot["script"] == "plot_curves"
    expected = {
        "cifar10": dict(max_number_of_steps="100000", batch_size="128", learning_rate="0.1", weight_decay="0.004"),
        "mnist": dict(max_number_of_steps="20000", batch_size="50", learning_rate="0.01", weight_decay="0"),
    }[name]
    assert {k: train[k] for k in expected} == expected


def test_export_mobilenet_checks_its_arguments_and_checkpoint(tmp_path):
    env = _env(tmp_path)
    result = _run("export_mobilenet.sh", env, "2.0", "224")
    assert result.returncode == 1 and "Bad mobilenet version" in result.stderr and "Usage:" in result.stderr
    result = _run("export_mobilenet.sh", env, "0.50", "100")
    assert result.returncode == 1 and "Bad input image size" in result.stderr
    result = _run("export_mobilenet.sh", env, "0.50", "160")
    assert result.returncode == 1
    path = tmp_path / "checkpoints" / "mobilenet_v1_0.50_160.ckpt"
    assert f"error: the pre-trained checkpoint {path} is missing" in result.stderr
    assert "http://download.tensorflow.org/models/mobilenet_v1_0.50_160_2017_06_14.tar.gz" in result.stderr
    result = _run("export_mobilenet.sh", env, "0.50", "160", str(tmp_path / "nope.ckpt"))
    assert result.returncode == 1 and f"the checkpoint {tmp_path / 'nope.ckpt'} is missing" in result.stderr
    assert not (tmp_path / "model").exists()
    # An existing output folder is refused, as TF-Slim's script did.
    _fake_records(tmp_path / "checkpoints", "mobilenet_v1_0.50_160.ckpt.index")
    (tmp_path / "model").mkdir()
    result = _run("export_mobilenet.sh", env, "0.50", "160")
    assert result.returncode == 1 and "already exists" in result.stderr


# --- The flowers recipe end to end -----------------------------------------------------------------------------------


def _flowers_archive(path: Path) -> Path:
    """flower_photos/<class>/*.jpg: 5 classes of 6 photos, each class its own colour, sizes varying."""
    rng = np.random.RandomState(0)
    colours = [(230, 230, 230), (230, 200, 30), (200, 30, 40), (240, 160, 20), (150, 40, 160)]
    with tarfile.open(path, "w:gz") as tar:
        for c, name in enumerate(["daisy", "dandelion", "roses", "sunflowers", "tulips"]):
            for i in range(6):
                size = (30 + 2 * i, 28 + c)
                pixels = np.clip(np.array(colours[c]) + rng.randn(size[1], size[0], 3) * 15, 0, 255)
                data = io.BytesIO()
                Image.fromarray(pixels.astype(np.uint8)).save(data, format="JPEG", quality=90)
                info = tarfile.TarInfo(f"flower_photos/{name}/{i:03d}.jpg")
                info.size = data.tell()
                data.seek(0)
                tar.addfile(info, data)
    return path


def test_flowers_recipe_fine_tunes_head_then_all_layers(tmp_path):
    # A tiny flowers dataset, converted by the project's flowers converter from a local archive.
    dataset_dir = tmp_path / "data"
    archive = _flowers_archive(tmp_path / "flower_photos.tgz")
    assert download_and_convert_flowers.run(str(dataset_dir), data_url=archive.as_uri(), num_validation=10)
    # A tiny "pre-trained" checkpoint: lenet trained for a few steps, placed where the recipe looks for it.
    train_image_classifier(
        train_dir=str(tmp_path / "pretrain"),
        dataset_name="flowers",
        dataset_dir=str(dataset_dir),
        model_name="lenet",
        train_image_size=28,
        batch_size=4,
        max_number_of_steps=2,
        optimizer="sgd",
        num_readers=1,
        num_preprocessing_threads=0,
        save_summaries_secs=0,
    )
    pretrained = ckpt.read_checkpoint(tmp_path / "pretrain")
    (tmp_path / "checkpoints").mkdir()
    shutil.copy(pretrained.path + ckpt.SUFFIX, tmp_path / "checkpoints" / "lenet.ckpt.safetensors")

    env = _env(
        tmp_path,
        MODEL_NAME="lenet",
        CHECKPOINT_EXCLUDE_SCOPES="LeNet/fc4",
        MAX_STEPS="3",
        BATCH_SIZE="4",
        IMAGE_SIZE="28",
        EXTRA_TRAIN_FLAGS="--num_readers=1 --num_preprocessing_threads=0",
        EXTRA_EVAL_FLAGS="--num_preprocessing_threads=0",
    )
    result = _run("finetune_inception_v3_on_flowers.sh", env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    train_dir = tmp_path / "train"
    assert f"Using the flowers TFRecords in {dataset_dir}." in output
    assert f"Fine-tuning from {tmp_path / 'checkpoints' / 'lenet.ckpt'}" in output
    assert f"Fine-tuning from {train_dir / 'model.ckpt-3'}" in output

    # Stage 1: the new head trained, everything else restored from the checkpoint and frozen.
    head = ckpt.read_checkpoint(train_dir)
    assert head.global_step == 3 and head.metadata["model_name"] == "lenet" and head.metadata["num_classes"] == 5
    assert torch.equal(head.tensors["LeNet/conv1/weights"], pretrained.tensors["LeNet/conv1/weights"])
    assert not torch.equal(head.tensors["LeNet/fc4/weights"], pretrained.tensors["LeNet/fc4/weights"])
    # Stage 2: all layers trained from stage 1, starting again at step 0.
    everything = ckpt.read_checkpoint(train_dir / "all")
    assert everything.global_step == 3
    assert not torch.equal(everything.tensors["LeNet/conv1/weights"], head.tensors["LeNet/conv1/weights"])

    # An evaluation after each stage: printed, and written as eval/ summaries beside each stage's training summaries.
    assert len(re.findall(r"eval/Accuracy\[[0-9.]+\]", output)) == 2
    assert len(re.findall(r"eval/Recall_5\[[0-9.]+\]", output)) == 2
    for directory in (train_dir, train_dir / "all"):
        assert list(directory.glob("events.out.tfevents.*")), directory
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "Skipping the curves PNG" in output
    else:
        from slim.scripts.plot_curves import read_scalars

        assert (train_dir / "curves.png").is_file()
        # The eval scalars at least (a 3-step training may end before its first summaries are written).
        for directory in (train_dir, train_dir / "all"):
            assert {"eval/Accuracy", "eval/Recall_5"} <= set(read_scalars(str(directory)))


def test_export_mobilenet_exports_freezes_and_labels(tmp_path):
    from slim.export import exporter

    # A checkpoint of the published one's shape (1001 classes), with the network's initial weights.
    spec = exporter.GraphSpec(model_name="mobilenet_v1_025", num_classes=1001, image_size=128)
    state = exporter.build_inference_model(spec).state_dict()
    (tmp_path / "checkpoints").mkdir()
    prefix = tmp_path / "checkpoints" / "mobilenet_v1_0.25_128.ckpt"
    ckpt.save_checkpoint(prefix, state, {"global_step": 0}, update_index=False)
    image = tmp_path / "image.jpg"
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (90, 120, 3), dtype=np.uint8)).save(image)
    result = _run("export_mobilenet.sh", _env(tmp_path, IMAGE=str(image)), "0.25", "128", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    model = tmp_path / "model"
    assert (model / "unfrozen_graph.onnx").is_file() and (model / "frozen_graph.onnx").is_file()
    commands = _commands(result.stdout)
    assert [c["script"] for c in commands] == ["export_inference_graph", "freeze_graph", "label_image"]
    assert commands[0]["model_name"] == "mobilenet_v1_025" and commands[0]["image_size"] == "128"
    assert commands[1]["output_node_names"] == "MobilenetV1/Predictions/Reshape_1"
    assert commands[1]["input_checkpoint"] == str(prefix)
    assert len(re.findall(r"^\S.* \([01]\.\d{5}\)$", result.stdout, flags=re.M)) == 5  # label_image's top 5
