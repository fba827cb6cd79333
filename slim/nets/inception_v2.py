"""Inception v2 / BN-Inception (Ioffe & Szegedy, 2015, http://arxiv.org/abs/1502.03167) with TF-Slim's names.

The root starts with a 7 x 7 convolution, separable by default (``use_separable_conv``); the body is one table
(:func:`body_layers`) of two block shapes: the Inception block (1x1 | 1x1-3x3 | 1x1-3x3-3x3 | pool-1x1) and the
stride-2 reduction block (1x1-3x3/2 | 1x1-3x3-3x3/2 | 3x3/2 max pool).

    model = slim.nets.get_network_fn('inception_v2', num_classes=1001)
    logits, end_points = model(images)     # images [N, 3, 224, 224]; end_points['Mixed_5c']: [N, 1024, 7, 7]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets.inception_utils import (
    Layer,
    avg_pool,
    build_end_points,
    check_final_endpoint,
    conv,
    depth_fn,
    inception_arg_scope,
    layer_scope,
    max_pool,
    mixed,
    reduced_kernel_size_for_small_input,
    trunc_normal,
)
from slim.nets.nets_factory import register_network

__all__ = ["body_layers", "inception_v2_base", "inception_v2", "inception_v2_arg_scope"]

inception_v2_arg_scope = inception_arg_scope
# TF-Slim's private name for the head's kernel rule, kept for code ported from TF-Slim.
_reduced_kernel_size_for_small_input = reduced_kernel_size_for_small_input

# The root's end points; the first is the (separable) 7 x 7 convolution, built by hand.
ROOT_END_POINTS = ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3", "MaxPool_3a_3x3"]
DATA_FORMATS = ("NHWC", "NCHW")


def body_layers(depth: Callable[[int], int]) -> list[Layer]:
    """The Inception blocks after the root (end points ``Mixed_3b`` ... ``Mixed_5c``), thinned by ``depth``."""
    init_09, init_01 = trunc_normal(0.09), trunc_normal(0.1)

    def inception_block(scope: str, b0: int, b1: tuple, b2: tuple, b3: int, pool: str = "avg") -> Layer:
        """``b0`` 1x1 | ``b1`` 1x1 -> 3x3 | ``b2`` 1x1 -> 3x3 -> 3x3 | 3x3 ``pool`` ('avg' or 'max') -> ``b3`` 1x1."""
        pool_layer = avg_pool([3, 3], "AvgPool_0a_3x3") if pool == "avg" else max_pool([3, 3], "MaxPool_0a_3x3")
        return mixed(
            scope,
            [
                [conv(depth(b0), [1, 1], "Conv2d_0a_1x1")],
                [
                    conv(depth(b1[0]), [1, 1], "Conv2d_0a_1x1", weights_initializer=init_09),
                    conv(depth(b1[1]), [3, 3], "Conv2d_0b_3x3"),
                ],
                [
                    conv(depth(b2[0]), [1, 1], "Conv2d_0a_1x1", weights_initializer=init_09),
                    conv(depth(b2[1]), [3, 3], "Conv2d_0b_3x3"),
                    conv(depth(b2[2]), [3, 3], "Conv2d_0c_3x3"),
                ],
                [pool_layer, conv(depth(b3), [1, 1], "Conv2d_0b_1x1", weights_initializer=init_01)],
            ],
        )

    def reduction_block(scope: str, b0: tuple, b1: tuple) -> Layer:
        """``b0`` 1x1 -> 3x3/2 | ``b1`` 1x1 -> 3x3 -> 3x3/2 | 3x3/2 max pool: halves the size."""
        return mixed(
            scope,
            [
                [
                    conv(depth(b0[0]), [1, 1], "Conv2d_0a_1x1", weights_initializer=init_09),
                    conv(depth(b0[1]), [3, 3], "Conv2d_1a_3x3", stride=2),
                ],
                [
                    conv(depth(b1[0]), [1, 1], "Conv2d_0a_1x1", weights_initializer=init_09),
                    conv(depth(b1[1]), [3, 3], "Conv2d_0b_3x3"),
                    conv(depth(b1[2]), [3, 3], "Conv2d_1a_3x3", stride=2),
                ],
                [max_pool([3, 3], "MaxPool_1a_3x3", stride=2)],
            ],
        )

    # Shapes (H x W x C) at 224 x 224.
    return [
        inception_block("Mixed_3b", 64, (64, 64), (64, 96, 96), 32),  # 28 x 28 x 256
        inception_block("Mixed_3c", 64, (64, 96), (64, 96, 96), 64),  # 28 x 28 x 320
        reduction_block("Mixed_4a", (128, 160), (64, 96, 96)),  # 14 x 14 x 576
        inception_block("Mixed_4b", 224, (64, 96), (96, 128, 128), 128),  # 14 x 14 x 576
        inception_block("Mixed_4c", 192, (96, 128), (96, 128, 128), 128),  # 14 x 14 x 576
        inception_block("Mixed_4d", 160, (128, 160), (128, 160, 160), 96),  # 14 x 14 x 576
        inception_block("Mixed_4e", 96, (128, 192), (160, 192, 192), 96),  # 14 x 14 x 576
        reduction_block("Mixed_5a", (128, 192), (192, 256, 256)),  # 7 x 7 x 1024
        inception_block("Mixed_5b", 352, (192, 320), (160, 224, 224), 128),  # 7 x 7 x 1024
        inception_block("Mixed_5c", 352, (192, 320), (192, 224, 224), 128, pool="max"),  # 7 x 7 x 1024
    ]


def _root_layers(depth: Callable[[int], int]) -> list[Layer]:
    """The root after the first convolution."""
    return [
        max_pool([3, 3], "MaxPool_2a_3x3", stride=2),  # 56 x 56 x 64
        conv(depth(64), [1, 1], "Conv2d_2b_1x1", weights_initializer=trunc_normal(0.1)),  # 56 x 56 x 64
        conv(depth(192), [3, 3], "Conv2d_2c_3x3"),  # 56 x 56 x 192
        max_pool([3, 3], "MaxPool_3a_3x3", stride=2),  # 28 x 28 x 192
    ]


def inception_v2_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Mixed_5c",
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    use_separable_conv: bool = True,
    data_format: str = "NHWC",
    include_root_block: bool = True,
    scope: Any = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v2 body, from the inputs up to ``final_endpoint``.

    Args:
      inputs: images ``[N, 3, H, W]`` (or, without the root block, features ``[N, C, H, W]``); larger than 32 x 32.
      final_endpoint: the last end point to build: one of ``Conv2d_1a_7x7, MaxPool_2a_3x3, Conv2d_2b_1x1,
        Conv2d_2c_3x3, MaxPool_3a_3x3, Mixed_3b, Mixed_3c, Mixed_4a, Mixed_4b, Mixed_4c, Mixed_4d, Mixed_4e,
        Mixed_5a, Mixed_5b, Mixed_5c``.
      min_depth: the smallest number of channels of any convolution (it only bites when depth_multiplier < 1).
      depth_multiplier: scales the number of channels of every convolution; must be greater than zero.
      use_separable_conv: whether ``Conv2d_1a_7x7`` is a separable convolution (depthwise multiplier
        ``min(int(depth(64) / 3), 8)``, so ``in_channels * multiplier <= out_channels``) or a plain one.
      data_format: TF-Slim's layout argument, kept so TF-Slim calls work unchanged: 'NHWC' or 'NCHW'. slim's
        tensors are always NCHW, so both values build the same network on NCHW inputs (TF-Slim's restriction of
        separable convolutions to NHWC does not apply).
      include_root_block: whether to build the root (up to ``MaxPool_3a_3x3``); False starts at ``Mixed_3b``.
      scope: the variable scope (name or VariableScope; default ``InceptionV2``).

    Returns:
      ``(net, end_points)``: the ``final_endpoint`` tensor and every end point built, in order.

    Raises:
      ValueError: ``depth_multiplier`` <= 0, ``data_format`` not 'NHWC'/'NCHW', or an unknown ``final_endpoint``.

    Example:
      model = slim.Model(inception_v2_base, use_separable_conv=False).build(torch.zeros(1, 3, 224, 224))
      net, end_points = model(images)   # net: [N, 1024, 7, 7]
    """
    depth = depth_fn(depth_multiplier, min_depth, "inception_v2_base")
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"inception_v2_base: data_format must be either NHWC or NCHW, got {data_format!r} "
            "(slim's tensors are NCHW with either value)."
        )
    body = body_layers(depth)
    names = (ROOT_END_POINTS if include_root_block else []) + [layer_scope(layer) for layer in body]
    check_final_endpoint(final_endpoint, names, "inception_v2_base")
    end_points: dict[str, torch.Tensor] = {}
    with slim.variable_scope(scope, "InceptionV2", [inputs]):
        with slim.arg_scope(
            [slim.conv2d, slim.max_pool2d, slim.avg_pool2d, slim.separable_conv2d], stride=1, padding="SAME"
        ):
            net = inputs
            if include_root_block:
                if use_separable_conv:
                    # The depthwise multiplier sets the depthwise step's outputs (3 x multiplier channels);
                    # depth_multiplier thins the pointwise 1 x 1 step like every other convolution.
                    net = slim.separable_conv2d(
                        inputs,
                        depth(64),
                        [7, 7],
                        depth_multiplier=min(int(depth(64) / 3), 8),
                        stride=2,
                        weights_initializer=trunc_normal(1.0),
                        scope="Conv2d_1a_7x7",
                    )
                else:
                    net = slim.conv2d(
                        inputs,
                        depth(64),
                        [7, 7],
                        stride=2,
                        weights_initializer=trunc_normal(1.0),
                        scope="Conv2d_1a_7x7",
                    )
                end_points["Conv2d_1a_7x7"] = net  # 112 x 112 x 64
                if final_endpoint == "Conv2d_1a_7x7":
                    return net, end_points
                net, reached = build_end_points(net, _root_layers(depth), final_endpoint, end_points)
                if reached:
                    return net, end_points
            net, _ = build_end_points(net, body, final_endpoint, end_points)
    return net, end_points


