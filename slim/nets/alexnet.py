"""AlexNet v2 ("One weird trick", Krizhevsky 2014) with TF-Slim's names and end points.

    model = slim.nets.get_network_fn('alexnet_v2', num_classes=1000)
    logits, end_points = model(images)   # images [N, 3, 224, 224]

TF-Slim has no preprocessing for alexnet_v2; the factory maps it to 'vgg' (mean subtraction) here.
"""

from __future__ import annotations

import torch

import slim
from slim.nets.fc_conv_head import fully_convolutional_head
from slim.nets.nets_factory import register_network


def trunc_normal(stddev: float):
    return slim.truncated_normal_initializer(0.0, stddev)


def alexnet_v2_arg_scope(weight_decay: float = 0.0005) -> dict:
    """ReLU layers with biases 0.1 and L2 weight decay; SAME convs, VALID max pooling."""
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        activation_fn=torch.relu,
        biases_initializer=slim.constant_initializer(0.1),
        weights_regularizer=slim.l2_regularizer(weight_decay),
    ):
        with slim.arg_scope([slim.conv2d], padding="SAME"):
            with slim.arg_scope([slim.max_pool2d], padding="VALID") as arg_sc:
                return arg_sc


def alexnet_v2(
    inputs: torch.Tensor,
    num_classes: int | None = 1000,
    is_training: bool | None = None,
    dropout_keep_prob: float = 0.5,
    spatial_squeeze: bool = True,
    scope: str = "alexnet_v2",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """AlexNet v2; ``num_classes`` 0/None returns fc7's features ``[N, 4096, 1, 1]``."""
    with slim.variable_scope(scope, "alexnet_v2", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, slim.fully_connected, slim.max_pool2d], outputs_collections=[end_points_collection]
        ):
            net = slim.conv2d(inputs, 64, [11, 11], 4, padding="VALID", scope="conv1")  # 54 x 54 x 64
            net = slim.max_pool2d(net, [3, 3], 2, scope="pool1")
            net = slim.conv2d(net, 192, [5, 5], scope="conv2")
            net = slim.max_pool2d(net, [3, 3], 2, scope="pool2")
            net = slim.conv2d(net, 384, [3, 3], scope="conv3")
            net = slim.conv2d(net, 384, [3, 3], scope="conv4")
            net = slim.conv2d(net, 256, [3, 3], scope="conv5")
            net = slim.max_pool2d(net, [3, 3], 2, scope="pool5")  # 5 x 5 x 256
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
                    fc6_depth=4096,
                    fc6_kernel=5,
                    fc6_padding="VALID",
                    fc8_biases_initializer=slim.zeros_initializer(),
                )


alexnet_v2.default_image_size = 224

# TF-Slim's preprocessing factory has no entry for alexnet_v2; 'vgg' (mean subtraction) is the sensible one.
register_network(
    "alexnet_v2", alexnet_v2, arg_scope_fn=alexnet_v2_arg_scope, default_image_size=224, preprocessing="vgg"
)
