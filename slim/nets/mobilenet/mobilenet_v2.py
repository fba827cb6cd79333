"""MobileNet v2 (Sandler et al., 2018) with TF-Slim's names; variants mobilenet_v2 (1.0), _140, _035.

model = slim.nets.get_network_fn('mobilenet_v2_140', num_classes=1001)
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.nets.mobilenet import conv_blocks as ops
from slim.nets.mobilenet import mobilenet as lib
from slim.nets.mobilenet.mobilenet import op
from slim.nets.nets_factory import register_network

V2_DEF = dict(
    defaults={
        # These batch-norm parameters are part of the architecture (they create variables).
        (slim.batch_norm,): {"center": True, "scale": True},
        (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
            "normalizer_fn": slim.batch_norm,
            "activation_fn": F.relu6,
        },
        (ops.expanded_conv,): {
            "expansion_size": ops.expand_input_by_factor(6),
            "split_expansion": 1,
            "normalizer_fn": slim.batch_norm,
            "residual": True,
        },
        (slim.conv2d, slim.separable_conv2d): {"padding": "SAME"},
    },
    spec=[
        op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]),
        op(ops.expanded_conv, expansion_size=ops.expand_input_by_factor(1, divisible_by=1), num_outputs=16),
    ]
    + [
        op(ops.expanded_conv, stride=stride, num_outputs=outputs)
        for stride, outputs in (
            (2, 24),
            (1, 24),
            (2, 32),
            (1, 32),
            (1, 32),
            (2, 64),
            (1, 64),
            (1, 64),
            (1, 64),
            (1, 96),
            (1, 96),
            (1, 96),
            (2, 160),
            (1, 160),
            (1, 160),
            (1, 320),
        )
    ]
    + [op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280)],
)


@slim.add_arg_scope
def mobilenet(
    input_tensor: torch.Tensor,
    num_classes: int | None = 1001,
    depth_multiplier: float = 1.0,
    scope: str = "MobilenetV2",
    conv_defs: dict | None = None,
    finegrain_classification_mode: bool = False,
    min_depth: int | None = None,
    divisible_by: int | None = None,
    activation_fn: Any = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """MobileNet v2. ``finegrain_classification_mode`` keeps the last layer's 1280 channels when the multiplier is
    below 1 (the published 0.35 model); ``min_depth``/``divisible_by`` control the channel rounding.

    Raises:
      ValueError: the generic ``multiplier`` argument is given (use depth_multiplier).
    """
    if conv_defs is None:
        conv_defs = V2_DEF
    if "multiplier" in kwargs:
        raise ValueError('mobilenetv2 doesn\'t support generic multiplier parameter use "depth_multiplier" instead.')
    if finegrain_classification_mode:
        conv_defs = copy.deepcopy(conv_defs)
        if depth_multiplier < 1:
            conv_defs["spec"][-1].params["num_outputs"] /= depth_multiplier
    if activation_fn:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["defaults"][(slim.conv2d, slim.fully_connected, slim.separable_conv2d)]["activation_fn"] = (
            activation_fn
        )
    depth_args = {}
    if min_depth is not None:
        depth_args["min_depth"] = min_depth
    if divisible_by is not None:
        depth_args["divisible_by"] = divisible_by
    with slim.arg_scope((lib.depth_multiplier,), **depth_args):
        return lib.mobilenet(
            input_tensor,
            num_classes=num_classes,
            conv_defs=conv_defs,
            scope=scope,
            multiplier=depth_multiplier,
            **kwargs,
        )


mobilenet.default_image_size = 224


def mobilenet_base(input_tensor: torch.Tensor, depth_multiplier: float = 1.0, **kwargs: Any):
    """The MobileNet v2 body without the head."""
    return mobilenet(input_tensor, depth_multiplier=depth_multiplier, base_only=True, **kwargs)


def training_scope(**kwargs: Any) -> dict:
    """The MobileNet training scope (see :func:`slim.nets.mobilenet.mobilenet.training_scope`)."""
    return lib.training_scope(**kwargs)


def _variant(name: str, **fixed: Any):
    def network(input_tensor: torch.Tensor, *args: Any, **kwargs: Any):
        return mobilenet(input_tensor, *args, **{**fixed, **kwargs})

    network.__name__ = network.__qualname__ = name
    network.__doc__ = f"MobileNet v2 with {fixed}."
    network.default_image_size = 224
    return network


mobilenet_v2_140 = _variant("mobilenet_v2_140", depth_multiplier=1.4)
mobilenet_v2_050 = _variant("mobilenet_v2_050", depth_multiplier=0.5)
mobilenet_v2_035 = _variant("mobilenet_v2_035", depth_multiplier=0.35, finegrain_classification_mode=True)

register_network(
    "mobilenet_v2", mobilenet, arg_scope_fn=training_scope, default_image_size=224, preprocessing="inception"
)
register_network(
    "mobilenet_v2_140", mobilenet_v2_140, arg_scope_fn=training_scope, default_image_size=224, preprocessing="inception"
)
register_network(
    "mobilenet_v2_035", mobilenet_v2_035, arg_scope_fn=training_scope, default_image_size=224, preprocessing="inception"
)
