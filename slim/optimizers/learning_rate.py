"""Learning-rate schedules of train_image_classifier, as functions of the global step (TF's formulas).

``decay_steps = int(num_samples_per_epoch / batch_size * num_epochs_per_decay)`` (divided by
``replicas_to_aggregate`` with sync replicas; the number of clones is NOT taken into account, as in TF-Slim).
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["exponential_decay", "polynomial_decay", "configure_learning_rate"]


def exponential_decay(
    learning_rate: float, global_step: int, decay_steps: int, decay_rate: float, staircase: bool = False
) -> float:
    """``lr * rate ** (step / decay_steps)``, the exponent floored with ``staircase``."""
    if decay_steps <= 0:
        raise ValueError(f"exponential_decay: decay_steps must be > 0, got {decay_steps}.")
    exponent = global_step / decay_steps
    if staircase:
        exponent = math.floor(exponent)
    return learning_rate * decay_rate**exponent


def polynomial_decay(
    learning_rate: float,
    global_step: int,
    decay_steps: int,
    end_learning_rate: float = 0.0001,
    power: float = 1.0,
    cycle: bool = False,
) -> float:
    """``(lr - end) * (1 - step / decay_steps) ** power + end`` with the step capped at decay_steps (or cycled)."""
    if decay_steps <= 0:
        raise ValueError(f"polynomial_decay: decay_steps must be > 0, got {decay_steps}.")
    if cycle:
        multiplier = 1.0 if global_step == 0 else math.ceil(global_step / decay_steps)
        decay_steps = decay_steps * multiplier
    else:
        global_step = min(global_step, decay_steps)
    fraction = global_step / decay_steps
    return (learning_rate - end_learning_rate) * (1 - fraction) ** power + end_learning_rate


def configure_learning_rate(
    num_samples_per_epoch: int,
    batch_size: int,
    learning_rate: float = 0.01,
    learning_rate_decay_type: str = "exponential",
    learning_rate_decay_factor: float = 0.94,
    num_epochs_per_decay: float = 2.0,
    end_learning_rate: float = 0.0001,
    warmup_epochs: float = 0,
    sync_replicas: bool = False,
    replicas_to_aggregate: int = 1,
) -> Callable[[int], float]:
    """TF-Slim's ``_configure_learning_rate``: a function ``step -> learning rate``.

    Raises:
      ValueError: an unknown decay type ("learning_rate_decay_type [x] was not recognized").
    """
    steps_per_epoch = num_samples_per_epoch / batch_size
    if sync_replicas:
        steps_per_epoch /= replicas_to_aggregate
    decay_steps = int(steps_per_epoch * num_epochs_per_decay)
    if learning_rate_decay_type == "exponential":
        if decay_steps <= 0:
            raise ValueError(f"decay_steps is {decay_steps}: num_epochs_per_decay or the dataset size is too small.")

        def decayed(step: int) -> float:
            return exponential_decay(learning_rate, step, decay_steps, learning_rate_decay_factor, staircase=True)
    elif learning_rate_decay_type == "fixed":

        def decayed(step: int) -> float:
            return learning_rate
    elif learning_rate_decay_type == "polynomial":
        if decay_steps <= 0:
            raise ValueError(f"decay_steps is {decay_steps}: num_epochs_per_decay or the dataset size is too small.")

        def decayed(step: int) -> float:
            return polynomial_decay(learning_rate, step, decay_steps, end_learning_rate, power=1.0, cycle=False)
    else:
        raise ValueError(f"learning_rate_decay_type [{learning_rate_decay_type}] was not recognized")
    if not warmup_epochs:
        return decayed
    warmup_steps = steps_per_epoch * warmup_epochs

    def with_warmup(step: int) -> float:
        return min(learning_rate * step / warmup_steps, decayed(step))

    return with_warmup
