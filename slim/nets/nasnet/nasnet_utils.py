"""NASNet-A / PNASNet cells (Zoph et al., 2017; Liu et al., 2017) with TF-Slim's variable names.

A cell combines pairs of hidden states with searched operations (``separable_5x5_2``, ``avg_pool_3x3``, ``none``,
...) and concatenates the states no later combination used. Tensors are NCHW.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

import slim
from slim.framework.context import get_default_frame
from slim.framework.variables import get_global_step
from slim.layers.utils import resolve_is_training

CLIP_BY_VALUE_CAP = 6


def calc_reduction_layers(num_cells: int, num_reduction_layers: int) -> list[int]:
    """The cell indices at which reduction cells are inserted."""
    return [
        int(float(pool_num) / (num_reduction_layers + 1) * num_cells) for pool_num in range(1, num_reduction_layers + 1)
    ]


def global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """Mean over the spatial dims: ``[N, C, H, W] -> [N, C]``."""
    return torch.mean(x, dim=[2, 3])


def factorized_reduction(net: torch.Tensor, output_filters: int, stride: int) -> torch.Tensor:
    """Halves the spatial size without losing information: two strided 1x1 paths (one shifted by a pixel)."""
    if stride == 1:
        net = slim.conv2d(net, output_filters, 1, scope="path_conv")
        return slim.batch_norm(net, scope="path_bn")
    path1 = F.avg_pool2d(net, 1, stride)
    path1 = slim.conv2d(path1, int(output_filters / 2), 1, scope="path1_conv")
    # Pad one row/column of zeros at the bottom/right, then shift by one pixel.
    path2 = F.pad(net, [0, 1, 0, 1])[:, :, 1:, 1:]
    path2 = F.avg_pool2d(path2, 1, stride)
    final_filter_size = int(output_filters / 2) + int(output_filters % 2)
    path2 = slim.conv2d(path2, final_filter_size, 1, scope="path2_conv")
    final_path = torch.cat([path1, path2], dim=1)
    return slim.batch_norm(final_path, scope="final_path_bn")


@slim.add_arg_scope
def drop_path(net: torch.Tensor, keep_prob: float, is_training: Any = None) -> torch.Tensor:
    """Drops whole examples' states with probability ``1 - keep_prob`` (scaling the kept ones), in training."""
    if resolve_is_training(is_training) and keep_prob < 1.0:
        noise = keep_prob + torch.rand((net.shape[0], 1, 1, 1), dtype=net.dtype, device=net.device)
        net = net * (1.0 / keep_prob) * torch.floor(noise)
    return net


def _operation_to_info(operation: str) -> tuple[int, int]:
    parts = operation.split("_")
    num_layers = 1 if "x" in parts[-1] else int(parts[-1])
    split = operation.split("x")
    filter_shape = int(split[0][-1])
    if filter_shape != int(split[1][0]):
        raise ValueError(f"Rectangular filters not supported: {operation}")
    return num_layers, filter_shape


def _stacked_separable_conv(
    net: torch.Tensor, stride: int, operation: str, filter_size: int, use_bounded_activation: bool
) -> torch.Tensor:
    num_layers, kernel_size = _operation_to_info(operation)
    activation_fn = F.relu6 if use_bounded_activation else torch.relu
    for layer_num in range(num_layers):
        net = activation_fn(net)
        net = slim.separable_conv2d(
            net,
            filter_size,
            kernel_size,
            depth_multiplier=1,
            scope=f"separable_{kernel_size}x{kernel_size}_{layer_num + 1}",
            stride=stride,
        )
        net = slim.batch_norm(net, scope=f"bn_sep_{kernel_size}x{kernel_size}_{layer_num + 1}")
        stride = 1
    return net


def _pooling(net: torch.Tensor, stride: int, operation: str, use_bounded_activation: bool) -> torch.Tensor:
    parts = operation.split("_")
    pooling_type = parts[0]
    height, width = parts[-1].split("x")
    if height != width:
        raise ValueError(f"Rectangular pooling not supported: {operation}")
    if use_bounded_activation:
        net = F.relu6(net)
    if pooling_type == "avg":
        return slim.avg_pool2d(net, int(height), stride=stride, padding="SAME")
    if pooling_type == "max":
        return slim.max_pool2d(net, int(height), stride=stride, padding="SAME")
    raise ValueError(f"Unimplemented pooling type: {pooling_type}")


