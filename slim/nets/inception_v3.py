"""Inception v3 (Szegedy et al., 2015, http://arxiv.org/abs/1512.00567) with TF-Slim's names and auxiliary head.

The network is one table (:func:`stem_layers` + :func:`body_layers`): the VALID-padded stem, three 35 x 35 blocks,
a reduction to 17 x 17, four 17 x 17 blocks with factorized 7 x 7 convolutions, a reduction to 8 x 8 and two 8 x 8
blocks with split 1 x 3 / 3 x 1 convolutions. The auxiliary classifier reads ``Mixed_6e``.

    model = slim.nets.get_network_fn('inception_v3', num_classes=1001)
    logits, end_points = model(images)   # images [N, 3, 299, 299]; end_points['AuxLogits']: [N, 1001]
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
    split,
    trunc_normal,
)
from slim.nets.nets_factory import register_network

__all__ = ["stem_layers", "body_layers", "inception_v3_base", "inception_v3", "inception_v3_arg_scope"]

inception_v3_arg_scope = inception_arg_scope
# TF-Slim's private name for the heads' kernel rule, kept for code ported from TF-Slim.
_reduced_kernel_size_for_small_input = reduced_kernel_size_for_small_input


def stem_layers(depth: Callable[[int], int]) -> list[Layer]:
    """The stem, built under VALID padding (one SAME conv); shapes (H x W x C) at 299 x 299."""
    return [
        conv(depth(32), [3, 3], "Conv2d_1a_3x3", stride=2),  # 149 x 149 x 32
        conv(depth(32), [3, 3], "Conv2d_2a_3x3"),  # 147 x 147 x 32
        conv(depth(64), [3, 3], "Conv2d_2b_3x3", padding="SAME"),  # 147 x 147 x 64
        max_pool([3, 3], "MaxPool_3a_3x3", stride=2),  # 73 x 73 x 64
        conv(depth(80), [1, 1], "Conv2d_3b_1x1"),  # 73 x 73 x 80
        conv(depth(192), [3, 3], "Conv2d_4a_3x3"),  # 71 x 71 x 192
        max_pool([3, 3], "MaxPool_5a_3x3", stride=2),  # 35 x 35 x 192
    ]


def body_layers(depth: Callable[[int], int]) -> list[Layer]:
    """The Inception blocks (``Mixed_5b`` ... ``Mixed_7c``), built under SAME padding, thinned by ``depth``."""
    valid2 = {"stride": 2, "padding": "VALID"}

    def block_35x35(scope: str, pool_depth: int, branch_1_scopes: tuple[str, str]) -> Layer:
        """1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> ``pool_depth`` 1x1."""
        return mixed(
            scope,
            [
                [conv(depth(64), [1, 1], "Conv2d_0a_1x1")],
                [conv(depth(48), [1, 1], branch_1_scopes[0]), conv(depth(64), [5, 5], branch_1_scopes[1])],
                [
                    conv(depth(64), [1, 1], "Conv2d_0a_1x1"),
                    conv(depth(96), [3, 3], "Conv2d_0b_3x3"),
                    conv(depth(96), [3, 3], "Conv2d_0c_3x3"),
                ],
                [avg_pool([3, 3], "AvgPool_0a_3x3"), conv(depth(pool_depth), [1, 1], "Conv2d_0b_1x1")],
            ],
        )

    def block_17x17(scope: str, width: int) -> Layer:
        """1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | avg pool -> 1x1; inner depth ``width``."""
        return mixed(
            scope,
            [
                [conv(depth(192), [1, 1], "Conv2d_0a_1x1")],
                [
                    conv(depth(width), [1, 1], "Conv2d_0a_1x1"),
                    conv(depth(width), [1, 7], "Conv2d_0b_1x7"),
                    conv(depth(192), [7, 1], "Conv2d_0c_7x1"),
                ],
                [
                    conv(depth(width), [1, 1], "Conv2d_0a_1x1"),
                    conv(depth(width), [7, 1], "Conv2d_0b_7x1"),
                    conv(depth(width), [1, 7], "Conv2d_0c_1x7"),
                    conv(depth(width), [7, 1], "Conv2d_0d_7x1"),
                    conv(depth(192), [1, 7], "Conv2d_0e_1x7"),
                ],
                [avg_pool([3, 3], "AvgPool_0a_3x3"), conv(depth(192), [1, 1], "Conv2d_0b_1x1")],
            ],
        )

    def block_8x8(scope: str, branch_1_3x1_scope: str) -> Layer:
        """1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | avg pool -> 1x1."""
        return mixed(
            scope,
            [
                [conv(depth(320), [1, 1], "Conv2d_0a_1x1")],
                [
                    conv(depth(384), [1, 1], "Conv2d_0a_1x1"),
                    split(
                        conv(depth(384), [1, 3], "Conv2d_0b_1x3"),
                        conv(depth(384), [3, 1], branch_1_3x1_scope),
                    ),
                ],
                [
                    conv(depth(448), [1, 1], "Conv2d_0a_1x1"),
                    conv(depth(384), [3, 3], "Conv2d_0b_3x3"),
                    split(
                        conv(depth(384), [1, 3], "Conv2d_0c_1x3"),
                        conv(depth(384), [3, 1], "Conv2d_0d_3x1"),
                    ),
                ],
                [avg_pool([3, 3], "AvgPool_0a_3x3"), conv(depth(192), [1, 1], "Conv2d_0b_1x1")],
            ],
        )

    # TF-Slim's scope names are kept where they do not describe the layer (Mixed_5c's Branch_1, the 3 x 3 convs
    # named Conv2d_1a_1x1 in Mixed_6a): the published checkpoints depend on them.
    return [
        block_35x35("Mixed_5b", 32, ("Conv2d_0a_1x1", "Conv2d_0b_5x5")),  # 35 x 35 x 256
        block_35x35("Mixed_5c", 64, ("Conv2d_0b_1x1", "Conv_1_0c_5x5")),  # 35 x 35 x 288
        block_35x35("Mixed_5d", 64, ("Conv2d_0a_1x1", "Conv2d_0b_5x5")),  # 35 x 35 x 288
        mixed(
            "Mixed_6a",
            [
                [conv(depth(384), [3, 3], "Conv2d_1a_1x1", **valid2)],
                [
                    conv(depth(64), [1, 1], "Conv2d_0a_1x1"),
                    conv(depth(96), [3, 3], "Conv2d_0b_3x3"),
                    conv(depth(96), [3, 3], "Conv2d_1a_1x1", **valid2),
                ],
                [max_pool([3, 3], "MaxPool_1a_3x3", **valid2)],
            ],
        ),  # 17 x 17 x 768
        block_17x17("Mixed_6b", 128),  # 17 x 17 x 768
        block_17x17("Mixed_6c", 160),  # 17 x 17 x 768
        block_17x17("Mixed_6d", 160),  # 17 x 17 x 768
        block_17x17("Mixed_6e", 192),  # 17 x 17 x 768
        mixed(
            "Mixed_7a",
            [
                [conv(depth(192), [1, 1], "Conv2d_0a_1x1"), conv(depth(320), [3, 3], "Conv2d_1a_3x3", **valid2)],
                [
                    conv(depth(192), [1, 1], "Conv2d_0a_1x1"),
                    conv(depth(192), [1, 7], "Conv2d_0b_1x7"),
                    conv(depth(192), [7, 1], "Conv2d_0c_7x1"),
                    conv(depth(192), [3, 3], "Conv2d_1a_3x3", **valid2),
                ],
                [max_pool([3, 3], "MaxPool_1a_3x3", **valid2)],
            ],
        ),  # 8 x 8 x 1280
        block_8x8("Mixed_7b", "Conv2d_0b_3x1"),  # 8 x 8 x 2048
        block_8x8("Mixed_7c", "Conv2d_0c_3x1"),  # 8 x 8 x 2048
    ]


def inception_v3_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Mixed_7c",
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    scope: Any = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v3 body, from the inputs up to ``final_endpoint``.

    Args:
      inputs: images ``[N, 3, H, W]``, at least 75 x 75 for the whole body.
      final_endpoint: the last end point to build: one of ``Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3,
        MaxPool_3a_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3, MaxPool_5a_3x3, Mixed_5b, Mixed_5c, Mixed_5d, Mixed_6a,
        Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e, Mixed_7a, Mixed_7b, Mixed_7c``.
      min_depth: the smallest number of channels of any convolution (it only bites when depth_multiplier < 1).
      depth_multiplier: scales the number of channels of every convolution; must be greater than zero.
      scope: the variable scope (name or VariableScope; default ``InceptionV3``).

    Returns:
      ``(net, end_points)``: the ``final_endpoint`` tensor and every end point built, in order.

    Raises:
      ValueError: ``depth_multiplier`` <= 0 or an unknown ``final_endpoint``.

    Example:
      model = slim.Model(inception_v3_base, final_endpoint='Mixed_6e').build(torch.zeros(1, 3, 299, 299))
      net, end_points = model(images)   # net: [N, 768, 17, 17]
    """
    depth = depth_fn(depth_multiplier, min_depth, "inception_v3_base")
    stem, body = stem_layers(depth), body_layers(depth)
    check_final_endpoint(final_endpoint, [layer_scope(layer) for layer in stem + body], "inception_v3_base")
    end_points: dict[str, torch.Tensor] = {}
    with slim.variable_scope(scope, "InceptionV3", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="VALID"):
            net, reached = build_end_points(inputs, stem, final_endpoint, end_points)
        if not reached:
            with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
                net, _ = build_end_points(net, body, final_endpoint, end_points)
    return net, end_points


