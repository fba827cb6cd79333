"""download_and_convert_data: TF-Slim's flag errors, the keyword function, main(argv) and python -m."""

import subprocess
import sys

import pytest
from PIL import Image

from slim.scripts import download_and_convert_data as script


def test_missing_flags_give_tf_slim_errors(tmp_path):
    with pytest.raises(ValueError, match="You must supply the dataset name with --dataset_name"):
        script.download_and_convert_data()
    with pytest.raises(ValueError, match="You must supply the dataset directory with --dataset_dir"):
        script.download_and_convert_data(dataset_name="flowers")
    with pytest.raises(ValueError, match=r"dataset_name \[nope\] was not recognized"):
        script.download_and_convert_data(dataset_name="nope", dataset_dir=str(tmp_path))
    with pytest.raises(ValueError, match="build_imagenet_data"):
        script.download_and_convert_data(dataset_name="imagenet", dataset_dir=str(tmp_path))
    with pytest.raises(ValueError, match="--image_folder"):
        script.download_and_convert_data(dataset_name="image_folder", dataset_dir=str(tmp_path))
    with pytest.raises(TypeError, match="Did you mean 'dataset_dir'"):
        script.download_and_convert_data(dataset_name="flowers", datset_dir=str(tmp_path))


def _folder(root):
    for cls, color in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (4, 3), color).save(root / cls / f"{i}.png")


def test_main_converts_an_image_folder(tmp_path, capsys):
    _folder(tmp_path / "src")
    out = tmp_path / "out"
    argv = [
        "--dataset_name=image_folder",
        f"--dataset_dir={out}",
        f"--image_folder={tmp_path / 'src'}",
        "--num_validation=2",
        "--num_shards=1",
    ]
    assert script.main(argv) == 0
    assert (out / "labels.txt").read_text() == "0:blue\n1:red\n"
    assert sorted(p.name for p in out.glob("*.tfrecord")) == [
        "image_folder_train_00000-of-00001.tfrecord",
        "image_folder_validation_00000-of-00001.tfrecord",
    ]
    capsys.readouterr()
    assert script.main(argv) == 0
    assert "Dataset files already exist" in capsys.readouterr().out


def test_runs_as_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "slim.scripts.download_and_convert_data", f"--dataset_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "You must supply the dataset name with --dataset_name" in result.stderr