class NasNetABaseCell:
    """A NASNet-style cell: ``operations`` applied to pairs of hidden states chosen by ``hiddenstate_indices``."""

    def __init__(
        self,
        num_conv_filters: int,
        operations: Sequence[str],
        used_hiddenstates: Sequence[int],
        hiddenstate_indices: Sequence[int],
        drop_path_keep_prob: float,
        total_num_cells: int,
        total_training_steps: int,
        use_bounded_activation: bool = False,
    ) -> None:
        self._num_conv_filters = num_conv_filters
        self._operations = operations
        self._used_hiddenstates = used_hiddenstates
        self._hiddenstate_indices = hiddenstate_indices
        self._drop_path_keep_prob = drop_path_keep_prob
        self._total_num_cells = total_num_cells
        self._total_training_steps = total_training_steps
        self._use_bounded_activation = use_bounded_activation

    def _activation(self, net: torch.Tensor) -> torch.Tensor:
        return F.relu6(net) if self._use_bounded_activation else torch.relu(net)

    def _reduce_prev_layer(self, prev_layer: torch.Tensor | None, curr_layer: torch.Tensor) -> torch.Tensor:
        """Matches the previous layer's size and depth to the current layer's."""
        if prev_layer is None:
            return curr_layer
        curr_num_filters = self._filter_size
        prev_num_filters = int(prev_layer.shape[1])
        if int(curr_layer.shape[2]) != int(prev_layer.shape[2]):
            prev_layer = factorized_reduction(self._activation(prev_layer), curr_num_filters, stride=2)
        elif curr_num_filters != prev_num_filters:
            prev_layer = slim.conv2d(self._activation(prev_layer), curr_num_filters, 1, scope="prev_1x1")
            prev_layer = slim.batch_norm(prev_layer, scope="prev_bn")
        return prev_layer

    def _cell_base(self, net: torch.Tensor, prev_layer: torch.Tensor | None) -> list[torch.Tensor]:
        prev_layer = self._reduce_prev_layer(prev_layer, net)
        net = slim.conv2d(self._activation(net), self._filter_size, 1, scope="1x1")
        net = slim.batch_norm(net, scope="beginning_bn")
        return [net, prev_layer]

    def __call__(
        self,
        net: torch.Tensor,
        scope: str | None = None,
        filter_scaling: float = 1,
        stride: int = 1,
        prev_layer: torch.Tensor | None = None,
        cell_num: int = -1,
        current_step: Any = None,
    ) -> torch.Tensor:
        self._cell_num = cell_num
        self._filter_size = int(self._num_conv_filters * filter_scaling)
        i = 0
        with slim.variable_scope(scope):
            states = self._cell_base(net, prev_layer)
            for iteration in range(5):
                with slim.variable_scope(f"comb_iter_{iteration}"):
                    left, right = self._hiddenstate_indices[i], self._hiddenstate_indices[i + 1]
                    with slim.variable_scope("left"):
                        h1 = self._apply_conv_operation(
                            states[left], self._operations[i], stride, left < 2, current_step
                        )
                    with slim.variable_scope("right"):
                        h2 = self._apply_conv_operation(
                            states[right], self._operations[i + 1], stride, right < 2, current_step
                        )
                    i += 2
                    h = h1 + h2
                    if self._use_bounded_activation:
                        h = F.relu6(h)
                    states.append(h)
            with slim.variable_scope("cell_output"):
                return self._combine_unused_states(states)

    def _apply_conv_operation(
        self, net: torch.Tensor, operation: str, stride: int, is_from_original_input: bool, current_step: Any
    ) -> torch.Tensor:
        if stride > 1 and not is_from_original_input:
            stride = 1
        input_filters = int(net.shape[1])
        filter_size = self._filter_size
        if "separable" in operation:
            net = _stacked_separable_conv(net, stride, operation, filter_size, self._use_bounded_activation)
            if self._use_bounded_activation:
                net = torch.clamp(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
        elif operation == "none":
            if self._use_bounded_activation:
                net = F.relu6(net)
            if stride > 1 or input_filters != filter_size:
                if not self._use_bounded_activation:
                    net = torch.relu(net)
                net = slim.conv2d(net, filter_size, 1, stride=stride, scope="1x1")
                net = slim.batch_norm(net, scope="bn_1")
                if self._use_bounded_activation:
                    net = torch.clamp(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
        elif "pool" in operation:
            net = _pooling(net, stride, operation, self._use_bounded_activation)
            if input_filters != filter_size:
                net = slim.conv2d(net, filter_size, 1, stride=1, scope="1x1")
                net = slim.batch_norm(net, scope="bn_1")
            if self._use_bounded_activation:
                net = torch.clamp(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
        else:
            raise ValueError(f"Unimplemented operation {operation}")
        if operation != "none":
            net = self._apply_drop_path(net, current_step)
        return net

    def _combine_unused_states(self, net: list[torch.Tensor]) -> torch.Tensor:
        used_hiddenstates = self._used_hiddenstates
        final_height = int(net[-1].shape[2])
        final_num_filters = int(net[-1].shape[1])
        assert len(used_hiddenstates) == len(net)
        for idx, used_h in enumerate(used_hiddenstates):
            curr_height = int(net[idx].shape[2])
            curr_num_filters = int(net[idx].shape[1])
            should_reduce = (final_num_filters != curr_num_filters or final_height != curr_height) and not used_h
            if should_reduce:
                stride = 2 if final_height != curr_height else 1
                with slim.variable_scope(f"reduction_{idx}"):
                    net[idx] = factorized_reduction(net[idx], final_num_filters, stride)
        return torch.cat([h for h, is_used in zip(net, used_hiddenstates) if not is_used], dim=1)

    def _apply_drop_path(self, net: torch.Tensor, current_step: Any = None) -> torch.Tensor:
        """Drop path whose keep probability falls with the cell's depth and over training (TF-Slim's 'v3')."""
        drop_path_keep_prob = self._drop_path_keep_prob
        if drop_path_keep_prob >= 1.0:
            return net
        layer_ratio = (self._cell_num + 1) / float(self._total_num_cells)
        drop_path_keep_prob = 1 - layer_ratio * (1 - drop_path_keep_prob)
        if current_step is None:
            step = get_global_step(model=get_default_frame().store)
            current_step = float(step) if step is not None else 0.0
        current_ratio = min(1.0, float(current_step) / self._total_training_steps)
        drop_path_keep_prob = 1 - current_ratio * (1 - drop_path_keep_prob)
        return drop_path(net, drop_path_keep_prob)


class NasNetANormalCell(NasNetABaseCell):
    """NASNet-A normal cell."""

    def __init__(
        self,
        num_conv_filters: int,
        drop_path_keep_prob: float,
        total_num_cells: int,
        total_training_steps: int,
        use_bounded_activation: bool = False,
    ) -> None:
        operations = [
            "separable_5x5_2",
            "separable_3x3_2",
            "separable_5x5_2",
            "separable_3x3_2",
            "avg_pool_3x3",
            "none",
            "avg_pool_3x3",
            "avg_pool_3x3",
            "separable_3x3_2",
            "none",
        ]
        super().__init__(
            num_conv_filters,
            operations,
            [1, 0, 0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0, 1, 1, 1, 0, 0],
            drop_path_keep_prob,
            total_num_cells,
            total_training_steps,
            use_bounded_activation,
        )


class NasNetAReductionCell(NasNetABaseCell):
    """NASNet-A reduction cell."""

    def __init__(
        self,
        num_conv_filters: int,
        drop_path_keep_prob: float,
        total_num_cells: int,
        total_training_steps: int,
        use_bounded_activation: bool = False,
    ) -> None:
        operations = [
            "separable_5x5_2",
            "separable_7x7_2",
            "max_pool_3x3",
            "separable_7x7_2",
            "avg_pool_3x3",
            "separable_5x5_2",
            "none",
            "avg_pool_3x3",
            "separable_3x3_2",
            "max_pool_3x3",
        ]
        super().__init__(
            num_conv_filters,
            operations,
            [1, 1, 1, 0, 0, 0, 0],
            [0, 1, 0, 1, 0, 1, 3, 2, 2, 0],
            drop_path_keep_prob,
            total_num_cells,
            total_training_steps,
            use_bounded_activation,
        )
