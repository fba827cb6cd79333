"""The train_image_classifier workflow: dataset -> network -> preprocessing -> batches -> losses -> optimizer ->
moving averages -> fine-tuning -> checkpoints and summaries, on one process or on DDP clones.

Every clone computes ``cross-entropy + 0.4 * aux cross-entropy`` (label smoothing as given) on its own batch of
``batch_size`` plus the regularization losses; DDP averages the gradients over clones, which equals TF-Slim's
model_deploy (clone losses divided by the number of clones, regularization counted once).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any

import torch

import slim
from slim import learning, quantize
from slim.classification import inputs
from slim.classification.summaries import record_training_summaries
from slim.deployment import model_deploy
from slim.framework import checkpoint as ckpt_lib
from slim.framework.restore import assign_from_checkpoint_fn
from slim.nets import nets_factory
from slim.optimizers import ExponentialMovingAverage, configure_learning_rate
from slim.optimizers.factory import OPTIMIZERS, configure_optimizer

__all__ = ["validate_train_flags", "run_training", "get_init_fn", "variables_to_train"]

logger = logging.getLogger("slim")

_DECAY_TYPES = ("fixed", "exponential", "polynomial")


def validate_train_flags(flags: Mapping[str, Any]) -> None:
    """Fails before any work starts when a flag value cannot work (each error names the flag and the fix)."""
    if not flags["dataset_dir"]:
        raise ValueError("You must supply the dataset directory with --dataset_dir")
    if not os.path.isdir(flags["dataset_dir"]):
        raise ValueError(f"--dataset_dir={flags['dataset_dir']} is not a directory.")
    if flags["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"Optimizer [{flags['optimizer']}] was not recognized (one of {', '.join(OPTIMIZERS)}).")
    if flags["learning_rate_decay_type"] not in _DECAY_TYPES:
        raise ValueError(f"learning_rate_decay_type [{flags['learning_rate_decay_type']}] was not recognized")
    if flags["batch_size"] is None or flags["batch_size"] <= 0:
        raise ValueError(f"--batch_size must be a positive number, got {flags['batch_size']}.")
    if flags["max_number_of_steps"] is not None and flags["max_number_of_steps"] <= 0:
        raise ValueError(f"--max_number_of_steps must be positive, got {flags['max_number_of_steps']}.")
    if flags["num_clones"] < 1:
        raise ValueError(f"--num_clones must be >= 1, got {flags['num_clones']}.")
    nets_factory.get_network_spec(flags["model_name"])  # ValueError listing the known names
    if flags["mixed_precision"] not in ("", "bfloat16", "float16"):
        raise ValueError(f"--mixed_precision must be '', 'bfloat16' or 'float16', got {flags['mixed_precision']!r}.")
    inputs.validate_preprocessing_workers(flags)
    if flags["sync_replicas"] and flags["replicas_to_aggregate"] not in (1, flags["worker_replicas"]):
        raise ValueError(
            "--replicas_to_aggregate must equal --worker_replicas with DDP: every step averages the gradients of "
            "all replicas (TF's SyncReplicasOptimizer could aggregate fewer)."
        )


def _scopes(text: str | None) -> list[str]:
    return [scope.strip() for scope in text.split(",") if scope.strip()] if text else []


def variables_to_train(model: slim.Model, trainable_scopes: str | None) -> list[str]:
    """Names of the trainable variables under ``trainable_scopes`` (regex prefix match, as TF-Slim); all if None."""
    names = [v.op.name for v in slim.get_trainable_variables(model=model)]
    scopes = _scopes(trainable_scopes)
    if not scopes:
        return names
    return [name for name in names if any(re.match(scope, name) for scope in scopes)]


def get_init_fn(
    model: slim.Model,
    train_dir: str,
    checkpoint_path: str | None,
    checkpoint_exclude_scopes: str | None,
    ignore_missing_vars: bool,
):
    """The warm-start function (TF-Slim's ``_get_init_fn``): None without a checkpoint path, or when ``train_dir``
    already has a checkpoint (training then resumes from it instead, and says so)."""
    if not checkpoint_path:
        return None
    if ckpt_lib.latest_checkpoint(train_dir):
        logger.info("Ignoring --checkpoint_path because a checkpoint already exists in %s", train_dir)
        return None
    exclusions = _scopes(checkpoint_exclude_scopes)
    variables = [
        v
        for v in slim.get_model_variables(model=model)
        if not any(v.op.name.startswith(exclusion) for exclusion in exclusions)
    ]
    path = checkpoint_path
    if os.path.isdir(path):
        path = ckpt_lib.latest_checkpoint(path) or path
    logger.info("Fine-tuning from %s", path)
    return assign_from_checkpoint_fn(path, variables, ignore_missing_vars=ignore_missing_vars)


def _one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels.long(), num_classes).float()


def run_training(flags: Mapping[str, Any]) -> float | None:
    """Trains on this process (one clone); called once per clone by model_deploy. Returns the last loss."""
    # A fresh default graph, as TF-Slim's script builds a new one: no global step left by an earlier run in this
    # process (the Python function may be called several times, e.g. the two fine-tuning steps of a recipe).
    slim.reset_default_graph()
    torch.manual_seed(flags["seed"])
    rank, world = model_deploy.rank(), model_deploy.world_size()
    if world > 1 and (flags["clone_on_cpu"] or not torch.cuda.is_available()):
        # CPU clones share this machine's cores (torchrun sets LOCAL_WORLD_SIZE; our own spawn runs num_clones).
        clones_here = int(os.environ.get("LOCAL_WORLD_SIZE", flags["num_clones"]))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // clones_here))
    device = torch.device("cpu")
    if torch.cuda.is_available() and not flags["clone_on_cpu"]:
        device = torch.device("cuda", torch.cuda.current_device())
    from slim.datasets import dataset_factory
    from slim.preprocessing import preprocessing_factory

    dataset = dataset_factory.get_dataset(flags["dataset_name"], flags["dataset_split_name"], flags["dataset_dir"])
    num_classes = dataset.num_classes - flags["labels_offset"]
    model = nets_factory.get_network_fn(
        flags["model_name"], num_classes=num_classes, weight_decay=flags["weight_decay"], is_training=True
    )
    image_size = flags["train_image_size"] or model.default_image_size
    preprocess = preprocessing_factory.get_preprocessing(
        flags["preprocessing_name"] or flags["model_name"], is_training=True, use_grayscale=flags["use_grayscale"]
    )
    batches = inputs.training_batches(
        dataset,
        preprocess,
        image_size,
        flags["batch_size"],
        num_readers=flags["num_readers"],
        num_threads=flags["num_preprocessing_threads"],
        labels_offset=flags["labels_offset"],
        seed=flags["seed"],
        workers=flags["preprocessing_workers"],
    )
    first_batch = next(batches)
    batches = itertools.chain([first_batch], batches)
    example = torch.zeros((1,) + tuple(first_batch[0].shape[1:])).to(device)
    model.build(example)
    if flags["quantize_delay"] >= 0:
        # tf.contrib.quantize.create_training_graph: the ranges are variables, saved with every checkpoint.
        quantize.create_training_graph(model, quant_delay=flags["quantize_delay"], example_input=example)
    model.to(device)
    if flags["channels_last"]:
        model.to(memory_format=torch.channels_last)
    train_names = set(variables_to_train(model, flags["trainable_scopes"]))
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in train_names)
    parameters = [p for n, p in model.named_parameters() if n in train_names]
    if not parameters:
        raise ValueError(f"--trainable_scopes={flags['trainable_scopes']} matches no trainable variable.")
    schedule = configure_learning_rate(
        dataset.num_samples,
        flags["batch_size"],
        learning_rate=flags["learning_rate"],
        learning_rate_decay_type=flags["learning_rate_decay_type"],
        learning_rate_decay_factor=flags["learning_rate_decay_factor"],
        num_epochs_per_decay=flags["num_epochs_per_decay"],
        end_learning_rate=flags["end_learning_rate"],
        warmup_epochs=flags["warmup_epochs"],
        sync_replicas=flags["sync_replicas"],
        replicas_to_aggregate=flags["replicas_to_aggregate"],
    )
    optimizer = configure_optimizer(
        flags["optimizer"],
        parameters,
        schedule(0),
        adadelta_rho=flags["adadelta_rho"],
        adagrad_initial_accumulator_value=flags["adagrad_initial_accumulator_value"],
        adam_beta1=flags["adam_beta1"],
        adam_beta2=flags["adam_beta2"],
        opt_epsilon=flags["opt_epsilon"],
        ftrl_learning_rate_power=flags["ftrl_learning_rate_power"],
        ftrl_initial_accumulator_value=flags["ftrl_initial_accumulator_value"],
        ftrl_l1=flags["ftrl_l1"],
        ftrl_l2=flags["ftrl_l2"],
        momentum=flags["momentum"],
        rmsprop_momentum=flags["rmsprop_momentum"],
        rmsprop_decay=flags["rmsprop_decay"],
    )
    global_step = slim.get_or_create_global_step()
    ema = None
    if flags["moving_average_decay"]:
        ema = ExponentialMovingAverage(flags["moving_average_decay"], num_updates=global_step)
        ema.apply(slim.get_model_variables(model=model))
    runner: torch.nn.Module = model
    if world > 1:
        runner = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if flags["compile"]:
        runner = torch.compile(runner)
    autocast = (
        torch.autocast(device.type, dtype=getattr(torch, flags["mixed_precision"]))
        if flags["mixed_precision"]
        else contextlib.nullcontext()
    )
    iterator = batches
    summary_state = {"last": 0.0}
    summaries_due = flags["save_summaries_secs"] and rank == 0

    def total_loss() -> torch.Tensor:
        now = time.time()
        record_summaries = summaries_due and now - summary_state["last"] >= flags["save_summaries_secs"]
        if flags["compile"]:
            # A compiled graph's backward adds a (zero) gradient for every end point it returns: return only the
            # auxiliary logits the loss needs, and all end points on the steps that record activation summaries.
            model.collect_end_points = True if record_summaries else ("AuxLogits",)
        step = int(global_step)
        learning_rate = schedule(step)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        images, labels = next(iterator)
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        if flags["channels_last"]:
            images = images.contiguous(memory_format=torch.channels_last)
        onehot = _one_hot(labels, num_classes)
        with autocast:
            logits, end_points = runner(images)
        if "AuxLogits" in end_points:
            slim.losses.softmax_cross_entropy(
                end_points["AuxLogits"].float(),
                onehot,
                label_smoothing=flags["label_smoothing"],
                weights=0.4,
                scope="aux_loss",
            )
        slim.losses.softmax_cross_entropy(logits.float(), onehot, label_smoothing=flags["label_smoothing"], weights=1.0)
        loss = slim.losses.get_total_loss()
        if record_summaries:
            summary_state["last"] = now
            record_training_summaries(end_points, model, learning_rate, loss.detach(), images)
        return loss

    train_op = learning.create_train_op(
        total_loss,
        optimizer,
        global_step=global_step,
        model=model,
        update_ops=[ema.update] if ema else None,
        clip_gradient_norm=flags["clip_gradient_norm"],
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range and needs none.
        loss_scaler=torch.amp.GradScaler(device.type) if flags["mixed_precision"] == "float16" else None,
    )
    metadata = {
        "model_name": flags["model_name"],
        "num_classes": num_classes,
        "labels_offset": flags["labels_offset"],
        "dataset_name": flags["dataset_name"],
        "preprocessing_name": flags["preprocessing_name"] or flags["model_name"],
        "image_size": image_size,
        "use_grayscale": flags["use_grayscale"],
        "moving_average_decay": flags["moving_average_decay"],
        "quantize_delay": flags["quantize_delay"],
    }
    saver = learning.Saver(
        model,
        optimizer,
        global_step,
        max_to_keep=flags["max_checkpoints_to_keep"],
        extra_tensors=ema.state_tensors if ema else None,
        restore_extra=ema.load_state_tensors if ema else None,
        metadata=metadata,
    )
    init_fn = get_init_fn(
        model,
        flags["train_dir"],
        flags["checkpoint_path"],
        flags["checkpoint_exclude_scopes"],
        flags["ignore_missing_vars"],
    )
    return learning.train(
        train_op,
        flags["train_dir"],
        number_of_steps=flags["max_number_of_steps"],
        log_every_n_steps=flags["log_every_n_steps"],
        save_summaries_secs=flags["save_summaries_secs"],
        save_interval_secs=flags["save_interval_secs"],
        init_fn=init_fn,
        saver=saver,
        is_chief=rank == 0,
    )
