"""MobileNet v1 (Howard et al., 2017) with TF-Slim's names; variants mobilenet_v1 (1.0), _075, _050, _025.

Each layer is a 3x3 depthwise conv (``Conv2d_<i>_depthwise``) then a 1x1 conv (``Conv2d_<i>_pointwise``); the depth
multiplier scales every width (``max(int(d * multiplier), min_depth)``).

    model = slim.nets.get_network_fn('mobilenet_v1_050', num_classes=1001)
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.nets.inception_utils import reduced_kernel_size_for_small_input
from slim.nets.nets_factory import register_network

Conv = collections.namedtuple("Conv", ["kernel", "stride", "depth"])
DepthSepConv = collections.namedtuple("DepthSepConv", ["kernel", "stride", "depth"])

MOBILENETV1_CONV_DEFS = [Conv(kernel=[3, 3], stride=2, depth=32)] + [
    DepthSepConv(kernel=[3, 3], stride=stride, depth=depth)
    for stride, depth in (
        (1, 64),
        (2, 128),
        (1, 128),
        (2, 256),
        (1, 256),
        (2, 512),
        (1, 512),
        (1, 512),
        (1, 512),
        (1, 512),
        (1, 512),
        (2, 1024),
        (1, 1024),
    )
]


def _fixed_padding(inputs: torch.Tensor, kernel_size: Sequence[int], rate: int = 1) -> torch.Tensor:
    """Pads symmetrically (smaller half first) so a VALID conv gives SAME-sized output independent of parity."""
    effective = [k + (k - 1) * (rate - 1) for k in kernel_size[:2]]
    pad_total = [e - 1 for e in effective]
    pad_beg = [p // 2 for p in pad_total]
    pad_end = [p - b for p, b in zip(pad_total, pad_beg)]
    return F.pad(inputs, [pad_beg[1], pad_end[1], pad_beg[0], pad_end[0]])


def mobilenet_v1_base(
    inputs: torch.Tensor,
    final_endpoint: str = "Conv2d_13_pointwise",
    min_depth: int = 8,
    depth_multiplier: float = 1.0,
    conv_defs: Sequence[Any] | None = None,
    output_stride: int | None = None,
    use_explicit_padding: bool = False,
    scope: Any = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The MobileNet v1 body up to ``final_endpoint``; ``output_stride`` 8/16/32 makes it atrous.

    Raises:
      ValueError: depth_multiplier <= 0, a bad output_stride, or an unknown final_endpoint/conv type.
    """
    end_points: dict[str, torch.Tensor] = {}
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    if conv_defs is None:
        conv_defs = MOBILENETV1_CONV_DEFS
    if output_stride is not None and output_stride not in [8, 16, 32]:
        raise ValueError("Only allowed output_stride values are 8, 16, 32.")

    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), min_depth)

    padding = "VALID" if use_explicit_padding else "SAME"
    with slim.variable_scope(scope, "MobilenetV1", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.separable_conv2d], padding=padding):
            current_stride, rate = 1, 1
            net = inputs
            for i, conv_def in enumerate(conv_defs):
                end_point_base = f"Conv2d_{i}"
                if output_stride is not None and current_stride == output_stride:
                    layer_stride, layer_rate = 1, rate
                    rate *= conv_def.stride
                else:
                    layer_stride, layer_rate = conv_def.stride, 1
                    current_stride *= conv_def.stride
                if isinstance(conv_def, Conv):
                    if use_explicit_padding:
                        net = _fixed_padding(net, conv_def.kernel)
                    net = slim.conv2d(
                        net, depth(conv_def.depth), conv_def.kernel, stride=conv_def.stride, scope=end_point_base
                    )
                    end_points[end_point_base] = net
                    if end_point_base == final_endpoint:
                        return net, end_points
                elif isinstance(conv_def, DepthSepConv):
                    end_point = end_point_base + "_depthwise"
                    if use_explicit_padding:
                        net = _fixed_padding(net, conv_def.kernel, layer_rate)
                    net = slim.separable_conv2d(
                        net,
                        None,
                        conv_def.kernel,
                        depth_multiplier=1,
                        stride=layer_stride,
                        rate=layer_rate,
                        scope=end_point,
                    )
                    end_points[end_point] = net
                    if end_point == final_endpoint:
                        return net, end_points
                    end_point = end_point_base + "_pointwise"
                    net = slim.conv2d(net, depth(conv_def.depth), [1, 1], stride=1, scope=end_point)
                    end_points[end_point] = net
                    if end_point == final_endpoint:
                        return net, end_points
                else:
                    raise ValueError(f"Unknown convolution type {type(conv_def).__name__} for layer {i}")
    raise ValueError(f"Unknown final endpoint {final_endpoint}")


