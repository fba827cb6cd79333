"""I3D (Carreira & Zisserman, 2017): Inception v1 inflated to 3-D, TF-Slim's names (scope InceptionV1).

Built by :func:`slim.nets.s3dg.s3dg_base` with a 7-frame first kernel, full (non-separable) 3-D convs and no gating.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets.i3d_utils import conv3d_spatiotemporal
from slim.nets.nets_factory import register_network
from slim.nets.s3dg import s3dg_base, video_batch_norm_params, video_logits


def i3d_arg_scope(
    weight_decay: float = 1e-7,
    batch_norm_decay: float = 0.999,
    batch_norm_epsilon: float = 1e-3,
    use_renorm: bool = False,
    separable_conv3d: bool = False,
) -> dict:
    """ReLU 3-D convs with (non-fused) batch norm and L2 decay."""
    with slim.arg_scope(
        [slim.conv3d, conv3d_spatiotemporal],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        activation_fn=torch.relu,
        normalizer_fn=slim.batch_norm,
        normalizer_params=video_batch_norm_params(batch_norm_decay, batch_norm_epsilon, use_renorm),
    ):
        with slim.arg_scope([conv3d_spatiotemporal], separable=separable_conv3d) as sc:
            return sc


def i3d_base(
    inputs: torch.Tensor, final_endpoint: str = "Mixed_5c", scope: Any = "InceptionV1"
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The I3D body up to ``final_endpoint``."""
    return s3dg_base(
        inputs,
        first_temporal_kernel_size=7,
        temporal_conv_startat="Conv2d_2c_3x3",
        gating_startat=None,
        final_endpoint=final_endpoint,
        min_depth=16,
        depth_multiplier=1.0,
        scope=scope,
    )


def i3d(
    inputs: torch.Tensor,
    num_classes: int = 1000,
    dropout_keep_prob: float = 0.8,
    is_training: bool | None = None,
    prediction_fn: Callable = slim.softmax,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    scope: str = "InceptionV1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """I3D on clips ``[N, 3, T, H, W]``."""
    with slim.variable_scope(scope, "InceptionV1", [inputs, num_classes], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = i3d_base(inputs, scope=sc)
            return video_logits(net, end_points, num_classes, dropout_keep_prob, prediction_fn, spatial_squeeze)


i3d.default_image_size = 224

register_network(
    "i3d", i3d, arg_scope_fn=i3d_arg_scope, default_image_size=224, preprocessing="inception", is_video=True
)
