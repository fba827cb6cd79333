"""VGG (Simonyan & Zisserman, 2014) with TF-Slim's names: vgg_a (11 layers), vgg_16, vgg_19.

The three share one definition; they differ only in how many 3x3 convs each of the five stages repeats. The fully
connected layers are convolutions (see :mod:`slim.nets.fc_conv_head`).

    model = slim.nets.get_network_fn('vgg_16', num_classes=1000)
    logits, end_points = model(images)     # images [N, 3, 224, 224]; end_points['vgg_16/pool5']: [N, 512, 7, 7]
"""

from __future__ import annotations

from typing import Any

import torch

import slim
from slim.nets.fc_conv_head import fully_convolutional_head
from slim.nets.nets_factory import register_network

# Convs per stage (stage depths 64, 128, 256, 512, 512).
STAGE_REPEATS = {"vgg_a": (1, 1, 2, 2, 2), "vgg_16": (2, 2, 3, 3, 3), "vgg_19": (2, 2, 4, 4, 4)}
STAGE_DEPTHS = (64, 128, 256, 512, 512)


def vgg_arg_scope(weight_decay: float = 0.0005) -> dict:
    """ReLU convs and fully connected layers with L2 weight decay and zero biases; SAME convs."""
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        activation_fn=torch.relu,
        weights_regularizer=slim.l2_regularizer(weight_decay),
        biases_initializer=slim.zeros_initializer(),
    ):
        with slim.arg_scope([slim.conv2d], padding="SAME") as arg_sc:
            return arg_sc


def _vgg(variant: str):
    def network(
        inputs: torch.Tensor,
        num_classes: int | None = 1000,
        is_training: bool | None = None,
        dropout_keep_prob: float = 0.5,
        spatial_squeeze: bool = True,
        reuse: Any = None,
        scope: str = variant,
        fc_conv_padding: str = "VALID",
        global_pool: bool = False,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with slim.variable_scope(scope, variant, [inputs], reuse=reuse) as sc:
            end_points_collection = sc.original_name_scope + "_end_points"
            with slim.arg_scope([slim.conv2d, slim.max_pool2d], outputs_collections=end_points_collection):
                net = inputs
                for stage, (repeats, depth) in enumerate(zip(STAGE_REPEATS[variant], STAGE_DEPTHS), start=1):
                    net = slim.repeat(net, repeats, slim.conv2d, depth, [3, 3], scope=f"conv{stage}")
                    net = slim.max_pool2d(net, [2, 2], scope=f"pool{stage}")
                # 7 x 7 x 512 at 224 x 224
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
                    fc6_kernel=7,
                    fc6_padding=fc_conv_padding,
                )

    network.__name__ = network.__qualname__ = variant
    network.__doc__ = (
        f"{variant}: VGG with {STAGE_REPEATS[variant]} 3x3 convs per stage. ``num_classes`` 0/None returns fc7's "
        "features; ``spatial_squeeze=False`` keeps the logits' spatial dims; ``global_pool`` averages fc7 over space."
    )
    network.default_image_size = 224
    return network


vgg_a = _vgg("vgg_a")
vgg_16 = _vgg("vgg_16")
vgg_19 = _vgg("vgg_19")
vgg_d = vgg_16
vgg_e = vgg_19

for _name, _fn in (("vgg_a", vgg_a), ("vgg_16", vgg_16), ("vgg_19", vgg_19)):
    register_network(_name, _fn, arg_scope_fn=vgg_arg_scope, default_image_size=224, preprocessing="vgg")