def _aux_logits(
    mixed_6e: torch.Tensor, num_classes: int, depth: Callable[[int], int], spatial_squeeze: bool
) -> torch.Tensor:
    """The auxiliary classifier on ``Mixed_6e`` (17 x 17 x 768 at 299 x 299), in scope ``AuxLogits``."""
    height, width = int(mixed_6e.shape[2]), int(mixed_6e.shape[3])
    if height < 5 or width < 5:
        raise ValueError(
            f"inception_v3: Mixed_6e is {height} x {width}, smaller than the 5 x 5 VALID average pool of the "
            "auxiliary head; use inputs of at least 107 x 107 or create_aux_logits=False."
        )
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
        with slim.variable_scope("AuxLogits"):
            net = slim.avg_pool2d(mixed_6e, [5, 5], stride=3, padding="VALID", scope="AvgPool_1a_5x5")  # 5 x 5 x 768
            net = slim.conv2d(net, depth(128), [1, 1], scope="Conv2d_1b_1x1")  # 5 x 5 x 128
            kernel_size = reduced_kernel_size_for_small_input(net, [5, 5])
            net = slim.conv2d(
                net,
                depth(768),
                kernel_size,
                weights_initializer=trunc_normal(0.01),
                padding="VALID",
                scope="Conv2d_2a_{}x{}".format(*kernel_size),
            )  # 1 x 1 x 768
            logits = slim.conv2d(
                net,
                num_classes,
                [1, 1],
                activation_fn=None,
                normalizer_fn=None,
                weights_initializer=trunc_normal(0.001),
                scope="Conv2d_2b_1x1",
            )
            return torch.squeeze(logits, [2, 3]) if spatial_squeeze else logits


