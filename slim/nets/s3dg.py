"""S3D-G (Xie et al., 2017): separable 3-D Inception v1 with feature gating, TF-Slim's names (scope InceptionV1).

Input clips are NCDHW: ``[N, 3, frames, 224, 224]``. :func:`s3dg_base` also builds I3D (see :mod:`slim.nets.i3d`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import slim
from slim.nets import i3d_utils
from slim.nets.i3d_utils import conv3d_spatiotemporal, inception_block_v1_3d
from slim.nets.nets_factory import register_network


def trunc_normal(stddev: float):
    return slim.truncated_normal_initializer(0.0, stddev)


def video_batch_norm_params(batch_norm_decay: float, batch_norm_epsilon: float, use_renorm: bool = False) -> dict:
    """Non-fused batch norm whose moving statistics also go to the ``moving_vars`` collection."""
    return {
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "fused": False,
        "renorm": use_renorm,
        "variables_collections": {
            "beta": None,
            "gamma": None,
            "moving_mean": ["moving_vars"],
            "moving_variance": ["moving_vars"],
        },
    }


def s3dg_arg_scope(
    weight_decay: float = 1e-7, batch_norm_decay: float = 0.999, batch_norm_epsilon: float = 1e-3
) -> dict:
    """ReLU 3-D convs with batch norm and L2 decay; spatio-temporal convs separable."""
    with slim.arg_scope(
        [slim.conv3d, conv3d_spatiotemporal],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        activation_fn=torch.relu,
        normalizer_fn=slim.batch_norm,
        normalizer_params=video_batch_norm_params(batch_norm_decay, batch_norm_epsilon),
    ):
        with slim.arg_scope([conv3d_spatiotemporal], separable=True) as sc:
            return sc


def self_gating(input_tensor: torch.Tensor, scope: str, data_format: str | None = None) -> torch.Tensor:
    """Feature gating: a sigmoid of a 1x1x1 transform of the spatio-temporal average scales every channel."""
    t, h, w = (int(d) for d in input_tensor.shape[2:5])
    average = slim.avg_pool3d(input_tensor, [t, h, w], stride=1, scope=scope + "/self_gating/avg_pool3d")
    weights = slim.conv3d(
        average,
        int(input_tensor.shape[1]),
        [1, 1, 1],
        activation_fn=None,
        normalizer_fn=None,
        biases_initializer=None,
        scope=scope + "/self_gating/transformer_W",
    )
    return torch.sigmoid(weights) * input_tensor


# (end point, kind, spec): convs are (depth, kernel, stride), pools (kernel, stride), mixed the six block depths.
LAYERS = [
    ("MaxPool_2a_3x3", "max", ([1, 3, 3], [1, 2, 2])),
    ("Conv2d_2b_1x1", "conv", 64),
    ("Conv2d_2c_3x3", "st_conv", 192),
    ("MaxPool_3a_3x3", "max", ([1, 3, 3], [1, 2, 2])),
    ("Mixed_3b", "mixed", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", "mixed", (128, 128, 192, 32, 96, 64)),
    ("MaxPool_4a_3x3", "max", ([3, 3, 3], [2, 2, 2])),
    ("Mixed_4b", "mixed", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", "mixed", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", "mixed", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", "mixed", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", "mixed", (256, 160, 320, 32, 128, 128)),
    ("MaxPool_5a_2x2", "max", ([2, 2, 2], [2, 2, 2])),
    ("Mixed_5b", "mixed", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", "mixed", (384, 192, 384, 48, 128, 128)),
]


def s3dg_base(
    inputs: torch.Tensor,
    first_temporal_kernel_size: int = 3,
    temporal_conv_startat: str | None = "Conv2d_2c_3x3",
    gating_startat: str | None = "Conv2d_2c_3x3",
    final_endpoint: str = "Mixed_5c",
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    data_format: str = "NCDHW",
    scope: Any = "InceptionV1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The S3D-G / I3D body. Temporal convs start at ``temporal_conv_startat`` (before it t = 1), gating at
    ``gating_startat`` (None: never).

    Raises:
      ValueError: depth_multiplier <= 0, a first temporal kernel not in 1/3/5/7, or an unknown final_endpoint.
    """
    if data_format not in ("NDHWC", "NCDHW"):
        raise ValueError(f"data_format must be NDHWC or NCDHW, got {data_format!r}.")
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    if first_temporal_kernel_size not in [1, 3, 5, 7]:
        raise ValueError("first_temporal_kernel_size can only be 1, 3, 5 or 7.")
    if data_format == "NDHWC":
        inputs = inputs.movedim(-1, 1)

    def depth(d: int) -> int:
        return max(int(d * depth_multiplier), min_depth)

    end_points: dict[str, torch.Tensor] = {}
    t = 1
    self_gating_fn = None
    if final_endpoint not in ["Conv2d_1a_7x7"] + [name for name, _, _ in LAYERS]:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")
    with slim.variable_scope(scope, "InceptionV1", [inputs]):
        with slim.arg_scope([slim.conv3d], weights_initializer=trunc_normal(0.01)):
            with slim.arg_scope([slim.conv3d, slim.max_pool3d, conv3d_spatiotemporal], stride=1, padding="SAME"):
                # Separable convs are slow as the first layer: a full 3-D conv here.
                net = conv3d_spatiotemporal(
                    inputs,
                    depth(64),
                    [first_temporal_kernel_size, 7, 7],
                    stride=2,
                    separable=False,
                    scope="Conv2d_1a_7x7",
                )
                end_points["Conv2d_1a_7x7"] = net
                if final_endpoint == "Conv2d_1a_7x7":
                    return net, end_points
                for name, kind, spec in LAYERS:
                    if temporal_conv_startat == name:
                        t = 3
                    if gating_startat == name:
                        self_gating_fn = self_gating
                    if kind == "max":
                        net = slim.max_pool3d(net, spec[0], stride=spec[1], scope=name)
                    elif kind == "conv":
                        net = slim.conv3d(net, depth(spec), [1, 1, 1], scope=name)
                    elif kind == "st_conv":
                        net = conv3d_spatiotemporal(net, depth(spec), [t, 3, 3], scope=name)
                        if self_gating_fn is not None:
                            net = self_gating(net, scope=name)
                    else:
                        net = inception_block_v1_3d(
                            net,
                            *(depth(d) for d in spec),
                            temporal_kernel_size=t,
                            self_gating_fn=self_gating_fn,
                            scope=name,
                        )
                    end_points[name] = net
                    if final_endpoint == name:
                        return net, end_points
    raise AssertionError("unreachable")


