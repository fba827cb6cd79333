"""VGG (Simonyan & Zisserman, 2014) with TF-Slim's names: vgg_a (11 layers), vgg_16 and vgg_19.

The three are built from one table (:data:`VGG_CONFIGS`): they differ only in how many 3 x 3 convolutions each of
the five stages repeats. The fully connected layers are convolutions (see :mod:`slim.nets.fc_conv_head`), so larger
inputs give a spatial map of logits (``spatial_squeeze=False``).

    model = slim.nets.get_network_fn('vgg_16', num_classes=1000)
    logits, end_points = model(images)     # images [N, 3, 224, 224]; end_points['vgg_16/pool5']: [N, 512, 7, 7]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets.fc_conv_head import fully_convolutional_head
from slim.nets.nets_factory import register_network

__all__ = ["VGG_CONFIGS", "vgg_a", "vgg_16", "vgg_19", "vgg_d", "vgg_e", "vgg_arg_scope"]

# Output depth of the 3 x 3 convolutions of the five stages (conv1 ... conv5); each stage ends in a 2 x 2 max pool.
STAGE_DEPTHS = (64, 128, 256, 512, 512)

# Network name -> how many convolutions each stage repeats (VGG paper configurations A, D and E).
VGG_CONFIGS: dict[str, tuple[int, int, int, int, int]] = {
    "vgg_a": (1, 1, 2, 2, 2),
    "vgg_16": (2, 2, 3, 3, 3),
    "vgg_19": (2, 2, 4, 4, 4),
}


def vgg_arg_scope(weight_decay: float = 0.0005) -> dict:
    """The arg scope VGG is trained with: ReLU, L2 weight decay and zero biases; convolutions pad SAME.

    Args:
      weight_decay: the L2 regularization scale of the weights.

    Returns:
      The arg scope dict, to enter with ``slim.arg_scope(vgg_arg_scope())``.
    """
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        activation_fn=torch.relu,
        weights_regularizer=slim.l2_regularizer(weight_decay),
        biases_initializer=slim.zeros_initializer(),
    ):
        with slim.arg_scope([slim.conv2d], padding="SAME") as arg_sc:
            return arg_sc


_DOC = """{name}: VGG with {repeats} 3 x 3 convolutions in its five stages, then fc6, fc7 and fc8 as convolutions.

    Args:
      inputs: images ``[N, 3, H, W]``; 224 x 224 is the size the classifier is made for.
      num_classes: the number of classes; 0 or None omits ``fc8`` (and ``dropout7``) and returns fc7's features.
      is_training: whether dropout is active; None follows the owning model's ``train()``/``eval()`` mode.
      dropout_keep_prob: the probability that an activation is kept by ``dropout6`` and ``dropout7``.
      spatial_squeeze: whether to squeeze the 1 x 1 spatial dims of the logits; set it to False for larger inputs,
        which give a map of logits.
      reuse: whether the network's variables are reused (True, slim.AUTO_REUSE, or None to inherit).
      scope: the variable scope of the network.
      fc_conv_padding: the padding of fc6 (7 x 7): 'VALID' gives 1 x 1 at 224 x 224, 'SAME' keeps pool5's size.
      global_pool: whether to average fc7 over its spatial dims (end point ``global_pool``) before ``fc8``.

    Returns:
      ``(net, end_points)``: the logits ``[N, num_classes]`` (or ``[N, num_classes, h, w]`` without squeeze), or
      fc7's features ``[N, 4096, h, w]`` when ``num_classes`` is 0/None; the end points are keyed by full scope
      path (``{name}/conv1/conv1_1`` ... ``{name}/pool5``, ``{name}/fc6``, ``{name}/fc7``, ``{name}/fc8``).

    Example:
      model = slim.Model({name}, num_classes=10).build(torch.zeros(1, 3, 224, 224))
      logits, end_points = model(torch.zeros(2, 3, 224, 224))   # logits: [2, 10]
    """


def _make_vgg(name: str) -> Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """The network function of configuration ``name`` of :data:`VGG_CONFIGS`."""
    repeats = VGG_CONFIGS[name]

    def network(
        inputs: torch.Tensor,
        num_classes: int | None = 1000,
        is_training: bool | None = None,
        dropout_keep_prob: float = 0.5,
        spatial_squeeze: bool = True,
        reuse: Any = None,
        scope: str = name,
        fc_conv_padding: str = "VALID",
        global_pool: bool = False,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with slim.variable_scope(scope, name, [inputs], reuse=reuse) as sc:
            end_points_collection = sc.original_name_scope + "_end_points"
            with slim.arg_scope(
                [slim.conv2d, slim.fully_connected, slim.max_pool2d], outputs_collections=end_points_collection
            ):
                net = inputs
                # At 224 x 224: 112 x 112 x 64, 56 x 56 x 128, 28 x 28 x 256, 14 x 14 x 512, 7 x 7 x 512.
                for stage, (count, depth) in enumerate(zip(repeats, STAGE_DEPTHS), start=1):
                    net = slim.repeat(net, count, slim.conv2d, depth, [3, 3], scope=f"conv{stage}")
                    net = slim.max_pool2d(net, [2, 2], scope=f"pool{stage}")
                # fc6 (7 x 7): 1 x 1 x 4096 -> fc7: 1 x 1 x 4096 -> fc8: 1 x 1 x num_classes.
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

    network.__name__ = network.__qualname__ = name
    network.__module__ = __name__
    network.__doc__ = _DOC.format(name=name, repeats=repeats)
    network.default_image_size = 224
    return network


vgg_a = _make_vgg("vgg_a")
vgg_16 = _make_vgg("vgg_16")
vgg_19 = _make_vgg("vgg_19")
# The VGG paper's configuration letters, as TF-Slim aliases them.
vgg_d = vgg_16
vgg_e = vgg_19

for _fn in (vgg_a, vgg_16, vgg_19):
    register_network(_fn.__name__, _fn, arg_scope_fn=vgg_arg_scope, default_image_size=224, preprocessing="vgg")
