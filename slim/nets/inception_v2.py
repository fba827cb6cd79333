"""Inception v2 / BN-Inception (Ioffe & Szegedy, 2015) with TF-Slim's names and end points.

The first layer is a separable 7x7 conv by default (``use_separable_conv``). Tensors are NCHW unless
``data_format='NHWC'`` is given (TF-Slim's argument, honoured: the layers then work channels-last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets import inception_utils
from slim.nets.inception_utils import mixed_block, reduced_kernel_size_for_small_input
from slim.nets.nets_factory import register_network

inception_v2_arg_scope = inception_utils.inception_arg_scope


def trunc_normal(stddev: float):
    return slim.truncated_normal_initializer(0.0, stddev)


def _blocks(depth: Callable[[int], int]) -> list:
    """(end point, branches) of the body after the root; ``depth`` applies the multiplier."""
    t09, t01 = {"weights_initializer": trunc_normal(0.09)}, {"weights_initializer": trunc_normal(0.1)}

    def mixed(b0, b1, b2, b3, pool="avg"):
        branches = []
        if b0:
            branches.append([("conv", depth(b0), [1, 1], "Conv2d_0a_1x1")])
        branches.append(
            [("conv", depth(b1[0]), [1, 1], "Conv2d_0a_1x1", t09), ("conv", depth(b1[1]), [3, 3], "Conv2d_0b_3x3")]
        )
        branches.append(
            [
                ("conv", depth(b2[0]), [1, 1], "Conv2d_0a_1x1", t09),
                ("conv", depth(b2[1]), [3, 3], "Conv2d_0b_3x3"),
                ("conv", depth(b2[2]), [3, 3], "Conv2d_0c_3x3"),
            ]
        )
        pool_scope = "AvgPool_0a_3x3" if pool == "avg" else "MaxPool_0a_3x3"
        branches.append([(pool, [3, 3], pool_scope), ("conv", depth(b3), [1, 1], "Conv2d_0b_1x1", t01)])
        return branches

    def reduction(b0, b1):
        stride2 = {"stride": 2}
        return [
            [
                ("conv", depth(b0[0]), [1, 1], "Conv2d_0a_1x1", t09),
                ("conv", depth(b0[1]), [3, 3], "Conv2d_1a_3x3", stride2),
            ],
            [
                ("conv", depth(b1[0]), [1, 1], "Conv2d_0a_1x1", t09),
                ("conv", depth(b1[1]), [3, 3], "Conv2d_0b_3x3"),
                ("conv", depth(b1[2]), [3, 3], "Conv2d_1a_3x3", stride2),
            ],
            [("max", [3, 3], "MaxPool_1a_3x3", stride2)],
        ]

    return [
        ("Mixed_3b", mixed(64, (64, 64), (64, 96, 96), 32)),  # 28 x 28 x 256
        ("Mixed_3c", mixed(64, (64, 96), (64, 96, 96), 64)),  # 28 x 28 x 320
        ("Mixed_4a", reduction((128, 160), (64, 96, 96))),  # 14 x 14 x 576
        ("Mixed_4b", mixed(224, (64, 96), (96, 128, 128), 128)),
        ("Mixed_4c", mixed(192, (96, 128), (96, 128, 128), 128)),
        ("Mixed_4d", mixed(160, (128, 160), (128, 160, 160), 96)),
        ("Mixed_4e", mixed(96, (128, 192), (160, 192, 192), 96)),
        ("Mixed_5a", reduction((128, 192), (192, 256, 256))),  # 7 x 7 x 1024
        ("Mixed_5b", mixed(352, (192, 320), (160, 224, 224), 128)),
        ("Mixed_5c", mixed(352, (192, 320), (192, 224, 224), 128, pool="max")),
    ]


def _check_format(data_format: str) -> int:
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"data_format must be either NHWC or NCHW, got {data_format!r}.")
    return 1 if data_format == "NCHW" else 3


def inception_v2_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Mixed_5c",
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    use_separable_conv: bool = True,
    data_format: str = "NCHW",
    include_root_block: bool = True,
    scope: Any = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v2 body up to ``final_endpoint``.

    Raises:
      ValueError: depth_multiplier <= 0, an unknown data_format or final_endpoint.
    """
    end_points: dict[str, torch.Tensor] = {}
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    _check_format(data_format)

    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), min_depth)

    channels_last = data_format == "NHWC"
    if channels_last:
        inputs = inputs.movedim(-1, 1)  # the body runs channels-first; end points are returned channels-last
    blocks = _blocks(depth)
    names = (
        ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3", "MaxPool_3a_3x3"]
        if include_root_block
        else []
    ) + [name for name, _ in blocks]
    if final_endpoint not in names:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")

    def done(name: str, net: torch.Tensor) -> bool:
        end_points[name] = net.movedim(1, -1) if channels_last else net
        return name == final_endpoint

    with slim.variable_scope(scope, "InceptionV2", [inputs]):
        with slim.arg_scope(
            [slim.conv2d, slim.max_pool2d, slim.avg_pool2d, slim.separable_conv2d], stride=1, padding="SAME"
        ):
            net = inputs
            if include_root_block:
                if use_separable_conv:
                    # The depthwise multiplier keeps in_channels * multiplier <= out_channels.
                    depthwise_multiplier = min(int(depth(64) / 3), 8)
                    net = slim.separable_conv2d(
                        inputs,
                        depth(64),
                        [7, 7],
                        depth_multiplier=depthwise_multiplier,
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
                if done("Conv2d_1a_7x7", net):  # 112 x 112 x 64
                    return end_points["Conv2d_1a_7x7"], end_points
                net = slim.max_pool2d(net, [3, 3], scope="MaxPool_2a_3x3", stride=2)
                if done("MaxPool_2a_3x3", net):
                    return end_points["MaxPool_2a_3x3"], end_points
                net = slim.conv2d(net, depth(64), [1, 1], scope="Conv2d_2b_1x1", weights_initializer=trunc_normal(0.1))
                if done("Conv2d_2b_1x1", net):
                    return end_points["Conv2d_2b_1x1"], end_points
                net = slim.conv2d(net, depth(192), [3, 3], scope="Conv2d_2c_3x3")
                if done("Conv2d_2c_3x3", net):
                    return end_points["Conv2d_2c_3x3"], end_points
                net = slim.max_pool2d(net, [3, 3], scope="MaxPool_3a_3x3", stride=2)  # 28 x 28 x 192
                if done("MaxPool_3a_3x3", net):
                    return end_points["MaxPool_3a_3x3"], end_points
            for name, branches in blocks:
                net = mixed_block(net, name, branches)
                if done(name, net):
                    return end_points[name], end_points
    raise AssertionError("unreachable")


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
    """Inception v2 with its head (average pool, dropout, 1x1-conv logits)."""
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
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
                    end_points["AvgPool_1a"] = net
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