def video_logits(
    net: torch.Tensor,
    end_points: dict,
    num_classes: int,
    dropout_keep_prob: float,
    prediction_fn: Callable,
    spatial_squeeze: bool,
) -> tuple[torch.Tensor, dict]:
    """The I3D / S3D-G head: average pool, dropout, 1x1x1 conv logits, mean over time."""
    with slim.variable_scope("Logits"):
        kernel_size = i3d_utils.reduced_kernel_size_3d(net, [2, 7, 7])
        net = slim.avg_pool3d(net, kernel_size, stride=1, scope="AvgPool_0a_7x7")
        net = slim.dropout(net, dropout_keep_prob, scope="Dropout_0b")
        logits = slim.conv3d(net, num_classes, [1, 1, 1], activation_fn=None, normalizer_fn=None, scope="Conv2d_0c_1x1")
        logits = torch.mean(logits, dim=2)  # temporal average pooling
        if spatial_squeeze:
            logits = torch.squeeze(logits, [2, 3])
        end_points["Logits"] = logits
        end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


def s3dg(
    inputs: torch.Tensor,
    num_classes: int = 1000,
    first_temporal_kernel_size: int = 3,
    temporal_conv_startat: str | None = "Conv2d_2c_3x3",
    gating_startat: str | None = "Conv2d_2c_3x3",
    final_endpoint: str = "Mixed_5c",
    min_depth: int = 16,
    depth_multiplier: float = 1.0,
    dropout_keep_prob: float = 0.8,
    is_training: bool | None = None,
    prediction_fn: Callable = slim.softmax,
    spatial_squeeze: bool = True,
    reuse: Any = None,
    data_format: str = "NCDHW",
    scope: str = "InceptionV1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """S3D-G on clips ``[N, 3, T, H, W]``."""
    with slim.variable_scope(scope, "InceptionV1", [inputs, num_classes], reuse=reuse) as sc:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = s3dg_base(
                inputs,
                first_temporal_kernel_size=first_temporal_kernel_size,
                temporal_conv_startat=temporal_conv_startat,
                gating_startat=gating_startat,
                final_endpoint=final_endpoint,
                min_depth=min_depth,
                depth_multiplier=depth_multiplier,
                data_format=data_format,
                scope=sc,
            )
            return video_logits(net, end_points, num_classes, dropout_keep_prob, prediction_fn, spatial_squeeze)


s3dg.default_image_size = 224

# TF-Slim's preprocessing factory has no video entry; frames are preprocessed like Inception images.
register_network(
    "s3dg", s3dg, arg_scope_fn=s3dg_arg_scope, default_image_size=224, preprocessing="inception", is_video=True
)
