"""OverFeat (Sermanet et al., 2013) "fast" model with TF-Slim's names; default input 231 x 231.

TF-Slim has no preprocessing for overfeat; the factory maps it to 'vgg' here.
"""

from __future__ import annotations

from typing import Any

import torch

import slim
from slim.nets.alexnet import trunc_normal
from slim.nets.fc_conv_head import fully_convolutional_head
from slim.nets.nets_factory import register_network


def overfeat_arg_scope(weight_decay: float = 0.0005) -> dict:
    """ReLU layers with zero biases and L2 weight decay; SAME convs, VALID max pooling."""
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        activation_fn=torch.relu,
        weights_regularizer=slim.l2_regularizer(weight_decay),
        biases_initializer=slim.zeros_initializer(),
    ):
        with slim.arg_scope([slim.conv2d], padding="SAME"):
            with slim.arg_scope([slim.max_pool2d], padding="VALID") as arg_sc:
                return arg_sc


def overfeat(
    inputs: torch.Tensor,
    num_classes: int | None = 1000,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.5,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    scope: str = "overfeat",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """OverFeat; ``num_classes`` 0/None returns fc7's features ``[N, 4096, 1, 1]``."""
    with slim.variable_scope(scope, "overfeat", [inputs], reuse=reuse) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, slim.fully_connected, slim.max_pool2d], outputs_collections=end_points_collection
        ):
            net = slim.conv2d(inputs, 64, [11, 11], 4, padding="VALID", scope="conv1")
            net = slim.max_pool2d(net, [2, 2], scope="pool1")
            net = slim.conv2d(net, 256, [5, 5], padding="VALID", scope="conv2")
            net = slim.max_pool2d(net, [2, 2], scope="pool2")
            net = slim.conv2d(net, 512, [3, 3], scope="conv3")
            net = slim.conv2d(net, 1024, [3, 3], scope="conv4")
            net = slim.conv2d(net, 1024, [3, 3], scope="conv5")
            net = slim.max_pool2d(net, [2, 2], scope="pool5")  # 6 x 6 x 1024
            with slim.arg_scope(
                [slim.conv2d],
                weights_initializer=trunc_normal(0.005),
                biases_initializer=slim.constant_initializer(0.1),
            ):
                return fully_convolutional_head(
                    net,
                    scope_name=sc.name,
                    end_points_collection=end_points_collection,
                    num_classes=num_classes,
                    is_training=is_training,
                    dropout_keep_prob=dropout_keep_prob,
                    spatial_squeeze=spatial_squeeze,
                    global_pool=global_pool,
                    fc6_depth=3072,
                    fc6_kernel=6,
                    fc6_padding="VALID",
                    fc8_biases_initializer=slim.zeros_initializer(),
                )


overfeat.default_image_size = 231

register_network("overfeat", overfeat, arg_scope_fn=overfeat_arg_scope, default_image_size=231, preprocessing="vgg")
