"""LeNet as TF-Slim defines it (LeCun et al., 1998, with ReLU and dropout) for 28 x 28 inputs such as MNIST.

The flatten before fc3 follows TF's channels-last element order, so fc3's weights load from TF checkpoints as they are.

    model = slim.nets.get_network_fn('lenet', num_classes=10)
    logits, end_points = model(images)   # images [N, 1, 28, 28]; end_points['pool2']: [N, 64, 7, 7]
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import slim
from slim.nets.nets_factory import register_network

__all__ = ["lenet", "lenet_arg_scope"]


def lenet(
    images: torch.Tensor,
    num_classes: int | None = 10,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.5,
    prediction_fn: Callable = slim.softmax,
    scope: str = "LeNet",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """LeNet: conv1 (5 x 5, 32) -> pool1 -> conv2 (5 x 5, 64) -> pool2 -> fc3 (1024) -> dropout3 -> fc4 (logits).

    Args:
      images: images ``[N, C, 28, 28]`` (the fully connected layers fix the spatial size).
      num_classes: the number of classes; 0 or None omits dropout3 and the logits layer and returns fc3's features
        ``[N, 1024]``.
      is_training: whether dropout is active; None follows the owning model's ``train()``/``eval()`` mode (TF-Slim's
        default is False).
      dropout_keep_prob: the probability that an activation is kept by ``dropout3``.
      prediction_fn: turns the logits into the ``Predictions`` end point.
      scope: the variable scope of the network.

    Returns:
      ``(logits, end_points)``: the logits ``[N, num_classes]`` (or fc3's features), and the end points ``conv1``,
      ``pool1``, ``conv2``, ``pool2``, ``Flatten``, ``fc3``, ``dropout3``, ``Logits``, ``Predictions``.

    Example:
      with slim.arg_scope(lenet_arg_scope()):
          model = slim.Model(lenet, num_classes=10).build(torch.zeros(1, 1, 28, 28))
      logits, end_points = model(torch.zeros(8, 1, 28, 28))   # logits: [8, 10]
    """
    end_points = {}
    with slim.variable_scope(scope, "LeNet", [images]):
        net = end_points["conv1"] = slim.conv2d(images, 32, [5, 5], scope="conv1")  # 28 x 28 x 32
        net = end_points["pool1"] = slim.max_pool2d(net, [2, 2], 2, scope="pool1")  # 14 x 14 x 32
        net = end_points["conv2"] = slim.conv2d(net, 64, [5, 5], scope="conv2")  # 14 x 14 x 64
        net = end_points["pool2"] = slim.max_pool2d(net, [2, 2], 2, scope="pool2")  # 7 x 7 x 64
        net = slim.flatten(net)  # 3136, in TF's (H, W, C) order, so fc3's weights match TF checkpoints
        end_points["Flatten"] = net
        net = end_points["fc3"] = slim.fully_connected(net, 1024, scope="fc3")
        if not num_classes:
            return net, end_points
        net = end_points["dropout3"] = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout3")
        logits = end_points["Logits"] = slim.fully_connected(net, num_classes, activation_fn=None, scope="fc4")
    end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


lenet.default_image_size = 28


def lenet_arg_scope(weight_decay: float = 0.0) -> dict:
    """The arg scope LeNet is trained with: truncated-normal weights (stddev 0.1), ReLU and L2 weight decay.

    Args:
      weight_decay: the L2 regularization scale of the weights (0.0, the default, adds no regularization).

    Returns:
      The arg scope dict, to enter with ``slim.arg_scope(lenet_arg_scope())``.
    """
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        weights_initializer=slim.truncated_normal_initializer(stddev=0.1),
        activation_fn=torch.relu,
    ) as sc:
        return sc


register_network("lenet", lenet, arg_scope_fn=lenet_arg_scope, default_image_size=28, preprocessing="lenet")
