"""Optimizers with TF's update rules, learning-rate schedules, and the exponential moving average."""

from slim.optimizers.learning_rate import configure_learning_rate, exponential_decay, polynomial_decay
from slim.optimizers.moving_average import ExponentialMovingAverage
from slim.optimizers.tf_optimizers import AdamTF, FtrlTF, RMSPropTF

__all__ = [
    "AdamTF",
    "ExponentialMovingAverage",
    "FtrlTF",
    "RMSPropTF",
    "configure_learning_rate",
    "exponential_decay",
    "polynomial_decay",
]
