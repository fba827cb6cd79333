"""Inception-ResNet-v2 (Szegedy et al., 2016) with TF-Slim's names, end points and auxiliary head (1001 classes).

Residual Inception blocks (``block35`` x10, ``block17`` x20, ``block8`` x10) are scaled by 0.17 / 0.10 / 0.20 before
the sum. ``output_stride=8`` (atrous) is supported up to the ``PreAuxLogits`` end point, as in TF-Slim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.nets.inception_utils import mixed_block, run_branch
from slim.nets.nets_factory import register_network


def _residual(net: torch.Tensor, branches: list, scale: float, activation_fn: Callable | None) -> torch.Tensor:
    mixed = torch.cat([_in_branch(i, net, layers) for i, layers in enumerate(branches)], dim=1)
    up = slim.conv2d(mixed, int(net.shape[1]), 1, normalizer_fn=None, activation_fn=None, scope="Conv2d_1x1")
    scaled_up = up * scale
    if activation_fn is F.relu6:
        scaled_up = torch.clamp(scaled_up, -6.0, 6.0)  # a band-pass activation
    net = net + scaled_up
    return activation_fn(net) if activation_fn else net


def _in_branch(index: int, net: torch.Tensor, layers: list) -> torch.Tensor:
    with slim.variable_scope(f"Branch_{index}"):
        return run_branch(net, layers)


def block35(
    net: torch.Tensor,
    scale: float = 1.0,
    activation_fn: Callable | None = torch.relu,
    scope: Any = None,
    reuse: Any = None,
) -> torch.Tensor:
    """The 35 x 35 residual block."""
    with slim.variable_scope(scope, "Block35", [net], reuse=reuse):
        return _residual(
            net,
            [
                [("conv", 32, 1, "Conv2d_1x1")],
                [("conv", 32, 1, "Conv2d_0a_1x1"), ("conv", 32, 3, "Conv2d_0b_3x3")],
                [("conv", 32, 1, "Conv2d_0a_1x1"), ("conv", 48, 3, "Conv2d_0b_3x3"), ("conv", 64, 3, "Conv2d_0c_3x3")],
            ],
            scale,
            activation_fn,
        )


def block17(
    net: torch.Tensor,
    scale: float = 1.0,
    activation_fn: Callable | None = torch.relu,
    scope: Any = None,
    reuse: Any = None,
) -> torch.Tensor:
    """The 17 x 17 residual block."""
    with slim.variable_scope(scope, "Block17", [net], reuse=reuse):
        return _residual(
            net,
            [
                [("conv", 192, 1, "Conv2d_1x1")],
                [
                    ("conv", 128, 1, "Conv2d_0a_1x1"),
                    ("conv", 160, [1, 7], "Conv2d_0b_1x7"),
                    ("conv", 192, [7, 1], "Conv2d_0c_7x1"),
                ],
            ],
            scale,
            activation_fn,
        )


def block8(
    net: torch.Tensor,
    scale: float = 1.0,
    activation_fn: Callable | None = torch.relu,
    scope: Any = None,
    reuse: Any = None,
) -> torch.Tensor:
    """The 8 x 8 residual block."""
    with slim.variable_scope(scope, "Block8", [net], reuse=reuse):
        return _residual(
            net,
            [
                [("conv", 192, 1, "Conv2d_1x1")],
                [
                    ("conv", 192, 1, "Conv2d_0a_1x1"),
                    ("conv", 224, [1, 3], "Conv2d_0b_1x3"),
                    ("conv", 256, [3, 1], "Conv2d_0c_3x1"),
                ],
            ],
            scale,
            activation_fn,
        )


def inception_resnet_v2_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Conv2d_7b_1x1",
    output_stride: int = 16,
    align_feature_maps: bool = False,
    scope: Any = None,
    activation_fn: Callable | None = torch.relu,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The Inception-ResNet-v2 body up to ``final_endpoint``; ``align_feature_maps`` pads SAME instead of VALID.

    Raises:
      ValueError: output_stride other than 8 or 16, 8 beyond PreAuxLogits, or an unknown final_endpoint.
    """
    if output_stride not in (8, 16):
        raise ValueError("output_stride must be 8 or 16.")
    padding = "SAME" if align_feature_maps else "VALID"
    end_points: dict[str, torch.Tensor] = {}

    def add_and_check_final(name: str, tensor: torch.Tensor) -> bool:
        end_points[name] = tensor
        return name == final_endpoint

    use_atrous = output_stride == 8
    reduce_stride = 1 if use_atrous else 2
    with slim.variable_scope(scope, "InceptionResnetV2", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
            stem = [
                ("Conv2d_1a_3x3", lambda x: slim.conv2d(x, 32, 3, stride=2, padding=padding, scope="Conv2d_1a_3x3")),
                ("Conv2d_2a_3x3", lambda x: slim.conv2d(x, 32, 3, padding=padding, scope="Conv2d_2a_3x3")),
                ("Conv2d_2b_3x3", lambda x: slim.conv2d(x, 64, 3, scope="Conv2d_2b_3x3")),
                ("MaxPool_3a_3x3", lambda x: slim.max_pool2d(x, 3, stride=2, padding=padding, scope="MaxPool_3a_3x3")),
                ("Conv2d_3b_1x1", lambda x: slim.conv2d(x, 80, 1, padding=padding, scope="Conv2d_3b_1x1")),
                ("Conv2d_4a_3x3", lambda x: slim.conv2d(x, 192, 3, padding=padding, scope="Conv2d_4a_3x3")),
                ("MaxPool_5a_3x3", lambda x: slim.max_pool2d(x, 3, stride=2, padding=padding, scope="MaxPool_5a_3x3")),
            ]
            net = inputs
            for name, layer in stem:
                net = layer(net)
                if add_and_check_final(name, net):
                    return net, end_points
            net = mixed_block(
                net,
                "Mixed_5b",
                [  # 35 x 35 x 320
                    [("conv", 96, 1, "Conv2d_1x1")],
                    [("conv", 48, 1, "Conv2d_0a_1x1"), ("conv", 64, 5, "Conv2d_0b_5x5")],
                    [
                        ("conv", 64, 1, "Conv2d_0a_1x1"),
                        ("conv", 96, 3, "Conv2d_0b_3x3"),
                        ("conv", 96, 3, "Conv2d_0c_3x3"),
                    ],
                    [("avg", 3, "AvgPool_0a_3x3", {"stride": 1, "padding": "SAME"}), ("conv", 64, 1, "Conv2d_0b_1x1")],
                ],
            )
            if add_and_check_final("Mixed_5b", net):
                return net, end_points
            net = slim.repeat(net, 10, block35, scale=0.17, activation_fn=activation_fn)
            reduce = {"stride": reduce_stride, "padding": padding}
            net = mixed_block(
                net,
                "Mixed_6a",
                [  # 17 x 17 x 1088 (33 x 33 with output_stride 8)
                    [("conv", 384, 3, "Conv2d_1a_3x3", reduce)],
                    [
                        ("conv", 256, 1, "Conv2d_0a_1x1"),
                        ("conv", 256, 3, "Conv2d_0b_3x3"),
                        ("conv", 384, 3, "Conv2d_1a_3x3", reduce),
                    ],
                    [("max", 3, "MaxPool_1a_3x3", reduce)],
                ],
            )
            if add_and_check_final("Mixed_6a", net):
                return net, end_points
            with slim.arg_scope([slim.conv2d], rate=2 if use_atrous else 1):
                net = slim.repeat(net, 20, block17, scale=0.10, activation_fn=activation_fn)
            if add_and_check_final("PreAuxLogits", net):
                return net, end_points
            if output_stride == 8:
                raise ValueError("output_stride==8 is only supported up to the PreAuxlogits end_point for now.")
            reduce = {"stride": 2, "padding": padding}
            net = mixed_block(
                net,
                "Mixed_7a",
                [  # 8 x 8 x 2080
                    [("conv", 256, 1, "Conv2d_0a_1x1"), ("conv", 384, 3, "Conv2d_1a_3x3", reduce)],
                    [("conv", 256, 1, "Conv2d_0a_1x1"), ("conv", 288, 3, "Conv2d_1a_3x3", reduce)],
                    [
                        ("conv", 256, 1, "Conv2d_0a_1x1"),
                        ("conv", 288, 3, "Conv2d_0b_3x3"),
                        ("conv", 320, 3, "Conv2d_1a_3x3", reduce),
                    ],
                    [("max", 3, "MaxPool_1a_3x3", reduce)],
                ],
            )
            if add_and_check_final("Mixed_7a", net):
                return net, end_points
            net = slim.repeat(net, 9, block8, scale=0.20, activation_fn=activation_fn)
            net = block8(net, activation_fn=None)
            net = slim.conv2d(net, 1536, 1, scope="Conv2d_7b_1x1")  # 8 x 8 x 1536
            if add_and_check_final("Conv2d_7b_1x1", net):
                return net, end_points
    raise ValueError(f"final_endpoint ({final_endpoint}) not recognized")


def inception_resnet_v2(
    inputs: torch.Tensor,
    num_classes: int | None = 1001,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.8,
    reuse: Any = None,
    scope: str = "InceptionResnetV2",
    create_aux_logits: bool = True,
    activation_fn: Callable | None = torch.relu,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Inception-ResNet-v2 with the auxiliary head (from PreAuxLogits) and the main head."""
    with slim.variable_scope(scope, "InceptionResnetV2", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_resnet_v2_base(inputs, scope=sc, activation_fn=activation_fn)
            if create_aux_logits and num_classes:
                with slim.variable_scope("AuxLogits"):
                    aux = end_points["PreAuxLogits"]
                    aux = slim.avg_pool2d(aux, 5, stride=3, padding="VALID", scope="Conv2d_1a_3x3")
                    aux = slim.conv2d(aux, 128, 1, scope="Conv2d_1b_1x1")
                    aux = slim.conv2d(aux, 768, list(aux.shape[2:4]), padding="VALID", scope="Conv2d_2a_5x5")
                    aux = slim.flatten(aux)
                    aux = slim.fully_connected(aux, num_classes, activation_fn=None, scope="Logits")
                    end_points["AuxLogits"] = aux
            with slim.variable_scope("Logits"):
                net = slim.avg_pool2d(net, list(net.shape[2:4]), padding="VALID", scope="AvgPool_1a_8x8")
                end_points["global_pool"] = net
                if not num_classes:
                    return net, end_points
                net = slim.flatten(net)
                net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope="Dropout")
                end_points["PreLogitsFlatten"] = net
                logits = slim.fully_connected(net, num_classes, activation_fn=None, scope="Logits")
                end_points["Logits"] = logits
                end_points["Predictions"] = torch.softmax(logits, dim=-1)
    return logits, end_points


inception_resnet_v2.default_image_size = 299


def inception_resnet_v2_arg_scope(
    weight_decay: float = 0.00004,
    batch_norm_decay: float = 0.9997,
    batch_norm_epsilon: float = 0.001,
    activation_fn: Callable | None = torch.relu,
    batch_norm_updates_collections: Any = "update_ops",
    batch_norm_scale: bool = False,
) -> dict:
    """L2 decay on weights and biases; convs with batch norm (no gamma by default) and ReLU."""
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        biases_regularizer=slim.l2_regularizer(weight_decay),
    ):
        batch_norm_params = {
            "decay": batch_norm_decay,
            "epsilon": batch_norm_epsilon,
            "updates_collections": batch_norm_updates_collections,
            "fused": None,
            "scale": batch_norm_scale,
        }
        with slim.arg_scope(
            [slim.conv2d],
            activation_fn=activation_fn,
            normalizer_fn=slim.batch_norm,
            normalizer_params=batch_norm_params,
        ) as sc:
            return sc


register_network(
    "inception_resnet_v2",
    inception_resnet_v2,
    arg_scope_fn=inception_resnet_v2_arg_scope,
    default_image_size=299,
    preprocessing="inception",
)
