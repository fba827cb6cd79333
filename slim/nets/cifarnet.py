"""CifarNet: the small CIFAR-10 network of TF's tutorial, with TF-Slim's names (32 x 32 inputs)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

import slim
from slim.nets.nets_factory import register_network


def local_response_normalization(
    inputs: torch.Tensor, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0, beta: float = 0.5
) -> torch.Tensor:
    """TF's ``tf.nn.lrn`` over the channels of an NCHW tensor: ``x / (bias + alpha * sum(x^2 over 2r+1 channels))
    ** beta``. (PyTorch's ``local_response_norm`` divides the sum by the window size; TF does not.)"""
    window = 2 * depth_radius + 1
    squares = inputs.square().unsqueeze(1)  # [N, 1, C, H, W]
    summed = (
        F.avg_pool3d(squares, (window, 1, 1), stride=1, padding=(depth_radius, 0, 0), count_include_pad=True).squeeze(1)
        * window
    )
    return inputs / (bias + alpha * summed).pow(beta)


def trunc_normal(stddev: float):
    return slim.truncated_normal_initializer(stddev=stddev)


def cifarnet(
    images: torch.Tensor,
    num_classes: int | None = 10,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.5,
    prediction_fn: Callable = slim.softmax,
    scope: str = "CifarNet",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """CifarNet: two 5x5 conv + max-pool + LRN stages, then fc3 (384), fc4 (192) and the logits."""
    end_points = {}
    with slim.variable_scope(scope, "CifarNet", [images]):
        net = slim.conv2d(images, 64, [5, 5], scope="conv1")
        end_points["conv1"] = net
        net = slim.max_pool2d(net, [2, 2], 2, scope="pool1")
        end_points["pool1"] = net
        net = local_response_normalization(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)  # norm1
        net = slim.conv2d(net, 64, [5, 5], scope="conv2")
        end_points["conv2"] = net
        net = local_response_normalization(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)  # norm2
        net = slim.max_pool2d(net, [2, 2], 2, scope="pool2")
        end_points["pool2"] = net
        net = slim.flatten(net)
        end_points["Flatten"] = net
        net = slim.fully_connected(net, 384, scope="fc3")
        end_points["fc3"] = net
        net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout3")
        net = slim.fully_connected(net, 192, scope="fc4")
        end_points["fc4"] = net
        if not num_classes:
            return net, end_points
        logits = slim.fully_connected(
            net,
            num_classes,
            biases_initializer=slim.zeros_initializer(),
            weights_initializer=trunc_normal(1 / 192.0),
            weights_regularizer=None,
            activation_fn=None,
            scope="logits",
        )
        end_points["Logits"] = logits
        end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


cifarnet.default_image_size = 32


def cifarnet_arg_scope(weight_decay: float = 0.004) -> dict:
    """Truncated-normal ReLU convs; fully connected layers with biases 0.1 and L2 weight decay."""
    with slim.arg_scope(
        [slim.conv2d], weights_initializer=slim.truncated_normal_initializer(stddev=5e-2), activation_fn=torch.relu
    ):
        with slim.arg_scope(
            [slim.fully_connected],
            biases_initializer=slim.constant_initializer(0.1),
            weights_initializer=trunc_normal(0.04),
            weights_regularizer=slim.l2_regularizer(weight_decay),
            activation_fn=torch.relu,
        ) as sc:
            return sc


register_network("cifarnet", cifarnet, arg_scope_fn=cifarnet_arg_scope, default_image_size=32, preprocessing="cifarnet")
