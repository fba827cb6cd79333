"""Evaluates a checkpoint on a dataset split: Accuracy and Recall_5 (TF-Slim's ``eval_image_classifier.py``).

    python -m slim.scripts.eval_image_classifier --checkpoint_path=/tmp/train --dataset_name=flowers \
        --dataset_split_name=validation --dataset_dir=/tmp/flowers --model_name=inception_v3

Every example of the split is counted exactly once. ``--eval_interval_secs=60`` keeps evaluating each new checkpoint
of a running training. From Python: ``eval_image_classifier(dataset_name="flowers", ...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slim.scripts.flagspec import Flag, parse_argv, resolve_kwargs
from slim.scripts.input_flags import PREPROCESSING_FLAGS

FLAGS = (
    Flag("batch_size", 100, "integer", "The number of samples in each batch."),
    Flag("max_num_batches", None, "integer", "Max number of batches to evaluate by default use all."),
    Flag("master", "", "string", "The address of the TensorFlow master to use (must be empty here)."),
    Flag(
        "checkpoint_path",
        "/tmp/tfmodel/",
        "string",
        "The directory where the model was written to or an absolute "
        "path to a checkpoint file (TF-Slim's format or ours).",
    ),
    Flag("eval_dir", "/tmp/tfmodel/", "string", "Directory where the results are saved to."),
    *PREPROCESSING_FLAGS,
    Flag("dataset_name", "imagenet", "string", "The name of the dataset to load."),
    Flag("dataset_split_name", "test", "string", "The name of the train/test split."),
    Flag("dataset_dir", None, "string", "The directory where the dataset files are stored."),
    Flag(
        "labels_offset",
        0,
        "integer",
        "An offset for the labels in the dataset. This flag is primarily used to "
        "evaluate the VGG and ResNet architectures which do not use a background class for the ImageNet dataset.",
    ),
    Flag("model_name", "inception_v3", "string", "The name of the architecture to evaluate."),
    Flag(
        "preprocessing_name",
        None,
        "string",
        "The name of the preprocessing to use. If left as `None`, then the model_name flag is used.",
    ),
    Flag(
        "moving_average_decay",
        None,
        "float",
        "The decay to use for the moving average.If left as None, then moving averages are not used.",
    ),
    Flag("eval_image_size", None, "integer", "Eval image size"),
    Flag("quantize", False, "boolean", "whether to use quantized graph or not."),
    Flag("use_grayscale", False, "boolean", "Whether to convert input images to grayscale."),
    # Beyond TF-Slim: the evaluation loop.
    Flag(
        "eval_interval_secs",
        0,
        "integer",
        "If > 0, keep evaluating each new checkpoint of --checkpoint_path (a train_dir), at most this often.",
    ),
    Flag("max_number_of_evaluations", None, "integer", "With --eval_interval_secs: stop after this many evaluations."),
    Flag(
        "timeout",
        None,
        "integer",
        "With --eval_interval_secs: stop after waiting this many seconds for a new checkpoint.",
    ),
)

DESCRIPTION = "Generic evaluation script that evaluates a model using a given dataset."


def eval_image_classifier(**kwargs: Any) -> dict[str, float]:
    """Python entry point taking the flags as keyword arguments; returns {'Accuracy': ..., 'Recall_5': ...}."""
    flags = resolve_kwargs(FLAGS, kwargs, "eval_image_classifier")
    if flags["master"]:
        raise ValueError("--master is a TF session target; evaluation runs in this process.")
    from slim.classification.evaluation import run_evaluation

    return run_evaluation(flags)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    eval_image_classifier(**parse_argv(FLAGS, argv, "eval_image_classifier", DESCRIPTION))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
