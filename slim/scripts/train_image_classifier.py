"""Trains a network of the nets factory on a dataset (TF-Slim's ``train_image_classifier.py``, same flags).

    python -m slim.scripts.train_image_classifier --train_dir=/tmp/train --dataset_name=flowers \
        --dataset_dir=/tmp/flowers --model_name=inception_v3

From Python: ``train_image_classifier(dataset_name="flowers", dataset_dir=..., clone_on_cpu=True)``.
``--num_clones=N`` starts N DDP processes here; several machines use ``--worker_replicas``, ``--task`` and
``--master=host:port`` (or torchrun). See docs/distributed.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slim.scripts.flagspec import parse_argv, resolve_kwargs
from slim.scripts.train_flags import TRAIN_FLAGS

DESCRIPTION = "Generic training script that trains a model using a given dataset."


def train_image_classifier(**kwargs: Any) -> float | None:
    """Python entry point taking the flags as keyword arguments; returns the last loss (of this process)."""
    flags = resolve_kwargs(TRAIN_FLAGS, kwargs, "train_image_classifier")
    from slim.classification.training import run_training, validate_train_flags
    from slim.deployment.model_deploy import DeploymentConfig, deploy

    validate_train_flags(flags)
    config = DeploymentConfig(
        num_clones=flags["num_clones"],
        clone_on_cpu=flags["clone_on_cpu"],
        replica_id=flags["task"],
        num_replicas=flags["worker_replicas"],
        num_ps_tasks=flags["num_ps_tasks"],
        master=flags["master"],
    )
    return deploy(config, run_training, flags)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train_image_classifier(**parse_argv(TRAIN_FLAGS, argv, "train_image_classifier", DESCRIPTION))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
