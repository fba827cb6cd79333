"""Inception v1 / GoogLeNet (Szegedy et al., 2014, http://arxiv.org/abs/1409.4842) with TF-Slim's names.

The network is one table (:data:`ROOT` + :data:`BODY`): every row is an end point, every Inception block has the
same four-branch shape (1x1 | 1x1-3x3 | 1x1-3x3 | 3x3 max pool-1x1) and differs only in its depths.

    model = slim.nets.get_network_fn('inception_v1', num_classes=1001)
    logits, end_points = model(images)     # images [N, 3, 224, 224]; end_points['Mixed_5c']: [N, 1024, 7, 7]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets.inception_utils import (
    Layer,
    build_end_points,
    check_final_endpoint,
    conv,
    inception_arg_scope,
    layer_scope,
    max_pool,
    mixed,
    trunc_normal,
)
from slim.nets.nets_factory import register_network

__all__ = ["ROOT", "BODY", "inception_v1_base", "inception_v1", "inception_v1_arg_scope"]

inception_v1_arg_scope = inception_arg_scope


def _inception_block(
    scope: str, b0: int, b1: tuple[int, int], b2: tuple[int, int], b3: int, b2_scope: str = "Conv2d_0b_3x3"
) -> Layer:
    """An Inception (3a ... 5b) block: ``b0`` 1x1 | ``b1`` 1x1 -> 3x3 | ``b2`` 1x1 -> 3x3 | max pool -> ``b3`` 1x1."""
    return mixed(
        scope,
        [
            [conv(b0, [1, 1], "Conv2d_0a_1x1")],
            [conv(b1[0], [1, 1], "Conv2d_0a_1x1"), conv(b1[1], [3, 3], "Conv2d_0b_3x3")],
            [conv(b2[0], [1, 1], "Conv2d_0a_1x1"), conv(b2[1], [3, 3], b2_scope)],
            [max_pool([3, 3], "MaxPool_0a_3x3"), conv(b3, [1, 1], "Conv2d_0b_1x1")],
        ],
    )


# The root block; shapes (H x W x C) at 224 x 224.
ROOT: list[Layer] = [
    conv(64, [7, 7], "Conv2d_1a_7x7", stride=2),  # 112 x 112 x 64
    max_pool([3, 3], "MaxPool_2a_3x3", stride=2),  # 56 x 56 x 64
    conv(64, [1, 1], "Conv2d_2b_1x1"),  # 56 x 56 x 64
    conv(192, [3, 3], "Conv2d_2c_3x3"),  # 56 x 56 x 192
    max_pool([3, 3], "MaxPool_3a_3x3", stride=2),  # 28 x 28 x 192
]

# The Inception blocks after the root.
BODY: list[Layer] = [
    _inception_block("Mixed_3b", 64, (96, 128), (16, 32), 32),  # 28 x 28 x 256
    _inception_block("Mixed_3c", 128, (128, 192), (32, 96), 64),  # 28 x 28 x 480
    max_pool([3, 3], "MaxPool_4a_3x3", stride=2),  # 14 x 14 x 480
    _inception_block("Mixed_4b", 192, (96, 208), (16, 48), 64),  # 14 x 14 x 512
    _inception_block("Mixed_4c", 160, (112, 224), (24, 64), 64),  # 14 x 14 x 512
    _inception_block("Mixed_4d", 128, (128, 256), (24, 64), 64),  # 14 x 14 x 512
    _inception_block("Mixed_4e", 112, (144, 288), (32, 64), 64),  # 14 x 14 x 528
    _inception_block("Mixed_4f", 256, (160, 320), (32, 128), 128),  # 14 x 14 x 832
    max_pool([2, 2], "MaxPool_5a_2x2", stride=2),  # 7 x 7 x 832
    # TF-Slim names this block's second Branch_2 conv Conv2d_0a_3x3; the published checkpoint depends on it.
    _inception_block("Mixed_5b", 256, (160, 320), (32, 128), 128, b2_scope="Conv2d_0a_3x3"),  # 7 x 7 x 832
    _inception_block("Mixed_5c", 384, (192, 384), (48, 128), 128),  # 7 x 7 x 1024
]


def inception_v1_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Mixed_5c",
    include_root_block: bool = True,
    scope: Any = "InceptionV1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v1 body, from the inputs up to ``final_endpoint``.

    Args:
      inputs: images ``[N, 3, H, W]`` (or, without the root block, features ``[N, C, H, W]``).
      final_endpoint: the last end point to build: one of ``Conv2d_1a_7x7, MaxPool_2a_3x3, Conv2d_2b_1x1,
        Conv2d_2c_3x3, MaxPool_3a_3x3, Mixed_3b, Mixed_3c, MaxPool_4a_3x3, Mixed_4b, Mixed_4c, Mixed_4d, Mixed_4e,
        Mixed_4f, MaxPool_5a_2x2, Mixed_5b, Mixed_5c``.
      include_root_block: whether to build the root (up to ``MaxPool_3a_3x3``); False starts at ``Mixed_3b``.
      scope: the variable scope (name or VariableScope).

    Returns:
      ``(net, end_points)``: the ``final_endpoint`` tensor and every end point built, in order.

    Raises:
      ValueError: ``final_endpoint`` is not one of the end points built.

    Example:
      model = slim.Model(inception_v1_base, final_endpoint='Mixed_4f').build(torch.zeros(1, 3, 224, 224))
      net, end_points = model(images)   # net: [N, 832, 14, 14]
    """
    layers = (ROOT if include_root_block else []) + BODY
    check_final_endpoint(final_endpoint, [layer_scope(layer) for layer in layers], "inception_v1_base")
    end_points: dict[str, torch.Tensor] = {}
    with slim.variable_scope(scope, "InceptionV1", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_initializer=trunc_normal(0.01)):
            with slim.arg_scope([slim.conv2d, slim.max_pool2d], stride=1, padding="SAME"):
                net, _ = build_end_points(inputs, layers, final_endpoint, end_points)
    return net, end_points


