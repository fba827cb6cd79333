"""MobileNet v3 (Howard et al., 2019) and MobileNet-EdgeTPU with TF-Slim's names: large, small, their
"minimalistic" versions (no squeeze-excite, no hard-swish, 3x3 kernels only), edgetpu and edgetpu_075.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.nets.mobilenet import conv_blocks as ops
from slim.nets.mobilenet import mobilenet as lib
from slim.nets.mobilenet.mobilenet import op
from slim.nets.nets_factory import register_network


def _hard_sigmoid_gate(x: torch.Tensor) -> torch.Tensor:
    return F.relu6(x + 3) * 0.16667


squeeze_excite = functools.partial(
    ops.squeeze_excite, squeeze_factor=4, inner_activation_fn=torch.relu, gating_fn=_hard_sigmoid_gate
)


def _se4(expansion_tensor: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
    return squeeze_excite(expansion_tensor)


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    """``x * relu6(x + 3) / 6``."""
    return x * F.relu6(x + 3.0) * (1.0 / 6.0)


def reduce_to_1x1(input_tensor: torch.Tensor, default_size: int = 7, **kwargs: Any) -> torch.Tensor:
    """Average-pools a square feature map to 1x1 (a ``default_size`` kernel otherwise)."""
    h, w = int(input_tensor.shape[2]), int(input_tensor.shape[3])
    k = [h, h] if w == h else [default_size, default_size]
    return slim.avg_pool2d(input_tensor, kernel_size=k, **kwargs)


def mbv3_op(ef: float, n: int, k: int, s: int = 1, act: Any = torch.relu, se: Any = None, **kwargs: Any):
    """An inverted-residual block: expansion factor ``ef``, ``n`` outputs, ``k`` x ``k`` depthwise, stride ``s``."""
    return op(
        ops.expanded_conv,
        expansion_size=ops.expand_input_by_factor(ef),
        kernel_size=(k, k),
        stride=s,
        num_outputs=n,
        inner_activation_fn=act,
        expansion_transform=se,
        **kwargs,
    )


def mbv3_fused(ef: float, n: int, k: int, s: int = 1, **kwargs: Any):
    """A fused block (EdgeTPU): a full k x k expansion conv instead of expansion + depthwise."""
    expansion_fn = functools.partial(slim.conv2d, kernel_size=k, stride=s)
    return op(
        ops.expanded_conv,
        expansion_size=ops.expand_input_by_factor(ef),
        kernel_size=(k, k),
        stride=s,
        num_outputs=n,
        expansion_fn=expansion_fn,
        depthwise_location=None,
        **kwargs,
    )


mbv3_op_se = functools.partial(mbv3_op, se=_se4)

DEFAULTS = {
    (ops.expanded_conv,): dict(normalizer_fn=slim.batch_norm, residual=True),
    (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
        "normalizer_fn": slim.batch_norm,
        "activation_fn": torch.relu,
    },
    (slim.batch_norm,): {"center": True, "scale": True},
}

DEFAULTS_GROUP_NORM = {
    (ops.expanded_conv,): dict(normalizer_fn=slim.group_norm, residual=True),
    (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
        "normalizer_fn": slim.group_norm,
        "activation_fn": torch.relu,
    },
    (slim.group_norm,): {"center": True, "scale": True},
}

hs = hard_swish


def _head(last: int, final: int, act: Any) -> list:
    act_kwargs = {"activation_fn": act} if act is not None else {}
    return [
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=last, **act_kwargs),
        op(reduce_to_1x1, default_size=7, stride=1, padding="VALID"),
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=final, normalizer_fn=None, **act_kwargs),
    ]


V3_LARGE = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3), activation_fn=hs),
        mbv3_op(ef=1, n=16, k=3),
        mbv3_op(ef=4, n=24, k=3, s=2),
        mbv3_op(ef=3, n=24, k=3, s=1),
        mbv3_op_se(ef=3, n=40, k=5, s=2),
        mbv3_op_se(ef=3, n=40, k=5, s=1),
        mbv3_op_se(ef=3, n=40, k=5, s=1),
        mbv3_op(ef=6, n=80, k=3, s=2, act=hs),
        mbv3_op(ef=2.5, n=80, k=3, s=1, act=hs),
        mbv3_op(ef=184 / 80.0, n=80, k=3, s=1, act=hs),
        mbv3_op(ef=184 / 80.0, n=80, k=3, s=1, act=hs),
        mbv3_op_se(ef=6, n=112, k=3, s=1, act=hs),
        mbv3_op_se(ef=6, n=112, k=3, s=1, act=hs),
        mbv3_op_se(ef=6, n=160, k=5, s=2, act=hs),
        mbv3_op_se(ef=6, n=160, k=5, s=1, act=hs),
        mbv3_op_se(ef=6, n=160, k=5, s=1, act=hs),
    ]
    + _head(960, 1280, hs),
)

V3_LARGE_MINIMALISTIC = dict(
    defaults=dict(DEFAULTS),
    spec=[op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3))]
    + [
        mbv3_op(ef=ef, n=n, k=3, s=s)
        for ef, n, s in (
            (1, 16, 1),
            (4, 24, 2),
            (3, 24, 1),
            (3, 40, 2),
            (3, 40, 1),
            (3, 40, 1),
            (6, 80, 2),
            (2.5, 80, 1),
            (184 / 80.0, 80, 1),
            (184 / 80.0, 80, 1),
            (6, 112, 1),
            (6, 112, 1),
            (6, 160, 2),
            (6, 160, 1),
            (6, 160, 1),
        )
    ]
    + _head(960, 1280, None),
)

V3_SMALL = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3), activation_fn=hs),
        mbv3_op_se(ef=1, n=16, k=3, s=2),
        mbv3_op(ef=72.0 / 16, n=24, k=3, s=2),
        mbv3_op(ef=(88.0 / 24), n=24, k=3, s=1),
        mbv3_op_se(ef=4, n=40, k=5, s=2, act=hs),
        mbv3_op_se(ef=6, n=40, k=5, s=1, act=hs),
        mbv3_op_se(ef=6, n=40, k=5, s=1, act=hs),
        mbv3_op_se(ef=3, n=48, k=5, s=1, act=hs),
        mbv3_op_se(ef=3, n=48, k=5, s=1, act=hs),
        mbv3_op_se(ef=6, n=96, k=5, s=2, act=hs),
        mbv3_op_se(ef=6, n=96, k=5, s=1, act=hs),
        mbv3_op_se(ef=6, n=96, k=5, s=1, act=hs),
    ]
    + _head(576, 1024, hs),
)

V3_SMALL_MINIMALISTIC = dict(
    defaults=dict(DEFAULTS),
    spec=[op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3))]
    + [
        mbv3_op(ef=ef, n=n, k=3, s=s)
        for ef, n, s in (
            (1, 16, 2),
            (72.0 / 16, 24, 2),
            (88.0 / 24, 24, 1),
            (4, 40, 2),
            (6, 40, 1),
            (6, 40, 1),
            (3, 48, 1),
            (3, 48, 1),
            (6, 96, 2),
            (6, 96, 1),
            (6, 96, 1),
        )
    ]
    + _head(576, 1024, None),
)

V3_EDGETPU = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(slim.conv2d, stride=2, num_outputs=32, kernel_size=(3, 3)),
        mbv3_fused(k=3, s=1, ef=1, n=16),
        mbv3_fused(k=3, s=2, ef=8, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=2, ef=8, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_op(k=3, s=2, ef=8, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=8, n=96, residual=False),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=5, s=2, ef=8, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=3, s=1, ef=8, n=192),
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280),
    ],
)


@slim.add_arg_scope
def mobilenet(
    input_tensor: torch.Tensor,
    num_classes: int | None = 1001,
    depth_multiplier: float = 1.0,
    scope: str = "MobilenetV3",
    conv_defs: dict | None = None,
    finegrain_classification_mode: bool = False,
    use_groupnorm: bool = False,
    **kwargs: Any,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """MobileNet v3 (V3_LARGE by default). ``use_groupnorm`` replaces batch norm by group norm (``groups``, 8)."""
    if conv_defs is None:
        conv_defs = V3_LARGE
    if "multiplier" in kwargs:
        raise ValueError('mobilenetv2 doesn\'t support generic multiplier parameter use "depth_multiplier" instead.')
    if use_groupnorm:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["defaults"] = dict(DEFAULTS_GROUP_NORM)
        conv_defs["defaults"][(slim.group_norm,)] = {"center": True, "scale": True, "groups": kwargs.pop("groups", 8)}
    if finegrain_classification_mode:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["spec"][-1] = conv_defs["spec"][-1]._replace(multiplier_func=lambda params, multiplier: params)
    return lib.mobilenet(
        input_tensor, num_classes=num_classes, conv_defs=conv_defs, scope=scope, multiplier=depth_multiplier, **kwargs
    )


mobilenet.default_image_size = 224


def _variant(name: str, **fixed: Any):
    def network(input_tensor: torch.Tensor, *args: Any, **kwargs: Any):
        return mobilenet(input_tensor, *args, **{**fixed, **kwargs})

    network.__name__ = network.__qualname__ = name
    network.__doc__ = f"MobileNet v3 variant {name}."
    network.default_image_size = 224
    return network


large = _variant("mobilenet_v3_large", conv_defs=V3_LARGE)
small = _variant("mobilenet_v3_small", conv_defs=V3_SMALL)
large_minimalistic = _variant("mobilenet_v3_large_minimalistic", conv_defs=V3_LARGE_MINIMALISTIC)
small_minimalistic = _variant("mobilenet_v3_small_minimalistic", conv_defs=V3_SMALL_MINIMALISTIC)
edge_tpu = _variant("mobilenet_edgetpu", conv_defs=V3_EDGETPU, scope="MobilenetEdgeTPU")
edge_tpu_075 = _variant(
    "mobilenet_edgetpu_075",
    conv_defs=V3_EDGETPU,
    scope="MobilenetEdgeTPU",
    depth_multiplier=0.75,
    finegrain_classification_mode=True,
)

for _fn in (large, small, large_minimalistic, small_minimalistic, edge_tpu, edge_tpu_075):
    register_network(
        _fn.__name__, _fn, arg_scope_fn=lib.training_scope, default_image_size=224, preprocessing="inception"
    )
