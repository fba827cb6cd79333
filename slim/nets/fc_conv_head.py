"""The classifier head AlexNet, OverFeat and VGG share: fully connected layers written as convolutions.

``fc6`` (a k x k conv over the last feature map) -> dropout6 -> ``fc7`` (1x1) -> optional global pool -> dropout7 ->
``fc8`` (1x1, no activation) -> squeeze. As convolutions, the nets run on larger inputs and give a spatial map of
logits (``spatial_squeeze=False``).
"""

from __future__ import annotations

from typing import Any

import torch

import slim


def fully_convolutional_head(
    net: torch.Tensor,
    *,
    scope_name: str,
    end_points_collection: str,
    num_classes: int | None,
    is_training: Any,
    dropout_keep_prob: float,
    spatial_squeeze: bool,
    global_pool: bool,
    fc6_depth: int,
    fc6_kernel: int,
    fc6_padding: str,
    fc7_depth: int = 4096,
    fc8_biases_initializer: Any = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Applies fc6..fc8 under the current scope and returns ``(net, end_points)`` as TF-Slim's nets do."""
    net = slim.conv2d(net, fc6_depth, [fc6_kernel, fc6_kernel], padding=fc6_padding, scope="fc6")
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout6")
    net = slim.conv2d(net, fc7_depth, [1, 1], scope="fc7")
    end_points = slim.utils.convert_collection_to_dict(end_points_collection)
    if global_pool:
        net = torch.mean(net, dim=[2, 3], keepdim=True)
        end_points["global_pool"] = net
    if num_classes:
        net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout7")
        fc8_kwargs = {} if fc8_biases_initializer is None else {"biases_initializer": fc8_biases_initializer}
        net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="fc8", **fc8_kwargs)
        if spatial_squeeze:
            net = torch.squeeze(net, [2, 3])  # fc8/squeezed
        end_points[scope_name + "/fc8"] = net
    return net, end_points