def inception_v3(
    inputs: torch.Tensor,
    num_classes: int | None = 1000,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.8,
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    prediction_fn: Callable = slim.softmax,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    create_aux_logits: bool = True,
    scope: str = "InceptionV3",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Inception v3: the body, the auxiliary head, then an average pool, dropout and 1 x 1-conv logits.

    Args:
      inputs: images ``[N, 3, H, W]``; 299 x 299 is the design size, smaller inputs (at least 75 x 75 without the
        aux head, about 107 x 107 with it) shrink the heads' kernels.
      num_classes: the number of classes; 0 or None returns the pooled features ``[N, 2048, 1, 1]`` (no aux head,
        no dropout).
      is_training: whether batch norm and dropout are in training mode; None follows the owning model's
        ``train()``/``eval()`` mode.
      dropout_keep_prob: the probability that a pooled feature is kept by ``Dropout_1b``.
      min_depth: the smallest number of channels of any convolution (when depth_multiplier < 1).
      depth_multiplier: scales the number of channels of every convolution; must be greater than zero.
      prediction_fn: turns the logits into ``end_points['Predictions']``.
      spatial_squeeze: whether to squeeze the (aux) logits' 1 x 1 spatial dims.
      reuse: whether to reuse the network's variables (True, slim.AUTO_REUSE, or None to inherit).
      create_aux_logits: whether to build the auxiliary classifier (end point ``AuxLogits``).
      scope: the variable scope of the network.
      global_pool: whether to average the final feature map over all its positions instead of the 8 x 8 pool.

    Returns:
      ``(logits, end_points)``: logits ``[N, num_classes]`` (or the pooled features without classes), and the end
      points of :func:`inception_v3_base` plus ``AuxLogits``, ``AvgPool_1a`` or ``global_pool``, ``PreLogits``
      (the dropout output), ``Logits`` and ``Predictions``.

    Raises:
      ValueError: ``depth_multiplier`` <= 0.

    Example:
      model = slim.Model(inception_v3, num_classes=5, arg_scope=inception_v3_arg_scope())
      logits, end_points = model.build(torch.zeros(1, 3, 299, 299))(images)   # logits, AuxLogits: [N, 5]
    """
    depth = depth_fn(depth_multiplier, min_depth, "inception_v3")
    with slim.variable_scope(scope, "InceptionV3", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v3_base(
                inputs, scope=sc, min_depth=min_depth, depth_multiplier=depth_multiplier
            )
            if create_aux_logits and num_classes:
                end_points["AuxLogits"] = _aux_logits(end_points["Mixed_6e"], num_classes, depth, spatial_squeeze)
            with slim.variable_scope("Logits"):
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)
                    end_points["global_pool"] = net
                else:
                    kernel_size = reduced_kernel_size_for_small_input(net, [8, 8])
                    net = slim.avg_pool2d(
                        net, kernel_size, padding="VALID", scope="AvgPool_1a_{}x{}".format(*kernel_size)
                    )
                    end_points["AvgPool_1a"] = net  # 1 x 1 x 2048
                if not num_classes:
                    return net, end_points
                net = slim.dropout(net, keep_prob=dropout_keep_prob, scope="Dropout_1b")
                end_points["PreLogits"] = net  # 1 x 1 x 2048
                logits = slim.conv2d(
                    net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="Conv2d_1c_1x1"
                )
                if spatial_squeeze:
                    logits = torch.squeeze(logits, [2, 3])
            end_points["Logits"] = logits
            end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


inception_v3.default_image_size = 299

register_network(
    "inception_v3", inception_v3, arg_scope_fn=inception_v3_arg_scope, default_image_size=299, preprocessing="inception"
)