def inception_v1(
    inputs: torch.Tensor,
    num_classes: int | None = 1000,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.8,
    prediction_fn: Callable = slim.softmax,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    scope: str = "InceptionV1",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Inception v1: the body, then a 7 x 7 average pool (or a global mean), dropout and 1 x 1-conv logits.

    Args:
      inputs: images ``[N, 3, H, W]``; without ``global_pool`` the 7 x 7 VALID pool needs ``Mixed_5c`` of at least
        7 x 7, i.e. inputs of about 224 x 224 or more.
      num_classes: the number of classes; 0 or None returns the pooled features ``[N, 1024, 1, 1]`` (no dropout).
      is_training: whether batch norm and dropout are in training mode; None follows the owning model's
        ``train()``/``eval()`` mode.
      dropout_keep_prob: the probability that a pooled feature is kept by ``Dropout_0b``.
      prediction_fn: turns the logits into ``end_points['Predictions']``.
      spatial_squeeze: whether to squeeze the logits' 1 x 1 spatial dims (``[N, C]`` instead of ``[N, C, 1, 1]``).
      reuse: whether to reuse the network's variables (True, slim.AUTO_REUSE, or None to inherit).
      scope: the variable scope of the network.
      global_pool: whether to average the final feature map over all its positions instead of the 7 x 7 pool.

    Returns:
      ``(logits, end_points)``: logits ``[N, num_classes]`` (or the pooled features without classes), and the end
      points of :func:`inception_v1_base` plus ``AvgPool_0a_7x7`` or ``global_pool``, ``Logits`` and
      ``Predictions``.

    Raises:
      ValueError: ``Mixed_5c`` is smaller than the 7 x 7 pool and ``global_pool`` is False.

    Example:
      model = slim.Model(inception_v1, num_classes=5, arg_scope=inception_v1_arg_scope())
      logits, end_points = model.build(torch.zeros(1, 3, 224, 224))(images)   # logits: [N, 5]
    """
    with slim.variable_scope(scope, "InceptionV1", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v1_base(inputs, scope=sc)
            with slim.variable_scope("Logits"):
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)
                    end_points["global_pool"] = net
                else:
                    height, width = int(net.shape[2]), int(net.shape[3])
                    if height < 7 or width < 7:
                        raise ValueError(
                            f"inception_v1: Mixed_5c is {height} x {width}, smaller than the 7 x 7 VALID average "
                            f"pool of the head (input {tuple(inputs.shape[2:])}); use inputs of at least 224 x 224 "
                            "or global_pool=True."
                        )
                    net = slim.avg_pool2d(net, [7, 7], stride=1, scope="AvgPool_0a_7x7")
                    end_points["AvgPool_0a_7x7"] = net  # 1 x 1 x 1024
                if not num_classes:
                    return net, end_points
                net = slim.dropout(net, dropout_keep_prob, scope="Dropout_0b")
                logits = slim.conv2d(
                    net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="Conv2d_0c_1x1"
                )
                if spatial_squeeze:
                    logits = torch.squeeze(logits, [2, 3])
                end_points["Logits"] = logits
                end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


inception_v1.default_image_size = 224

register_network(
    "inception_v1", inception_v1, arg_scope_fn=inception_v1_arg_scope, default_image_size=224, preprocessing="inception"
)
