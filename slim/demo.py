"""The whole TF-Slim workflow on real data, offline: ``python -m slim``.

scikit-learn's handwritten digits (1,797 real scans, shipped inside its wheel) are converted to MNIST-format
TFRecords with ``download_and_convert_data``; ``train_image_classifier`` trains LeNet on the train split;
``eval_image_classifier`` measures accuracy on the held-out split; ``export_inference_graph`` and ``freeze_graph``
write a self-contained ONNX model; ``label_image`` classifies one held-out image with it. Every step is the same
function the shell commands run, called with TF-Slim's flag names as keyword arguments, so the printed commands
reproduce the run step by step.

    python -m slim                       # everything under ./slim_demo (about two minutes on 2 CPU cores)
    python -m slim --workdir /tmp/demo --max_number_of_steps 600
    tensorboard --logdir slim_demo       # losses, learning rate, activations, eval/Accuracy
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DemoResult", "run_demo", "main"]

MODEL_NAME = "lenet"
DATASET_NAME = "digits"


@dataclass
class DemoResult:
    """What the demo produced: accuracy on the held-out split and where everything was written."""

    accuracy: float
    recall_5: float
    train_dir: str
    eval_dir: str
    frozen_graph: str
    labeled_image: str
    true_label: str
    top5: list[tuple[float, int, str]]


def _command(script: str, **flags: object) -> str:
    """The shell form of a step, printed so that users can run the steps themselves."""
    parts = [f"python -m slim.scripts.{script}"]
    for name, value in flags.items():
        if isinstance(value, bool):
            parts.append(f"--{name}" if value else f"--no{name}")
        else:
            parts.append(f"--{name}={shlex.quote(str(value))}")
    return " \\\n    ".join(parts)


def _step(title: str, script: str, flags: dict, verbose: bool) -> None:
    if verbose:
        print(f"\n== {title}\n{_command(script, **flags)}", flush=True)


def _held_out_image(dataset_dir: str, out_dir: str) -> tuple[str, str]:
    """Writes the first test-split image as a PNG; returns its path and its class name."""
    from slim.data.example import parse_example
    from slim.data.tfrecord import TFRecordIterator
    from slim.datasets import dataset_utils
    from slim.datasets.download_and_convert_digits import output_filename

    record = next(iter(TFRecordIterator(output_filename(dataset_dir, "test"))))
    features = parse_example(record)
    path = os.path.join(out_dir, "held_out_digit.png")
    with open(path, "wb") as handle:
        handle.write(features["image/encoded"][0])
    label = int(features["image/class/label"][0])
    return path, dataset_utils.read_label_file(dataset_dir)[label]


def run_demo(
    workdir: str = "slim_demo",
    max_number_of_steps: int = 1500,
    batch_size: int = 50,
    learning_rate: float = 0.01,
    verbose: bool = True,
) -> DemoResult:
    """Runs convert → train → evaluate → export → freeze → label_image under ``workdir``.

    Args:
      workdir: where the dataset, train and eval directories and the exported graphs go.
      max_number_of_steps: LeNet training steps (TF-Slim's lenet recipe uses sgd at 0.01 with batch 50).
      batch_size: the training batch size.
      learning_rate: the (fixed) learning rate.
      verbose: print each step's shell command and the results.

    Returns:
      A :class:`DemoResult`. Training resumes from ``workdir/train`` if it already holds a checkpoint, as
      ``train_image_classifier`` always does, so running the demo twice does not train twice.
    """
    from slim.datasets.digits import SPLITS_TO_SIZES
    from slim.export.label_image import label_image
    from slim.scripts.download_and_convert_data import download_and_convert_data
    from slim.scripts.eval_image_classifier import eval_image_classifier
    from slim.scripts.export_inference_graph import export_inference_graph
    from slim.scripts.freeze_graph import freeze_graph
    from slim.scripts.train_image_classifier import train_image_classifier

    workdir = os.path.abspath(workdir)
    dataset_dir = os.path.join(workdir, "data")
    train_dir = os.path.join(workdir, "train")
    eval_dir = os.path.join(workdir, "eval")
    export_dir = os.path.join(workdir, "export")
    os.makedirs(export_dir, exist_ok=True)
    started = time.time()

    convert = {"dataset_name": DATASET_NAME, "dataset_dir": dataset_dir}
    _step("1. Convert scikit-learn's digits to TFRecords", "download_and_convert_data", convert, verbose)
    download_and_convert_data(**convert)

    train = {
        "train_dir": train_dir,
        "dataset_name": DATASET_NAME,
        "dataset_split_name": "train",
        "dataset_dir": dataset_dir,
        "model_name": MODEL_NAME,
        "preprocessing_name": MODEL_NAME,
        "max_number_of_steps": max_number_of_steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "learning_rate_decay_type": "fixed",
        "optimizer": "sgd",
        "weight_decay": 0.0,
        "save_interval_secs": 60,
        "save_summaries_secs": 10,
        "log_every_n_steps": 100,
        "num_readers": 1,
        "num_preprocessing_threads": 1,
    }
    _step("2. Train LeNet", "train_image_classifier", train, verbose)
    train_image_classifier(**train)

    evaluate = {
        "checkpoint_path": train_dir,
        "eval_dir": eval_dir,
        "dataset_name": DATASET_NAME,
        "dataset_split_name": "test",
        "dataset_dir": dataset_dir,
        "model_name": MODEL_NAME,
        "batch_size": 100,
        "num_preprocessing_threads": 1,
    }
    _step("3. Evaluate on the held-out split", "eval_image_classifier", evaluate, verbose)
    metrics = eval_image_classifier(**evaluate)

    graph = os.path.join(export_dir, "lenet_inf_graph.onnx")
    # Digits are one grey channel: TF-Slim exports a 3-channel input unless --use_grayscale.
    export = {"model_name": MODEL_NAME, "dataset_name": DATASET_NAME, "output_file": graph, "use_grayscale": True}
    _step("4. Export the inference graph", "export_inference_graph", export, verbose)
    export_inference_graph(**export)

    from slim.framework.checkpoint import latest_checkpoint

    frozen = os.path.join(export_dir, "frozen_lenet.onnx")
    freeze = {
        "input_graph": graph,
        "input_checkpoint": latest_checkpoint(train_dir),
        "output_graph": frozen,
        "output_node_names": "LeNet/Predictions",
    }
    _step("5. Freeze the graph with the trained weights", "freeze_graph", freeze, verbose)
    freeze_graph(**freeze)

    image, true_label = _held_out_image(dataset_dir, export_dir)
    labels = os.path.join(dataset_dir, "labels.txt")
    label = {"image": image, "graph": frozen, "labels": labels, "input_mean": 128, "input_std": 128}
    _step(f"6. Label a held-out image (a '{true_label}')", "label_image", label, verbose)
    top5 = label_image(**label)

    result = DemoResult(
        accuracy=float(metrics["Accuracy"]),
        recall_5=float(metrics["Recall_5"]),
        train_dir=train_dir,
        eval_dir=eval_dir,
        frozen_graph=frozen,
        labeled_image=image,
        true_label=true_label,
        top5=top5,
    )
    if verbose:
        for score, _, name in top5:
            print(f"{name} (score = {score:.5f})")
        print(
            f"\nDone in {time.time() - started:.0f} s: LeNet reaches {result.accuracy:.2%} accuracy on the "
            f"{SPLITS_TO_SIZES['test']} held-out digits (eval/Accuracy; eval/Recall_5 {result.recall_5:.2%}).\n"
            f"Look at the curves with:  tensorboard --logdir {workdir}"
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slim", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="slim_demo", help="where everything is written (default: ./slim_demo)")
    parser.add_argument("--max_number_of_steps", type=int, default=1500, help="LeNet training steps")
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the scripts' progress lines, as their CLIs show
    result = run_demo(args.workdir, args.max_number_of_steps, args.batch_size, args.learning_rate)
    return 0 if result.accuracy >= 0.95 else 1
