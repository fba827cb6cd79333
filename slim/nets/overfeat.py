"""OverFeat (Sermanet et al., 2013), the "fast" model, with TF-Slim's variable names and end points.

The default input is 231 x 231. The fully connected layers are convolutions (see :mod:`slim.nets.fc_conv_head`), so
larger inputs give a spatial map of logits (``spatial_squeeze=False``).

    model = slim.nets.get_network_fn('overfeat', num_classes=1000)
    logits, end_points = model(images)   # images [N, 3, 231, 231]; end_points['overfeat/pool5']: [N, 1024, 6, 6]
"""

from __future__ import annotations

import torch

import slim
from slim.nets.alexnet import trunc_normal
from slim.nets.fc_conv_head import fully_convolutional_head
from slim.nets.nets_factory import register_network

__all__ = ["overfeat", "overfeat_arg_scope"]


def overfeat_arg_scope(weight_decay: float = 0.0005) -> dict:
    """The arg scope OverFeat is trained with.

    Convolutions and fully connected layers use ReLU, zero biases and L2 weight decay; convolutions pad SAME and max
    pooling VALID (unless a layer says otherwise).

    Args:
      weight_decay: the L2 regularization scale of the weights.

    Returns:
      The arg scope dict, to enter with ``slim.arg_scope(overfeat_arg_scope())``.
    """
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
    scope: str = "overfeat",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """OverFeat: five convolutions and three fully connected layers written as convolutions.

    Args:
      inputs: images ``[N, 3, H, W]``; 231 x 231 is the size the classifier is made for.
      num_classes: the number of classes; 0 or None omits ``fc8`` (and ``dropout7``) and returns fc7's features.
      is_training: whether dropout is active; None follows the owning model's ``train()``/``eval()`` mode.
      dropout_keep_prob: the probability that an activation is kept by ``dropout6`` and ``dropout7``.
      spatial_squeeze: whether to squeeze the 1 x 1 spatial dims of the logits; set it to False for larger inputs,
        which give a map of logits.
      scope: the variable scope of the network.
      global_pool: whether to average fc7 over its spatial dims (end point ``global_pool``) before ``fc8``.

    Returns:
      ``(net, end_points)``: the logits ``[N, num_classes]`` (or ``[N, num_classes, h, w]`` without squeeze), or
      fc7's features ``[N, 4096, h, w]`` when ``num_classes`` is 0/None; the end points are keyed by full scope
      path (``overfeat/conv1`` ... ``overfeat/fc8``).

    Example:
      model = slim.Model(overfeat, num_classes=10).build(torch.zeros(1, 3, 231, 231))
      logits, end_points = model(torch.zeros(2, 3, 231, 231))   # logits: [2, 10]
    """
    with slim.variable_scope(scope, "overfeat", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope(
            [slim.conv2d, slim.fully_connected, slim.max_pool2d], outputs_collections=end_points_collection
        ):
            net = slim.conv2d(inputs, 64, [11, 11], 4, padding="VALID", scope="conv1")  # 56 x 56 x 64
            net = slim.max_pool2d(net, [2, 2], scope="pool1")  # 28 x 28 x 64
            net = slim.conv2d(net, 256, [5, 5], padding="VALID", scope="conv2")  # 24 x 24 x 256
            net = slim.max_pool2d(net, [2, 2], scope="pool2")  # 12 x 12 x 256
            net = slim.conv2d(net, 512, [3, 3], scope="conv3")  # 12 x 12 x 512
            net = slim.conv2d(net, 1024, [3, 3], scope="conv4")  # 12 x 12 x 1024
            net = slim.conv2d(net, 1024, [3, 3], scope="conv5")  # 12 x 12 x 1024
            net = slim.max_pool2d(net, [2, 2], scope="pool5")  # 6 x 6 x 1024
            with slim.arg_scope(
                [slim.conv2d],
                weights_initializer=trunc_normal(0.005),
                biases_initializer=slim.constant_initializer(0.1),
            ):
                # fc6 (6 x 6 VALID): 1 x 1 x 3072 -> fc7: 1 x 1 x 4096 -> fc8: 1 x 1 x num_classes.
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

# TF-Slim's preprocessing factory has no entry for overfeat (its scripts need --preprocessing_name); we register 'vgg'
# (mean subtraction, resize and crop), which fits a network trained from scratch on ImageNet.
register_network("overfeat", overfeat, arg_scope_fn=overfeat_arg_scope, default_image_size=231, preprocessing="vgg")
