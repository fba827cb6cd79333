"""The eval_image_classifier workflow: Accuracy and Recall_5 of a checkpoint on a dataset split.

Two of TF-Slim's traps are fixed: every example of the split is counted exactly once (TF-Slim's reader cycled and
its last partial batch re-counted the first examples), and an unknown split (TF-Slim's default 'test' for ImageNet and
flowers) is an error that names the available splits. ``eval_interval_secs > 0`` evaluates each new checkpoint of a
running training (the evaluation loop).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import torch

import slim
from slim import evaluation, metrics, quantize
from slim import summaries as summaries_lib
from slim.classification import inputs
from slim.framework import checkpoint as ckpt_lib
from slim.nets import nets_factory
from slim.optimizers.moving_average import ExponentialMovingAverage

__all__ = ["run_evaluation", "checkpoint_metadata"]

logger = logging.getLogger("slim")


def checkpoint_metadata(checkpoint_path: str) -> dict[str, Any]:
    """The metadata of one of our checkpoints (model name, classes, image size, ...); {} for TF checkpoints."""
    try:
        path = checkpoint_path
        if os.path.isdir(path):
            path = ckpt_lib.latest_checkpoint(path) or path
        return dict(ckpt_lib.read_checkpoint(path).metadata)
    except (FileNotFoundError, ValueError):
        return {}


def _variables_to_restore(model: slim.Model, moving_average_decay: float | None):
    variables = slim.get_variables_to_restore(model=model)
    if not moving_average_decay:
        return variables
    # Restore the averaged values into the model variables (TF: variable_averages.variables_to_restore()).
    model_variables = set(slim.get_model_variables(model=model))
    return {ExponentialMovingAverage.average_name(v) if v in model_variables else v.op.name: v for v in variables}


def run_evaluation(flags: Mapping[str, Any]) -> dict[str, float]:
    """Evaluates ``flags['checkpoint_path']`` (or each new checkpoint, with eval_interval_secs) and returns
    ``{'Accuracy': ..., 'Recall_5': ...}`` of the last evaluation."""
    from slim.datasets import dataset_factory
    from slim.preprocessing import preprocessing_factory

    if not flags["dataset_dir"]:
        raise ValueError("You must supply the dataset directory with --dataset_dir")
    inputs.validate_preprocessing_workers(flags)
    dataset = dataset_factory.get_dataset(flags["dataset_name"], flags["dataset_split_name"], flags["dataset_dir"])
    nets_factory.get_network_spec(flags["model_name"])
    num_classes = dataset.num_classes - flags["labels_offset"]
    model = nets_factory.get_network_fn(flags["model_name"], num_classes=num_classes, is_training=False)
    image_size = flags["eval_image_size"] or model.default_image_size
    preprocess = preprocessing_factory.get_preprocessing(
        flags["preprocessing_name"] or flags["model_name"], is_training=False, use_grayscale=flags["use_grayscale"]
    )
    # Build at the shape the data really has (MNIST-like records decode to one channel, as in training).
    first_images, _ = next(iter(inputs.evaluation_batches(dataset, preprocess, image_size, 1, num_threads=0)))
    example = torch.zeros((1,) + tuple(first_images.shape[1:]))
    model.build(example)
    model.collect_end_points = False
    if flags["quantize"]:
        # tf.contrib.quantize.create_eval_graph: the ranges are restored from the (quantize_delay) checkpoint.
        quantize.create_eval_graph(model, example_input=example)
    # On the GPU when there is one (restoring copies each value to its variable's device).
    device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    model.to(device)
    accuracy = metrics.streaming_accuracy()
    recall_5 = metrics.streaming_recall_at_k(k=5)
    state: dict[str, Any] = {}

    def initial_op() -> None:
        accuracy.reset()
        recall_5.reset()
        state["batches"] = iter(
            inputs.evaluation_batches(
                dataset,
                preprocess,
                image_size,
                flags["batch_size"],
                num_threads=flags["num_preprocessing_threads"],
                labels_offset=flags["labels_offset"],
                workers=flags["preprocessing_workers"],
            )
        )

    def eval_op() -> None:
        images, labels = next(state["batches"])
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        logits, _ = model(images)
        # The metrics' running totals live on the CPU (float64 counts, synced with all_reduce under DDP).
        logits, labels = logits.reshape(logits.shape[0], -1).float().cpu(), labels.cpu()
        accuracy.update(logits.argmax(1), labels)
        recall_5.update(logits, labels)

    def final_op() -> dict[str, float]:
        return {"Accuracy": float(accuracy.compute()), "Recall_5": float(recall_5.compute())}

    def summary_op() -> list:
        values = final_op()
        return [
            summaries_lib.add_scalar_summary(torch.tensor(value), name=f"eval/{name}", print_summary=True)
            for name, value in values.items()
        ]

    restore = _variables_to_restore(model, flags["moving_average_decay"])
    common = dict(
        num_evals=flags["max_num_batches"],
        initial_op=initial_op,
        eval_op=eval_op,
        final_op=final_op,
        summary_op=summary_op,
        variables_to_restore=restore,
        model=model,
        progress=True,
    )
    with torch.no_grad():
        if flags["eval_interval_secs"] and flags["eval_interval_secs"] > 0:
            checkpoint_dir = flags["checkpoint_path"]
            if not os.path.isdir(checkpoint_dir):
                raise ValueError(
                    "--eval_interval_secs > 0 follows a training: --checkpoint_path must be its train_dir."
                )
            return evaluation.evaluation_loop(
                "",
                checkpoint_dir,
                flags["eval_dir"],
                eval_interval_secs=flags["eval_interval_secs"],
                max_number_of_evaluations=flags["max_number_of_evaluations"],
                timeout=flags["timeout"],
                **common,
            )
        logger.info("Evaluating %s", flags["checkpoint_path"])
        return evaluation.evaluate_once("", flags["checkpoint_path"], flags["eval_dir"], **common)
