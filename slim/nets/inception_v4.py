"""Inception v4 (Szegedy et al., 2016) with TF-Slim's names, end points and auxiliary head (1001 classes).

The body is the stem, 4 Inception-A, Reduction-A, 7 Inception-B, Reduction-B and 3 Inception-C blocks, each built
from a branch table (see :mod:`slim.nets.inception_utils`).
"""

from __future__ import annotations

from typing import Any

import torch

import slim
from slim.nets import inception_utils
from slim.nets.inception_utils import mixed_block
from slim.nets.nets_factory import register_network

inception_v4_arg_scope = inception_utils.inception_arg_scope

VALID2 = {"stride": 2, "padding": "VALID"}
VALID = {"padding": "VALID"}

INCEPTION_A = [
    [("conv", 96, [1, 1], "Conv2d_0a_1x1")],
    [("conv", 64, [1, 1], "Conv2d_0a_1x1"), ("conv", 96, [3, 3], "Conv2d_0b_3x3")],
    [
        ("conv", 64, [1, 1], "Conv2d_0a_1x1"),
        ("conv", 96, [3, 3], "Conv2d_0b_3x3"),
        ("conv", 96, [3, 3], "Conv2d_0c_3x3"),
    ],
    [("avg", [3, 3], "AvgPool_0a_3x3"), ("conv", 96, [1, 1], "Conv2d_0b_1x1")],
]
REDUCTION_A = [
    [("conv", 384, [3, 3], "Conv2d_1a_3x3", VALID2)],
    [
        ("conv", 192, [1, 1], "Conv2d_0a_1x1"),
        ("conv", 224, [3, 3], "Conv2d_0b_3x3"),
        ("conv", 256, [3, 3], "Conv2d_1a_3x3", VALID2),
    ],
    [("max", [3, 3], "MaxPool_1a_3x3", VALID2)],
]
INCEPTION_B = [
    [("conv", 384, [1, 1], "Conv2d_0a_1x1")],
    [
        ("conv", 192, [1, 1], "Conv2d_0a_1x1"),
        ("conv", 224, [1, 7], "Conv2d_0b_1x7"),
        ("conv", 256, [7, 1], "Conv2d_0c_7x1"),
    ],
    [
        ("conv", 192, [1, 1], "Conv2d_0a_1x1"),
        ("conv", 192, [7, 1], "Conv2d_0b_7x1"),
        ("conv", 224, [1, 7], "Conv2d_0c_1x7"),
        ("conv", 224, [7, 1], "Conv2d_0d_7x1"),
        ("conv", 256, [1, 7], "Conv2d_0e_1x7"),
    ],
    [("avg", [3, 3], "AvgPool_0a_3x3"), ("conv", 128, [1, 1], "Conv2d_0b_1x1")],
]
REDUCTION_B = [
    [("conv", 192, [1, 1], "Conv2d_0a_1x1"), ("conv", 192, [3, 3], "Conv2d_1a_3x3", VALID2)],
    [
        ("conv", 256, [1, 1], "Conv2d_0a_1x1"),
        ("conv", 256, [1, 7], "Conv2d_0b_1x7"),
        ("conv", 320, [7, 1], "Conv2d_0c_7x1"),
        ("conv", 320, [3, 3], "Conv2d_1a_3x3", VALID2),
    ],
    [("max", [3, 3], "MaxPool_1a_3x3", VALID2)],
]
INCEPTION_C = [
    [("conv", 256, [1, 1], "Conv2d_0a_1x1")],
    [
        ("conv", 384, [1, 1], "Conv2d_0a_1x1"),
        ("split", [("conv", 256, [1, 3], "Conv2d_0b_1x3"), ("conv", 256, [3, 1], "Conv2d_0c_3x1")]),
    ],
    [
        ("conv", 384, [1, 1], "Conv2d_0a_1x1"),
        ("conv", 448, [3, 1], "Conv2d_0b_3x1"),
        ("conv", 512, [1, 3], "Conv2d_0c_1x3"),
        ("split", [("conv", 256, [1, 3], "Conv2d_0d_1x3"), ("conv", 256, [3, 1], "Conv2d_0e_3x1")]),
    ],
    [("avg", [3, 3], "AvgPool_0a_3x3"), ("conv", 256, [1, 1], "Conv2d_0b_1x1")],
]

