"""Inception v3 (Szegedy et al., 2015) with TF-Slim's names, end points and auxiliary head.

model = slim.nets.get_network_fn('inception_v3', num_classes=1001)
logits, end_points = model(images)   # images [N, 3, 299, 299]; end_points['AuxLogits']: [N, 1001]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets import inception_utils
from slim.nets.inception_utils import mixed_block, reduced_kernel_size_for_small_input
from slim.nets.nets_factory import register_network

inception_v3_arg_scope = inception_utils.inception_arg_scope


def trunc_normal(stddev: float):
    return slim.truncated_normal_initializer(0.0, stddev)


def _blocks(depth: Callable[[int], int]) -> list:
    """(end point, branches) of the Inception blocks; ``depth`` applies the multiplier."""
    valid2 = {"stride": 2, "padding": "VALID"}

    def mixed_5(b3: int, second_branch: list) -> list:
        return [
            [("conv", depth(64), [1, 1], "Conv2d_0a_1x1")],
            second_branch,
            [
                ("conv", depth(64), [1, 1], "Conv2d_0a_1x1"),
                ("conv", depth(96), [3, 3], "Conv2d_0b_3x3"),
                ("conv", depth(96), [3, 3], "Conv2d_0c_3x3"),
            ],
            [("avg", [3, 3], "AvgPool_0a_3x3"), ("conv", depth(b3), [1, 1], "Conv2d_0b_1x1")],
        ]

    def mixed_6(width: int) -> list:
        return [
            [("conv", depth(192), [1, 1], "Conv2d_0a_1x1")],
            [
                ("conv", depth(width), [1, 1], "Conv2d_0a_1x1"),
                ("conv", depth(width), [1, 7], "Conv2d_0b_1x7"),
                ("conv", depth(192), [7, 1], "Conv2d_0c_7x1"),
            ],
            [
                ("conv", depth(width), [1, 1], "Conv2d_0a_1x1"),
                ("conv", depth(width), [7, 1], "Conv2d_0b_7x1"),
                ("conv", depth(width), [1, 7], "Conv2d_0c_1x7"),
                ("conv", depth(width), [7, 1], "Conv2d_0d_7x1"),
                ("conv", depth(192), [1, 7], "Conv2d_0e_1x7"),
            ],
            [("avg", [3, 3], "AvgPool_0a_3x3"), ("conv", depth(192), [1, 1], "Conv2d_0b_1x1")],
        ]

    def mixed_7(branch_1_second: str) -> list:
        return [
            [("conv", depth(320), [1, 1], "Conv2d_0a_1x1")],
            [
                ("conv", depth(384), [1, 1], "Conv2d_0a_1x1"),
                (
                    "split",
                    [("conv", depth(384), [1, 3], "Conv2d_0b_1x3"), ("conv", depth(384), [3, 1], branch_1_second)],
                ),
            ],
            [
                ("conv", depth(448), [1, 1], "Conv2d_0a_1x1"),
                ("conv", depth(384), [3, 3], "Conv2d_0b_3x3"),
                (
                    "split",
                    [("conv", depth(384), [1, 3], "Conv2d_0c_1x3"), ("conv", depth(384), [3, 1], "Conv2d_0d_3x1")],
                ),
            ],
            [("avg", [3, 3], "AvgPool_0a_3x3"), ("conv", depth(192), [1, 1], "Conv2d_0b_1x1")],
        ]

    return [
        # 35 x 35 x 256
        (
            "Mixed_5b",
            mixed_5(32, [("conv", depth(48), [1, 1], "Conv2d_0a_1x1"), ("conv", depth(64), [5, 5], "Conv2d_0b_5x5")]),
        ),
        # 35 x 35 x 288 (TF-Slim's scope names in Branch_1 here are Conv2d_0b_1x1 and Conv_1_0c_5x5)
        (
            "Mixed_5c",
            mixed_5(64, [("conv", depth(48), [1, 1], "Conv2d_0b_1x1"), ("conv", depth(64), [5, 5], "Conv_1_0c_5x5")]),
        ),
        (
            "Mixed_5d",
            mixed_5(64, [("conv", depth(48), [1, 1], "Conv2d_0a_1x1"), ("conv", depth(64), [5, 5], "Conv2d_0b_5x5")]),
        ),
        # 17 x 17 x 768
        (
            "Mixed_6a",
            [
                [("conv", depth(384), [3, 3], "Conv2d_1a_1x1", valid2)],
                [
                    ("conv", depth(64), [1, 1], "Conv2d_0a_1x1"),
                    ("conv", depth(96), [3, 3], "Conv2d_0b_3x3"),
                    ("conv", depth(96), [3, 3], "Conv2d_1a_1x1", valid2),
                ],
                [("max", [3, 3], "MaxPool_1a_3x3", valid2)],
            ],
        ),
        ("Mixed_6b", mixed_6(128)),
        ("Mixed_6c", mixed_6(160)),
        ("Mixed_6d", mixed_6(160)),
        ("Mixed_6e", mixed_6(192)),
        # 8 x 8 x 1280
        (
            "Mixed_7a",
            [
                [("conv", depth(192), [1, 1], "Conv2d_0a_1x1"), ("conv", depth(320), [3, 3], "Conv2d_1a_3x3", valid2)],
                [
                    ("conv", depth(192), [1, 1], "Conv2d_0a_1x1"),
                    ("conv", depth(192), [1, 7], "Conv2d_0b_1x7"),
                    ("conv", depth(192), [7, 1], "Conv2d_0c_7x1"),
                    ("conv", depth(192), [3, 3], "Conv2d_1a_3x3", valid2),
                ],
                [("max", [3, 3], "MaxPool_1a_3x3", valid2)],
            ],
        ),
        # 8 x 8 x 2048
        ("Mixed_7b", mixed_7("Conv2d_0b_3x1")),
        ("Mixed_7c", mixed_7("Conv2d_0c_3x1")),
    ]


# The stem: (end point, kind, depth, kernel, stride, padding); VALID unless said otherwise.
STEM = [
    ("Conv2d_1a_3x3", "conv", 32, [3, 3], 2, "VALID"),  # 149 x 149 x 32
    ("Conv2d_2a_3x3", "conv", 32, [3, 3], 1, "VALID"),  # 147 x 147 x 32
    ("Conv2d_2b_3x3", "conv", 64, [3, 3], 1, "SAME"),  # 147 x 147 x 64
    ("MaxPool_3a_3x3", "max", None, [3, 3], 2, "VALID"),  # 73 x 73 x 64
    ("Conv2d_3b_1x1", "conv", 80, [1, 1], 1, "VALID"),  # 73 x 73 x 80
    ("Conv2d_4a_3x3", "conv", 192, [3, 3], 1, "VALID"),  # 71 x 71 x 192
    ("MaxPool_5a_3x3", "max", None, [3, 3], 2, "VALID"),  # 35 x 35 x 192
]


def inception_v3_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Mixed_7c",
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    scope: Any = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v3 body up to ``final_endpoint``.

    Raises:
      ValueError: depth_multiplier <= 0 or an unknown final_endpoint.
    """
    end_points: dict[str, torch.Tensor] = {}
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")

    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), min_depth)

    blocks = _blocks(depth)
    if final_endpoint not in [s[0] for s in STEM] + [name for name, _ in blocks]:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")
    with slim.variable_scope(scope, "InceptionV3", [inputs]):
        net = inputs
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="VALID"):
            for name, kind, d, kernel, stride, padding in STEM:
                if kind == "conv":
                    net = slim.conv2d(net, depth(d), kernel, stride=stride, padding=padding, scope=name)
                else:
                    net = slim.max_pool2d(net, kernel, stride=stride, padding=padding, scope=name)
                end_points[name] = net
                if name == final_endpoint:
                    return net, end_points
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
            for name, branches in blocks:
                net = mixed_block(net, name, branches)
                end_points[name] = net
                if name == final_endpoint:
                    return net, end_points
    raise AssertionError("unreachable")


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
    """Inception v3 with the auxiliary head (from Mixed_6e) and the main head (average pool, dropout, logits)."""
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")

    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), min_depth)

    with slim.variable_scope(scope, "InceptionV3", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v3_base(
                inputs, scope=sc, min_depth=min_depth, depth_multiplier=depth_multiplier
            )
            if create_aux_logits and num_classes:
                with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
                    aux_logits = end_points["Mixed_6e"]
                    with slim.variable_scope("AuxLogits"):
                        aux_logits = slim.avg_pool2d(
                            aux_logits, [5, 5], stride=3, padding="VALID", scope="AvgPool_1a_5x5"
                        )
                        aux_logits = slim.conv2d(aux_logits, depth(128), [1, 1], scope="Conv2d_1b_1x1")
                        kernel_size = reduced_kernel_size_for_small_input(aux_logits, [5, 5])
                        aux_logits = slim.conv2d(
                            aux_logits,
                            depth(768),
                            kernel_size,
                            weights_initializer=trunc_normal(0.01),
                            padding="VALID",
                            scope="Conv2d_2a_{}x{}".format(*kernel_size),
                        )
                        aux_logits = slim.conv2d(
                            aux_logits,
                            num_classes,
                            [1, 1],
                            activation_fn=None,
                            normalizer_fn=None,
                            weights_initializer=trunc_normal(0.001),
                            scope="Conv2d_2b_1x1",
                        )
                        if spatial_squeeze:
                            aux_logits = torch.squeeze(aux_logits, [2, 3])
                        end_points["AuxLogits"] = aux_logits
            with slim.variable_scope("Logits"):
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)
                    end_points["global_pool"] = net
                else:
                    kernel_size = reduced_kernel_size_for_small_input(net, [8, 8])
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


inception_v3.default_image_size = 299

register_network(
    "inception_v3", inception_v3, arg_scope_fn=inception_v3_arg_scope, default_image_size=299, preprocessing="inception"
)
