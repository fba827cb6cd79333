"""`configure_optimizer`: train_image_classifier's optimizer flags mapped onto optimizers with TF's update rules."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from slim.optimizers.tf_optimizers import AdamTF, FtrlTF, RMSPropTF

__all__ = ["OPTIMIZERS", "configure_optimizer"]

OPTIMIZERS = ("adadelta", "adagrad", "adam", "ftrl", "momentum", "sgd", "rmsprop")


def configure_optimizer(
    name: str,
    params: Iterable,
    learning_rate: float,
    adadelta_rho: float = 0.95,
    adagrad_initial_accumulator_value: float = 0.1,
    adam_beta1: float = 0.9,
    adam_beta2: float = 0.999,
    opt_epsilon: float = 1.0,
    ftrl_learning_rate_power: float = -0.5,
    ftrl_initial_accumulator_value: float = 0.1,
    ftrl_l1: float = 0.0,
    ftrl_l2: float = 0.0,
    momentum: float = 0.9,
    rmsprop_momentum: float = 0.9,
    rmsprop_decay: float = 0.9,
) -> torch.optim.Optimizer:
    """The optimizer TF-Slim's ``_configure_optimizer`` builds, with TF's update rules.

    ``opt_epsilon`` is used by adadelta, adam and rmsprop, as in TF-Slim. TF's Adadelta, Adagrad (no epsilon),
    Momentum and GradientDescent updates equal PyTorch's, so those are PyTorch's optimizers.

    Raises:
      ValueError: "Optimizer [x] was not recognized".
    """
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=learning_rate, rho=adadelta_rho, eps=opt_epsilon)
    if name == "adagrad":
        return torch.optim.Adagrad(
            params, lr=learning_rate, initial_accumulator_value=adagrad_initial_accumulator_value, eps=0.0
        )
    if name == "adam":
        return AdamTF(params, lr=learning_rate, beta1=adam_beta1, beta2=adam_beta2, epsilon=opt_epsilon)
    if name == "ftrl":
        return FtrlTF(
            params,
            lr=learning_rate,
            learning_rate_power=ftrl_learning_rate_power,
            initial_accumulator_value=ftrl_initial_accumulator_value,
            l1_regularization_strength=ftrl_l1,
            l2_regularization_strength=ftrl_l2,
        )
    if name == "momentum":
        return torch.optim.SGD(params, lr=learning_rate, momentum=momentum)
    if name == "rmsprop":
        return RMSPropTF(params, lr=learning_rate, decay=rmsprop_decay, momentum=rmsprop_momentum, epsilon=opt_epsilon)
    if name == "sgd":
        return torch.optim.SGD(params, lr=learning_rate)
    raise ValueError(f"Optimizer [{name}] was not recognized")