def mobilenet_v1(
    inputs: torch.Tensor,
    num_classes: int | None = 1000,
    dropout_keep_prob: float = 0.999,
    is_training: bool | None = None,
    min_depth: int = 8,
    depth_multiplier: float = 1.0,
    conv_defs: Sequence[Any] | None = None,
    prediction_fn: Callable | None = slim.softmax,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    scope: str = "MobilenetV1",
    global_pool: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """MobileNet v1 with its head (average pool, dropout, 1x1-conv logits)."""
    if inputs.dim() != 4:
        raise ValueError(f"Invalid input tensor rank, expected 4, was: {inputs.dim()}")
    with slim.variable_scope(scope, "MobilenetV1", [inputs], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = mobilenet_v1_base(
                inputs, scope=sc, min_depth=min_depth, depth_multiplier=depth_multiplier, conv_defs=conv_defs
            )
            with slim.variable_scope("Logits"):
                if global_pool:
                    net = torch.mean(net, dim=[2, 3], keepdim=True)
                    end_points["global_pool"] = net
                else:
                    kernel_size = reduced_kernel_size_for_small_input(net, [7, 7])
                    net = slim.avg_pool2d(net, kernel_size, padding="VALID", scope="AvgPool_1a")
                    end_points["AvgPool_1a"] = net
                if not num_classes:
                    return net, end_points
                net = slim.dropout(net, keep_prob=dropout_keep_prob, scope="Dropout_1b")
                logits = slim.conv2d(
                    net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="Conv2d_1c_1x1"
                )
                if spatial_squeeze:
                    logits = torch.squeeze(logits, [2, 3])
            end_points["Logits"] = logits
            if prediction_fn:
                end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


mobilenet_v1.default_image_size = 224


def mobilenet_v1_arg_scope(
    is_training: bool | None = True,
    weight_decay: float = 0.00004,
    stddev: float = 0.09,
    regularize_depthwise: bool = False,
    batch_norm_decay: float = 0.9997,
    batch_norm_epsilon: float = 0.001,
    batch_norm_updates_collections: Any = "update_ops",
    normalizer_fn: Callable | None = slim.batch_norm,
) -> dict:
    """ReLU6 convs with batch norm (center and scale); L2 decay on the convs, not the depthwise layers by default.

    ``is_training=None`` leaves batch norm's mode unset (TF-Slim's behaviour), so it follows the model.
    """
    batch_norm_params = {
        "center": True,
        "scale": True,
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "updates_collections": batch_norm_updates_collections,
    }
    if is_training is not None:
        batch_norm_params["is_training"] = is_training
    weights_init = slim.truncated_normal_initializer(stddev=stddev)
    regularizer = slim.l2_regularizer(weight_decay)
    depthwise_regularizer = regularizer if regularize_depthwise else None
    with slim.arg_scope(
        [slim.conv2d, slim.separable_conv2d],
        weights_initializer=weights_init,
        activation_fn=F.relu6,
        normalizer_fn=normalizer_fn,
    ):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params):
            with slim.arg_scope([slim.conv2d], weights_regularizer=regularizer):
                with slim.arg_scope([slim.separable_conv2d], weights_regularizer=depthwise_regularizer) as sc:
                    return sc


def _variant(multiplier: float) -> Callable:
    def network(inputs: torch.Tensor, *args: Any, **kwargs: Any):
        kwargs.setdefault("depth_multiplier", multiplier)
        return mobilenet_v1(inputs, *args, **kwargs)

    suffix = f"{int(round(multiplier * 100)):03d}"
    network.__name__ = network.__qualname__ = f"mobilenet_v1_{suffix}"
    network.__doc__ = f"MobileNet v1 with depth multiplier {multiplier}."
    network.default_image_size = 224
    return network


mobilenet_v1_075 = _variant(0.75)
mobilenet_v1_050 = _variant(0.50)
mobilenet_v1_025 = _variant(0.25)

register_network(
    "mobilenet_v1", mobilenet_v1, arg_scope_fn=mobilenet_v1_arg_scope, default_image_size=224, preprocessing="inception"
)
# TF-Slim's preprocessing factory forgot the three variants; they use the same (inception) preprocessing.
for _name, _fn in (
    ("mobilenet_v1_075", mobilenet_v1_075),
    ("mobilenet_v1_050", mobilenet_v1_050),
    ("mobilenet_v1_025", mobilenet_v1_025),
):
    register_network(_name, _fn, arg_scope_fn=mobilenet_v1_arg_scope, default_image_size=224, preprocessing="inception")