# The whole body: (end point, "conv" spec or branch table).
BODY = (
    [
        ("Conv2d_1a_3x3", (32, [3, 3], VALID2)),  # 149 x 149 x 32
        ("Conv2d_2a_3x3", (32, [3, 3], VALID)),  # 147 x 147 x 32
        ("Conv2d_2b_3x3", (64, [3, 3], {})),  # 147 x 147 x 64
        (
            "Mixed_3a",
            [[("max", [3, 3], "MaxPool_0a_3x3", VALID2)], [("conv", 96, [3, 3], "Conv2d_0a_3x3", VALID2)]],
        ),  # 73 x 73 x 160
        (
            "Mixed_4a",
            [
                [("conv", 64, [1, 1], "Conv2d_0a_1x1"), ("conv", 96, [3, 3], "Conv2d_1a_3x3", VALID)],
                [
                    ("conv", 64, [1, 1], "Conv2d_0a_1x1"),
                    ("conv", 64, [1, 7], "Conv2d_0b_1x7"),
                    ("conv", 64, [7, 1], "Conv2d_0c_7x1"),
                    ("conv", 96, [3, 3], "Conv2d_1a_3x3", VALID),
                ],
            ],
        ),
        (
            "Mixed_5a",
            [[("conv", 192, [3, 3], "Conv2d_1a_3x3", VALID2)], [("max", [3, 3], "MaxPool_1a_3x3", VALID2)]],
        ),  # 35 x 35 x 384
    ]
    + [(f"Mixed_5{chr(ord('b') + i)}", INCEPTION_A) for i in range(4)]
    + [("Mixed_6a", REDUCTION_A)]  # 17 x 17 x 1024
    + [(f"Mixed_6{chr(ord('b') + i)}", INCEPTION_B) for i in range(7)]
    + [("Mixed_7a", REDUCTION_B)]  # 8 x 8 x 1536
    + [(f"Mixed_7{chr(ord('b') + i)}", INCEPTION_C) for i in range(3)]
)


def inception_v4_base(
    inputs: torch.Tensor, final_endpoint: str = "Mixed_7d", scope: Any = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception v4 body up to ``final_endpoint``.

    Raises:
      ValueError: an unknown final_endpoint.
    """
    end_points: dict[str, torch.Tensor] = {}
    if final_endpoint not in [name for name, _ in BODY]:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")
    with slim.variable_scope(scope, "InceptionV4", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
            net = inputs
            for name, spec in BODY:
                if isinstance(spec, tuple):
                    depth, kernel, kwargs = spec
                    net = slim.conv2d(net, depth, kernel, scope=name, **kwargs)
                else:
                    net = mixed_block(net, name, spec)
                end_points[name] = net
                if name == final_endpoint:
                    return net, end_points
    raise AssertionError("unreachable")


def inception_v4(
    inputs: torch.Tensor,
    num_classes: int | None = 1001,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.8,
    reuse: Any = None,
    scope: str = "InceptionV4",
    create_aux_logits: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Inception v4 with the auxiliary head (from Mixed_6h) and the main head (average pool, dropout, dense)."""
    with slim.variable_scope(scope, "InceptionV4", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v4_base(inputs, scope=sc)
            with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
                if create_aux_logits and num_classes:
                    with slim.variable_scope("AuxLogits"):
                        aux_logits = end_points["Mixed_6h"]  # 17 x 17 x 1024
                        aux_logits = slim.avg_pool2d(
                            aux_logits, [5, 5], stride=3, padding="VALID", scope="AvgPool_1a_5x5"
                        )
                        aux_logits = slim.conv2d(aux_logits, 128, [1, 1], scope="Conv2d_1b_1x1")
                        aux_logits = slim.conv2d(
                            aux_logits, 768, list(aux_logits.shape[2:4]), padding="VALID", scope="Conv2d_2a"
                        )
                        aux_logits = slim.flatten(aux_logits)
                        aux_logits = slim.fully_connected(
                            aux_logits, num_classes, activation_fn=None, scope="Aux_logits"
                        )
                        end_points["AuxLogits"] = aux_logits
                with slim.variable_scope("Logits"):
                    net = slim.avg_pool2d(net, list(net.shape[2:4]), padding="VALID", scope="AvgPool_1a")
                    end_points["global_pool"] = net  # 1 x 1 x 1536
                    if not num_classes:
                        return net, end_points
                    net = slim.dropout(net, dropout_keep_prob, scope="Dropout_1b")
                    net = slim.flatten(net, scope="PreLogitsFlatten")
                    end_points["PreLogitsFlatten"] = net
                    logits = slim.fully_connected(net, num_classes, activation_fn=None, scope="Logits")
                    end_points["Logits"] = logits
                    end_points["Predictions"] = torch.softmax(logits, dim=-1)
    return logits, end_points


inception_v4.default_image_size = 299

register_network(
    "inception_v4", inception_v4, arg_scope_fn=inception_v4_arg_scope, default_image_size=299, preprocessing="inception"
)
