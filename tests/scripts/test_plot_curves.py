"""plot_curves on a real short training run's directories: the PNG, the series it reports, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("matplotlib", reason="plot_curves needs matplotlib (pip install 'torch-slim[plot]')")

from slim.datasets import convert_image_folder  # noqa: E402
from slim.scripts import plot_curves as script  # noqa: E402
from slim.scripts.eval_image_classifier import eval_image_classifier  # noqa: E402
from slim.scripts.train_image_classifier import train_image_classifier  # noqa: E402


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> dict[str, Path]:
    """A tiny two-class image folder, lenet trained on it for a few steps with summaries on, evaluated once."""
    root = tmp_path_factory.mktemp("curves")
    rng = np.random.RandomState(0)
    for label, name in enumerate(("dark", "bright")):
        folder = root / "photos" / name
        folder.mkdir(parents=True)
        for i in range(8):
            base = 40 if label == 0 else 200
            pixels = np.clip(base + rng.randn(16, 16, 3) * 20, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    records = str(root / "records")
    convert_image_folder.run(str(root / "photos"), records, num_validation=4, num_shards=1)
    common = dict(
        dataset_name="image_folder",
        dataset_dir=records,
        model_name="lenet",
        preprocessing_name="lenet",
        num_preprocessing_threads=0,
    )
    train_dir = root / "train"
    # Three one-step runs, each resuming the last: every run writes its summaries (a run shorter than
    # save_summaries_secs writes those its first step recorded only if that step is also its last).
    for steps in (1, 2, 3):
        train_image_classifier(
            **common,
            train_dir=str(train_dir),
            train_image_size=28,
            batch_size=4,
            optimizer="sgd",
            learning_rate=0.01,
            learning_rate_decay_type="fixed",
            num_readers=1,
            save_summaries_secs=1,
            max_number_of_steps=steps,
        )
    eval_image_classifier(
        **common,
        dataset_split_name="validation",
        checkpoint_path=str(train_dir),
        eval_dir=str(root / "eval"),
        eval_image_size=28,
        batch_size=4,
    )
    return {"root": root, "train": train_dir, "eval": root / "eval"}


def _decode(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_train_and_eval_dirs_into_one_png(run_dirs, tmp_path):
    output = tmp_path / "out" / "curves.png"  # the folder is created
    report = script.plot_curves([run_dirs["train"], run_dirs["eval"]], output)
    pixels = _decode(output)
    assert pixels.shape == (400, 1500, 3)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # something was drawn, not a blank canvas
    assert report.runs == ["train", "eval"]
    assert report.series["loss"][0] == "train: total_loss"
    assert "train: losses/softmax_cross_entropy_loss" in " ".join(report.series["loss"])
    assert report.series["learning rate"] == ["train: learning_rate"]
    assert report.series["accuracy"] == ["eval: eval/Accuracy", "eval: eval/Recall_5"]
    assert report.points["eval: eval/Accuracy"] == 1 and report.points["train: total_loss"] == 3
    assert "accuracy: eval: eval/Accuracy, eval: eval/Recall_5" in report.describe()


def test_one_train_dir_and_its_size(run_dirs, tmp_path):
    report = script.plot_curves(str(run_dirs["train"]), tmp_path / "c.png", width=640, height=240, title="lenet")
    assert _decode(tmp_path / "c.png").shape == (240, 640, 3)
    assert report.runs == ["train"]
    assert report.series["learning rate"] == ["learning_rate"]  # one run: bare tags
    assert report.series["accuracy"] == []  # drawn as an empty panel saying so
    assert "accuracy: (no data)" in report.describe()


def test_parent_dir_finds_every_run(run_dirs, tmp_path):
    report = script.plot_curves(run_dirs["root"], tmp_path / "c.png")
    assert report.runs == [f"{run_dirs['root'].name}/eval", f"{run_dirs['root'].name}/train"]


def test_command_line(run_dirs, tmp_path, capsys):
    output = tmp_path / "cli.png"
    argv = ["--logdir", str(run_dirs["train"]), "--logdir", str(run_dirs["eval"]), "--output", str(output)]
    assert script.main(argv) == 0
    out = capsys.readouterr().out
    assert f"Wrote {output} (1500x400) from 2 run(s)." in out
    assert "learning rate: train: learning_rate" in out
    assert _decode(output).shape == (400, 1500, 3)
    assert script.main(["--logdir", str(run_dirs["eval"]), "--width=abc"]) == 2
    assert "width" in capsys.readouterr().err


def test_directory_without_event_files(tmp_path):
    empty = tmp_path / "empty_train_dir"
    empty.mkdir()
    with pytest.raises(script.CurvesError, match=f"--logdir {empty} holds no TensorBoard event files"):
        script.plot_curves(empty, tmp_path / "c.png")
    with pytest.raises(script.CurvesError, match="is not a directory"):
        script.plot_curves(tmp_path / "missing", tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
    # As a command: exit status 1 and the message, no traceback.
    result = subprocess.run(
        [sys.executable, "-m", "slim.scripts.plot_curves", f"--logdir={empty}", f"--output={tmp_path / 'c.png'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"plot_curves: --logdir {empty} holds no TensorBoard event files" in result.stderr
    assert "Traceback" not in result.stderr


def test_directory_without_known_scalars(run_dirs, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    other = tmp_path / "other"
    with SummaryWriter(str(other)) as writer:
        writer.add_scalar("reward/mean", 1.0, 0)
    with pytest.raises(script.CurvesError, match=f"--logdir {other} has event files but none .* reward/mean"):
        script.plot_curves([run_dirs["train"], other], tmp_path / "c.png")


def test_missing_matplotlib_names_the_pip_command(run_dirs, tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with pytest.raises(script.MissingDependencyError, match=r"pip install 'torch-slim\[plot\]'"):
        script.plot_curves(run_dirs["train"], tmp_path / "c.png")