def inception_v2(
    inputs: torch.Tensor,
    num_classes: int | None = 1000,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.8,
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    prediction_fn: Callable = slim.softmax,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    scope: str = "InceptionV2",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Inception v2: the body, then an average pool (7 x 7, less for small inputs), dropout and 1 x 1-conv logits.

    Args:
      inputs: images ``[N, 3, H, W]``; 224 x 224 is the design size, smaller inputs shrink the head's pool.
      num_classes: the number of classes; 0 or None returns the pooled features ``[N, 1024, 1, 1]`` (no dropout).
      is_training: whether batch norm and dropout are in training mode; None follows the owning model's
        ``train()``/``eval()`` mode.
      dropout_keep_prob: the probability that a pooled feature is kept by ``Dropout_1b``.
      min_depth: the smallest number of channels of any convolution (when depth_multiplier < 1).
      depth_multiplier: scales the number of channels of every convolution; must be greater than zero.
      prediction_fn: turns the logits into ``end_points['Predictions']``.
      spatial_squeeze: whether to squeeze the logits' 1 x 1 spatial dims.
      reuse: whether to reuse the network's variables (True, slim.AUTO_REUSE, or None to inherit).
      scope: the variable scope of the network.
      global_pool: whether to average the final feature map over all its positions instead of the fixed pool.

    Returns:
      ``(logits, end_points)``: logits ``[N, num_classes]`` (or the pooled features without classes), and the end
      points of :func:`inception_v2_base` plus ``AvgPool_1a`` or ``global_pool``, ``PreLogits``, ``Logits`` and
      ``Predictions``.

    Raises:
      ValueError: ``depth_multiplier`` <= 0.

    Example:
      model = slim.Model(inception_v2, num_classes=5, arg_scope=inception_v2_arg_scope())
      logits, end_points = model.build(torch.zeros(1, 3, 224, 224))(images)   # logits: [N, 5]
    """
    depth_fn(depth_multiplier, min_depth, "inception_v2")  # fail before building anything
    with slim.variable_scope(scope, "InceptionV2", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v2_base(
                inputs, scope=sc, min_depth=min_depth, depth_multiplier=depth_multiplier
            )
            with slim.variable_scope("Logits"):
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)
                    end_points["global_pool"] = net
                else:
                    kernel_size = reduced_kernel_size_for_small_input(net, [7, 7])
                    net = slim.avg_pool2d(
                        net, kernel_size, padding="VALID", scope="AvgPool_1a_{}x{}".format(*kernel_size)
                    )
                    end_points["AvgPool_1a"] = net  # 1 x 1 x 1024
                if not num_classes:
                    return net, end_points
                net = slim.dropout(net, keep_prob=dropout_keep_prob, scope="Dropout_1b")
                end_points["PreLogits"] = net
                logits = slim.conv2d(
                    net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="Conv2d_1c_1x1"
                )
                if spatial_squeeze:
                    logits = torch.squeeze(logits, [2, 3])
            end_points["Logits"] = logits
            end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


inception_v2.default_image_size = 224

register_network(
    "inception_v2", inception_v2, arg_scope_fn=inception_v2_arg_scope, default_image_size=224, preprocessing="inception"
)
