"""CifarNet: the small CIFAR-10 network of TensorFlow's tutorial, with TF-Slim's names (32 x 32 inputs).

It normalizes with TF's local response normalization (``tf.nn.lrn``), reproduced exactly by
:func:`local_response_normalization`.

    model = slim.nets.get_network_fn('cifarnet', num_classes=10)
    logits, end_points = model(images)   # images [N, 3, 32, 32]; end_points['pool2']: [N, 64, 8, 8]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

import slim
from slim.nets.nets_factory import register_network

__all__ = ["cifarnet", "cifarnet_arg_scope", "local_response_normalization"]


def local_response_normalization(
    inputs: torch.Tensor, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0, beta: float = 0.5
) -> torch.Tensor:
    """TF's ``tf.nn.lrn`` over the channels (dim 1) of an NCHW tensor.

    ``output = input / (bias + alpha * sqr_sum) ** beta``, where ``sqr_sum`` is the plain sum of the squares over
    the ``2 * depth_radius + 1`` channels centred on each channel (fewer at the edges). PyTorch's
    ``local_response_norm`` divides that sum by the window size, so it is not used here.

    Args:
      inputs: a float tensor ``[N, C, H, W]``.
      depth_radius: half the channel window; TF's default is 5.
      bias: the offset added before the power (TF's default 1.0).
      alpha: the scale of the sum of squares (TF's default 1.0).
      beta: the exponent (TF's default 0.5).

    Returns:
      The normalized tensor, shaped like ``inputs``.

    Raises:
      ValueError: ``inputs`` is not 4-D or ``depth_radius`` is negative.

    Example:
      net = local_response_normalization(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)
    """
    if inputs.dim() != 4:
        raise ValueError(
            f"local_response_normalization: inputs must be 4-D [N, C, H, W], got shape {tuple(inputs.shape)}."
        )
    if depth_radius < 0:
        raise ValueError(f"local_response_normalization: depth_radius must be >= 0, got {depth_radius}.")
    channels = inputs.shape[1]
    # Zero-pad the channel dim by depth_radius on both sides, then add the 2r+1 shifted windows.
    padded = F.pad(inputs.square(), (0, 0, 0, 0, depth_radius, depth_radius))
    sqr_sum = padded[:, 0:channels]
    for offset in range(1, 2 * depth_radius + 1):
        sqr_sum = sqr_sum + padded[:, offset : offset + channels]
    return inputs * (bias + alpha * sqr_sum).pow(-beta)


def trunc_normal(stddev: float) -> Callable:
    """A truncated-normal initializer with mean 0 (TF-Slim's module-level helper)."""
    return slim.truncated_normal_initializer(stddev=stddev)


def cifarnet(
    images: torch.Tensor,
    num_classes: int | None = 10,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.5,
    prediction_fn: Callable = slim.softmax,
    scope: str = "CifarNet",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """CifarNet: two 5 x 5 convolution stages with max pooling and LRN, then fc3 (384), fc4 (192) and the logits.

    Args:
      images: images ``[N, 3, 32, 32]`` (the fully connected layers fix the spatial size).
      num_classes: the number of classes; 0 or None omits the logits layer and returns fc4's features ``[N, 192]``.
      is_training: whether dropout is active; None follows the owning model's ``train()``/``eval()`` mode (TF-Slim's
        default is False).
      dropout_keep_prob: the probability that an activation is kept by ``dropout3``.
      prediction_fn: turns the logits into the ``Predictions`` end point.
      scope: the variable scope of the network.

    Returns:
      ``(logits, end_points)``: the logits ``[N, num_classes]`` (or fc4's features), and the end points ``conv1``,
      ``pool1``, ``conv2``, ``pool2``, ``Flatten``, ``fc3``, ``fc4``, ``Logits``, ``Predictions``.

    Example:
      with slim.arg_scope(cifarnet_arg_scope()):
          model = slim.Model(cifarnet, num_classes=10).build(torch.zeros(1, 3, 32, 32))
      logits, end_points = model(torch.zeros(8, 3, 32, 32))   # logits: [8, 10]
    """
    end_points = {}
    with slim.variable_scope(scope, "CifarNet", [images]):
        net = slim.conv2d(images, 64, [5, 5], scope="conv1")  # 32 x 32 x 64
        end_points["conv1"] = net
        net = slim.max_pool2d(net, [2, 2], 2, scope="pool1")  # 16 x 16 x 64
        end_points["pool1"] = net
        net = local_response_normalization(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)  # norm1
        net = slim.conv2d(net, 64, [5, 5], scope="conv2")  # 16 x 16 x 64
        end_points["conv2"] = net
        net = local_response_normalization(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)  # norm2
        net = slim.max_pool2d(net, [2, 2], 2, scope="pool2")  # 8 x 8 x 64
        end_points["pool2"] = net
        net = slim.flatten(net)  # 4096, in TF's (H, W, C) order, so fc3's weights match TF checkpoints
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
    """The arg scope CifarNet is trained with.

    Convolutions: truncated-normal weights (stddev 0.05) and ReLU. Fully connected layers: truncated-normal weights
    (stddev 0.04), biases 0.1, L2 weight decay and ReLU.

    Args:
      weight_decay: the L2 regularization scale of the fully connected weights.

    Returns:
      The arg scope dict, to enter with ``slim.arg_scope(cifarnet_arg_scope())``.
    """
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
