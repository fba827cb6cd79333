"""LeNet as in TF-Slim (LeCun et al., 1998, with ReLU and dropout); 28 x 28 inputs."""

from __future__ import annotations

from collections.abc import Callable

import torch

import slim
from slim.nets.nets_factory import register_network


def lenet(
    images: torch.Tensor,
    num_classes: int | None = 10,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.5,
    prediction_fn: Callable = slim.softmax,
    scope: str = "LeNet",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """conv1 (5x5, 32) -> pool1 -> conv2 (5x5, 64) -> pool2 -> fc3 (1024) -> dropout3 -> fc4 (logits).

    ``num_classes`` 0/None returns fc3's features.
    """
    end_points = {}
    with slim.variable_scope(scope, "LeNet", [images]):
        net = end_points["conv1"] = slim.conv2d(images, 32, [5, 5], scope="conv1")
        net = end_points["pool1"] = slim.max_pool2d(net, [2, 2], 2, scope="pool1")
        net = end_points["conv2"] = slim.conv2d(net, 64, [5, 5], scope="conv2")
        net = end_points["pool2"] = slim.max_pool2d(net, [2, 2], 2, scope="pool2")
        net = slim.flatten(net)
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
    """Truncated-normal (0.1) ReLU layers with L2 weight decay (none by default)."""
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        weights_initializer=slim.truncated_normal_initializer(stddev=0.1),
        activation_fn=torch.relu,
    ) as sc:
        return sc


register_network("lenet", lenet, arg_scope_fn=lenet_arg_scope, default_image_size=28, preprocessing="lenet")
