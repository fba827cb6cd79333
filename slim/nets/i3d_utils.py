"""Pieces shared by I3D and S3D-G (video networks on NCDHW clips): the spatio-temporal conv, the 3-D Inception
block, the center initializer and the reduced pooling kernel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

import slim


def center_initializer():
    """Identity in time: a [k, 1, 1, C, C] kernel that is 1 at the temporal center for matching channels."""

    def init(shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        if len(shape) != 5:
            raise ValueError(f"Weights must be 5-D for center_initializer, got {list(shape)}.")
        if shape[-2] != shape[-1]:
            raise ValueError("Input and output channel dimensions must be the same.")
        if shape[1] != 1 or shape[2] != 1:
            raise ValueError("Spatial kernel sizes must be 1 (pointwise conv).")
        if shape[0] % 2 == 0:
            raise ValueError("Temporal kernel size has to be odd.")
        value = torch.zeros(tuple(shape), dtype=dtype)
        channels = torch.arange(shape[3])
        value[shape[0] // 2, 0, 0, channels, channels] = 1.0
        return value

    return init


@slim.add_arg_scope
def conv3d_spatiotemporal(
    inputs: torch.Tensor,
    num_outputs: int,
    kernel_size: Sequence[int],
    stride: Any = 1,
    padding: str = "SAME",
    activation_fn: Callable | None = None,
    normalizer_fn: Callable | None = None,
    normalizer_params: dict | None = None,
    weights_regularizer: Callable | None = None,
    separable: bool = False,
    data_format: str | None = None,
    scope: str = "",
) -> torch.Tensor:
    """A 3-D conv, or (``separable``) a spatial [1, k, k] conv followed by a temporal [t, 1, 1] conv (``/temporal``)."""
    if len(kernel_size) != 3:
        raise ValueError(f"conv3d_spatiotemporal needs a 3-D kernel size, got {kernel_size}.")
    if separable and kernel_size[0] != 1:
        spatial_kernel_size = [1, kernel_size[1], kernel_size[2]]
        temporal_kernel_size = [kernel_size[0], 1, 1]
        if isinstance(stride, (list, tuple)) and len(stride) == 3:
            spatial_stride, temporal_stride = [1, stride[1], stride[2]], [stride[0], 1, 1]
        else:
            spatial_stride, temporal_stride = [1, stride, stride], [stride, 1, 1]
        net = slim.conv3d(
            inputs,
            num_outputs,
            spatial_kernel_size,
            stride=spatial_stride,
            padding=padding,
            activation_fn=activation_fn,
            normalizer_fn=normalizer_fn,
            normalizer_params=normalizer_params,
            weights_regularizer=weights_regularizer,
            data_format=data_format,
            scope=scope,
        )
        return slim.conv3d(
            net,
            num_outputs,
            temporal_kernel_size,
            stride=temporal_stride,
            padding=padding,
            scope=scope + "/temporal",
            activation_fn=activation_fn,
            normalizer_fn=None,
            data_format=data_format,
            weights_initializer=center_initializer(),
        )
    return slim.conv3d(
        inputs,
        num_outputs,
        kernel_size,
        stride=stride,
        padding=padding,
        activation_fn=activation_fn,
        normalizer_fn=normalizer_fn,
        normalizer_params=normalizer_params,
        weights_regularizer=weights_regularizer,
        data_format=data_format,
        scope=scope,
    )


def inception_block_v1_3d(
    inputs: torch.Tensor,
    num_outputs_0_0a: int,
    num_outputs_1_0a: int,
    num_outputs_1_0b: int,
    num_outputs_2_0a: int,
    num_outputs_2_0b: int,
    num_outputs_3_0b: int,
    temporal_kernel_size: int = 3,
    self_gating_fn: Callable | None = None,
    data_format: str | None = None,
    scope: str = "",
) -> torch.Tensor:
    """The 3-D Inception v1 block (4 branches), optionally self-gated (S3D-G)."""
    use_gating = self_gating_fn is not None
    with slim.variable_scope(scope):
        with slim.variable_scope("Branch_0"):
            branch_0 = slim.conv3d(inputs, num_outputs_0_0a, [1, 1, 1], scope="Conv2d_0a_1x1")
            if use_gating:
                branch_0 = self_gating_fn(branch_0, scope="Conv2d_0a_1x1")
        with slim.variable_scope("Branch_1"):
            branch_1 = slim.conv3d(inputs, num_outputs_1_0a, [1, 1, 1], scope="Conv2d_0a_1x1")
            branch_1 = conv3d_spatiotemporal(
                branch_1, num_outputs_1_0b, [temporal_kernel_size, 3, 3], scope="Conv2d_0b_3x3"
            )
            if use_gating:
                branch_1 = self_gating_fn(branch_1, scope="Conv2d_0b_3x3")
        with slim.variable_scope("Branch_2"):
            branch_2 = slim.conv3d(inputs, num_outputs_2_0a, [1, 1, 1], scope="Conv2d_0a_1x1")
            branch_2 = conv3d_spatiotemporal(
                branch_2, num_outputs_2_0b, [temporal_kernel_size, 3, 3], scope="Conv2d_0b_3x3"
            )
            if use_gating:
                branch_2 = self_gating_fn(branch_2, scope="Conv2d_0b_3x3")
        with slim.variable_scope("Branch_3"):
            branch_3 = slim.max_pool3d(inputs, [3, 3, 3], scope="MaxPool_0a_3x3")
            branch_3 = slim.conv3d(branch_3, num_outputs_3_0b, [1, 1, 1], scope="Conv2d_0b_1x1")
            if use_gating:
                branch_3 = self_gating_fn(branch_3, scope="Conv2d_0b_1x1")
        return torch.cat([branch_0, branch_1, branch_2, branch_3], dim=1)


def reduced_kernel_size_3d(input_tensor: torch.Tensor, kernel_size: Sequence[int]) -> list[int]:
    """``kernel_size`` (t, h, w) shrunk to the NCDHW feature map's size."""
    if len(kernel_size) != 3 or input_tensor.dim() != 5:
        raise ValueError("reduced_kernel_size_3d needs a 3-D kernel and a 5-D input.")
    return [min(int(input_tensor.shape[2 + i]), kernel_size[i]) for i in range(3)]
