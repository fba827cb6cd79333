"""Inception v1 / GoogLeNet (Szegedy et al., 2014) with TF-Slim's names and end points.

model = slim.nets.get_network_fn('inception_v1', num_classes=1001)
logits, end_points = model(images)     # images [N, 3, 224, 224]; end_points['Mixed_5c']: [N, 1024, 7, 7]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets import inception_utils
from slim.nets.inception_utils import mixed_block
from slim.nets.nets_factory import register_network

inception_v1_arg_scope = inception_utils.inception_arg_scope


def trunc_normal(stddev: float):
    return slim.truncated_normal_initializer(0.0, stddev)


def _mixed(b0: int, b1: tuple[int, int], b2: tuple[int, int], b3: int, b2_second: str = "Conv2d_0b_3x3") -> list:
    return [
        [("conv", b0, [1, 1], "Conv2d_0a_1x1")],
        [("conv", b1[0], [1, 1], "Conv2d_0a_1x1"), ("conv", b1[1], [3, 3], "Conv2d_0b_3x3")],
        [("conv", b2[0], [1, 1], "Conv2d_0a_1x1"), ("conv", b2[1], [3, 3], b2_second)],
        [("max", [3, 3], "MaxPool_0a_3x3"), ("conv", b3, [1, 1], "Conv2d_0b_1x1")],
    ]


# The body after the root, in order: (end point, kind, spec).
BODY = [
    ("Mixed_3b", "mixed", _mixed(64, (96, 128), (16, 32), 32)),
    ("Mixed_3c", "mixed", _mixed(128, (128, 192), (32, 96), 64)),
    ("MaxPool_4a_3x3", "max", ([3, 3], 2)),
    ("Mixed_4b", "mixed", _mixed(192, (96, 208), (16, 48), 64)),
    ("Mixed_4c", "mixed", _mixed(160, (112, 224), (24, 64), 64)),
    ("Mixed_4d", "mixed", _mixed(128, (128, 256), (24, 64), 64)),
    ("Mixed_4e", "mixed", _mixed(112, (144, 288), (32, 64), 64)),
    ("Mixed_4f", "mixed", _mixed(256, (160, 320), (32, 128), 128)),
    ("MaxPool_5a_2x2", "max", ([2, 2], 2)),
    # TF-Slim names this block's second Branch_2 conv Conv2d_0a_3x3 (checkpoints depend on it).
    ("Mixed_5b", "mixed", _mixed(256, (160, 320), (32, 128), 128, b2_second="Conv2d_0a_3x3")),
    ("Mixed_5c", "mixed", _mixed(384, (192, 384), (48, 128), 128)),
]
ROOT = [
    ("Conv2d_1a_7x7", "conv", (64, [7, 7], 2)),
    ("MaxPool_2a_3x3", "max", ([3, 3], 2)),
    ("Conv2d_2b_1x1", "conv", (64, [1, 1], 1)),
    ("Conv2d_2c_3x3", "conv", (192, [3, 3], 1)),
    ("MaxPool_3a_3x3", "max", ([3, 3], 2)),
]


def inception_v1_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Mixed_5c",
    include_root_block: bool = True,
    scope: Any = "InceptionV1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v1 body up to ``final_endpoint``; without the root block it starts at Mixed_3b.

    Raises:
      ValueError: an unknown ``final_endpoint``.
    """
    end_points: dict[str, torch.Tensor] = {}
    layers = (ROOT if include_root_block else []) + BODY
    if final_endpoint not in [name for name, _, _ in layers]:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")
    with slim.variable_scope(scope, "InceptionV1", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_initializer=trunc_normal(0.01)):
            with slim.arg_scope([slim.conv2d, slim.max_pool2d], stride=1, padding="SAME"):
                net = inputs
                for end_point, kind, spec in layers:
                    if kind == "conv":
                        depth, kernel, stride = spec
                        net = slim.conv2d(net, depth, kernel, stride=stride, scope=end_point)
                    elif kind == "max":
                        kernel, stride = spec
                        net = slim.max_pool2d(net, kernel, stride=stride, scope=end_point)
                    else:
                        net = mixed_block(net, end_point, spec)
                    end_points[end_point] = net
                    if end_point == final_endpoint:
                        return net, end_points
    raise AssertionError("unreachable")


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
    """Inception v1 with its head: 7x7 average pool (or global mean), dropout, 1x1-conv logits.

    ``num_classes`` 0/None returns the pooled features ``[N, 1024, 1, 1]``.
    """
    with slim.variable_scope(scope, "InceptionV1", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v1_base(inputs, scope=sc)
            with slim.variable_scope("Logits"):
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)
                    end_points["global_pool"] = net
                else:
                    net = slim.avg_pool2d(net, [7, 7], stride=1, scope="AvgPool_0a_7x7")
                    end_points["AvgPool_0a_7x7"] = net
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
